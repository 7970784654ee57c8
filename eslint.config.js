import js from '@eslint/js';
import { defineConfig, globalIgnores } from 'eslint/config';
import globals from 'globals';
import tseslint from 'typescript-eslint';

const noElectron =
  'the engine/relay/protocol/ipc/cli and the service (shared with the headless inspector) never import electron: see docs/architecture.md';
const rendererBoundary =
  'the renderer reaches main code through window.api only; import its types with `import type` (docs/architecture.md)';
const noShell = 'the engine, the relay, the protocol and the service never import the Electron shell (app/) or the CLI (cli/): see docs/architecture.md';
const relayAlone = 'the relay shares only the protocol folder with the engine, never the engine itself: see docs/architecture.md';
const protocolAlone = 'the protocol folder is what both ends speak: it imports Node only, nothing of the project but itself';
const electronPaths = { paths: [{ name: 'electron', message: noElectron }] };
const electronPatterns = [{ group: ['electron/*'], message: noElectron }];
const shellPatterns = [
  { group: ['**/app/**', '**/app/*.ts', '../app', '../../app'], message: noShell },
  { group: ['**/cli/**', '**/cli/*.ts'], message: noShell },
];
const rendererRuntime = 'the renderer runs sandboxed in Chromium (and in a plain browser): no electron, no node:*';

export default defineConfig(
  globalIgnores(['out/', 'node_modules/', 'dist/', 'coverage/', 'scratch/']),

  js.configs.recommended,
  // Syntax-only rules: type-aware linting would cost a full type-check, which `tsc -b` already does.
  tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': [
        'error',
        {
          argsIgnorePattern: '^_',
          varsIgnorePattern: '^_',
          caughtErrorsIgnorePattern: '^_',
          destructuredArrayIgnorePattern: '^_',
        },
      ],
    },
  },

  {
    files: ['src-main/**', 'test/**', 'scripts/**', 'bin/**', '*.config.{js,ts}'],
    languageOptions: { globals: globals.node },
  },
  {
    files: ['src-renderer/**'],
    languageOptions: { globals: globals.browser },
  },

  // The folders carry the runtime boundaries of docs/architecture.md; these rules keep them true.
  {
    files: ['src-main/ipc/**', 'src-main/cli/**'],
    rules: {
      'no-restricted-imports': ['error', { ...electronPaths, patterns: electronPatterns }],
    },
  },
  {
    // The core the desktop shell and the CLI both run on: it knows neither of them.
    files: ['src-main/service/**'],
    rules: {
      'no-restricted-imports': ['error', { ...electronPaths, patterns: [...electronPatterns, ...shellPatterns] }],
    },
  },
  {
    files: ['src-main/engine/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        { ...electronPaths, patterns: [...electronPatterns, ...shellPatterns, { group: ['**/relay/**'], message: noShell }] },
      ],
    },
  },
  {
    files: ['src-main/relay/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        { ...electronPaths, patterns: [...electronPatterns, ...shellPatterns, { group: ['**/engine/**'], message: relayAlone }] },
      ],
    },
  },
  {
    files: ['src-main/protocol/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          ...electronPaths,
          patterns: [...electronPatterns, { group: ['../*', '!../protocol/', '**/src-main/**'], message: protocolAlone }],
        },
      ],
    },
  },
  {
    // The contract is also compiled into the renderer (tsconfig.web.json): types and schemas only.
    files: ['src-main/ipc/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [{ name: 'electron', message: noElectron }],
          patterns: [
            { group: ['electron/*'], message: noElectron },
            { group: ['node:*'], message: 'src-main/ipc is shared with the renderer: no node:* imports' },
          ],
        },
      ],
    },
  },
  {
    files: ['src-renderer/**'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: [{ name: 'electron', message: rendererRuntime }],
          patterns: [
            { group: ['electron/*', 'node:*'], message: rendererRuntime },
            {
              // Browser-safe engine modules (no node:* imports; the web typecheck proves it) may be
              // imported for real: the profile editor validates with the same schema as main.
              group: [
                '**/src-main/**',
                '../src-main/*',
                '!**/src-main/engine/',
                '**/src-main/engine/**',
                '!**/src-main/engine/profile.ts',
                '!**/src-main/protocol/',
                '**/src-main/protocol/**',
                '!**/src-main/protocol/ip.ts',
                '!**/src-main/ipc/',
                '**/src-main/ipc/**',
                '!**/src-main/ipc/channels.ts',
              ],
              allowTypeImports: true,
              message: rendererBoundary,
            },
          ],
        },
      ],
    },
  },
);
