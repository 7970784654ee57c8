import js from '@eslint/js';
import { defineConfig, globalIgnores } from 'eslint/config';
import globals from 'globals';
import tseslint from 'typescript-eslint';

const noElectron =
  'the engine/relay/ipc/cli and the app service (shared with the headless inspector) never import electron: see shared/STYLE.md';
const rendererBoundary =
  'the renderer reaches main code through window.api only; import its types with `import type` (shared/STYLE.md)';
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

  // The folders carry the runtime boundaries of shared/ARCHITECTURE.md; these rules keep them true.
  {
    files: ['src-main/engine/**', 'src-main/relay/**', 'src-main/ipc/**', 'src-main/cli/**', 'src-main/app/service/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [{ name: 'electron', message: noElectron }],
          patterns: [{ group: ['electron/*'], message: noElectron }],
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
                '!**/src-main/engine/ip.ts',
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
