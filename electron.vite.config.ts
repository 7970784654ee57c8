import { resolve } from 'node:path';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'electron-vite';
import type { Plugin } from 'vite';
import { writeFileSync } from 'node:fs';
import { CONTENT_SECURITY_POLICY, DEV_CONTENT_SECURITY_POLICY } from './src-main/app/csp.ts';
import { sourceStamp } from './bin/source-stamp.js';

const root = import.meta.dirname;
const fromRoot = (path: string): string => resolve(root, path);

/**
 * `npm run dev` only: the React refresh preamble Vite injects is an inline script, which the page's
 * policy forbids; the dev server gets the dev policy, the build keeps the strict one.
 */
function devContentSecurityPolicy(): Plugin {
  return {
    name: 'porthole:dev-csp',
    apply: 'serve',
    transformIndexHtml: (html) => html.replace(CONTENT_SECURITY_POLICY, DEV_CONTENT_SECURITY_POLICY),
  };
}

/**
 * Writes out/main/cli.stamp, the fingerprint of the sources the build started from, once every file
 * of the main build is written: bin/porthole.js runs the built CLI only while the stamp matches.
 */
function cliStamp(): Plugin {
  let stamp = '';
  return {
    name: 'porthole:cli-stamp',
    apply: 'build',
    buildStart() {
      stamp = sourceStamp(root);
    },
    closeBundle() {
      writeFileSync(fromRoot('out/main/cli.stamp'), `${stamp}\n`);
    },
  };
}

export default defineConfig({
  // main: ESM (package.json has "type": "module"). A CommonJS main breaks electron-store and conf at run time
  // (docs/architecture.md, "Build"). Runtime dependencies stay external and ship in the asar's node_modules.
  // The `porthole` command is built here too (out/main/cli.js): bin/porthole.js runs it when it is newer
  // than the sources, which spares every relay and worker Node's TypeScript stripper (about 20 MiB of
  // RSS each, measured by npm run bench) and lets the command run from node_modules, where Node
  // refuses to strip types.
  main: {
    plugins: [cliStamp()],
    build: {
      outDir: fromRoot('out/main'),
      rolldownOptions: {
        input: { index: fromRoot('src-main/index.ts'), cli: fromRoot('src-main/cli/main.ts') },
        // Shared chunks next to their entries, not in chunks/: the CLI finds package.json and the built
        // renderer relative to its own module, two levels up, as src-main/cli/ does.
        output: { chunkFileNames: '[name]-[hash].js' },
      },
    },
  },
  // preload: a sandboxed preload cannot load ES modules nor require anything but `electron` and a few
  // built-ins, so it is CommonJS with every dependency bundled in.
  preload: {
    build: {
      outDir: fromRoot('out/preload'),
      externalizeDeps: false,
      rolldownOptions: {
        input: { index: fromRoot('src-main/preload/index.ts') },
        output: { format: 'cjs', entryFileNames: '[name].cjs' },
      },
    },
  },
  renderer: {
    root: fromRoot('src-renderer'),
    plugins: [react(), devContentSecurityPolicy()],
    build: {
      outDir: fromRoot('out/renderer'),
      rolldownOptions: {
        input: { index: fromRoot('src-renderer/index.html') },
      },
    },
  },
});
