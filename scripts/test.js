#!/usr/bin/env node
// `npm test`: typecheck, lint, the desktop build, then every test tier (vitest), ending with one line
// "N passed, N failed[, N skipped]". Typecheck, lint and build count as one check each.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';

// The suite checks what `npm test` says on an old Node; were that check to let it through, the suite
// must not run again inside itself.
if (process.env.PORTHOLE_NESTED_TEST) {
  process.stderr.write('npm test: not run inside its own test suite (PORTHOLE_NESTED_TEST is set)\n');
  process.exit(1);
}

const results = 'out/test-results.json';
let passed = 0;
let failed = 0;
let skipped = 0;

function step(name, cmd, args) {
  process.stdout.write(`\n== ${name}: ${cmd} ${args.join(' ')}\n`);
  const r = spawnSync(cmd, args, { stdio: 'inherit', shell: process.platform === 'win32' });
  return r.status === 0;
}

for (const [name, cmd, args] of [
  ['typecheck', 'npx', ['tsc', '-b']],
  ['lint', 'npx', ['eslint', '.']],
  // Built once before the tests: the build tier checks it and the browser tier serves it.
  ['build', 'node', ['scripts/electron.ts', 'ensure-built']],
]) {
  if (step(name, cmd, args)) passed += 1;
  else {
    failed += 1;
    process.stdout.write(`${name} failed\n`);
  }
}

mkdirSync('out', { recursive: true });

/** One vitest run; its counts join the totals. */
function vitest(name, args) {
  rmSync(results, { force: true });
  step(name, 'npx', [
    'vitest',
    'run',
    '--reporter=default',
    '--reporter=json',
    `--outputFile.json=${results}`,
    ...args,
  ]);
  try {
    const r = JSON.parse(readFileSync(results, 'utf8'));
    passed += r.numPassedTests;
    failed += r.numFailedTests;
    skipped += (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0);
    // A test file that failed to load has no failed tests of its own: count it once.
    failed += (r.testResults ?? []).filter(
      (f) => f.status === 'failed' && !f.assertionResults.some((a) => a.status === 'failed'),
    ).length;
  } catch (err) {
    process.stdout.write(`no test results (${err.message})\n`);
    failed += 1;
  }
}

const filters = process.argv.slice(2);
if (filters.length) vitest('tests', filters);
else {
  // The soak loads both cores for a minute: it runs alone, after everything else.
  vitest('tests', ['--exclude', 'test/soak/**']);
  vitest('soak', ['test/soak']);
}

process.stdout.write(`\n${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}\n`);
process.exit(failed > 0 ? 1 : 0);
