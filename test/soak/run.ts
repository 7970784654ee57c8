// `npm run soak -- --minutes N [--seed S] [--clients C]`: the soak with injected faults (see soak.ts).
// Prints the faults as they happen, then a table of processes and one summary line. Exits 1 when
// any answer was wrong, any request hung, or a fault was not recovered from. Never part of `npm test`
// (its one-minute version is: test/soak/soak.test.ts).
import { parseArgs } from 'node:util';
import { execFileSync } from 'node:child_process';
import { runSoak } from './soak.ts';

const { values } = parseArgs({
  options: {
    minutes: { type: 'string', default: '10' },
    seed: { type: 'string', default: '1' },
    clients: { type: 'string', default: '8' },
    help: { type: 'boolean' },
  },
});
if (values.help) {
  process.stdout.write('Usage: npm run soak -- [--minutes N] [--seed S] [--clients C]\n');
  process.exit(0);
}
const minutes = Number(values.minutes);
if (!(minutes > 0)) {
  process.stderr.write(`soak: --minutes must be a positive number, not ${values.minutes}\n`);
  process.exit(2);
}
const clients = Number(values.clients);
if (!Number.isInteger(clients) || clients < 1 || clients > 200) {
  process.stderr.write(`soak: --clients must be a whole number from 1 to 200, not ${values.clients}\n`);
  process.exit(2);
}
if (!Number.isInteger(Number(values.seed))) {
  process.stderr.write(`soak: --seed must be a whole number, not ${values.seed}\n`);
  process.exit(2);
}
let commit = 'unknown';
try {
  commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
} catch {
  // Not a git checkout: the report says so.
}
process.stdout.write(`soak: ${minutes} min, seed ${values.seed}, ${values.clients} clients, commit ${commit}\n`);
const started = Date.now();
const r = await runSoak({
  seconds: minutes * 60,
  seed: Number(values.seed),
  clients,
  log: (line) => process.stdout.write(`${((Date.now() - started) / 1000).toFixed(1).padStart(7)} s  ${line}\n`),
});
const mib = (kib: number) => (kib / 1024).toFixed(1);
process.stdout.write('\nprocess        RSS after warm-up   RSS at end   change   fds after warm-up   fds at end\n');
for (const p of r.processes) {
  const change = ((p.rssEndKiB / p.rssStartKiB - 1) * 100).toFixed(0);
  process.stdout.write(
    `${p.name.padEnd(14)} ${`${mib(p.rssStartKiB)} MiB`.padStart(17)}   ${`${mib(p.rssEndKiB)} MiB`.padStart(10)}   ${`${change} %`.padStart(6)}   ${String(p.fdsStart).padStart(17)}   ${String(p.fdsEnd).padStart(10)}${p.restarted ? '   (restarted: two processes)' : ''}\n`,
  );
}
process.stdout.write(
  `\nfaults: ${
    Object.entries(r.faults)
      .map(([k, n]) => `${n} ${k}`)
      .join(', ') || 'none'
  }\n`,
);
process.stdout.write(
  `recovery after a fault: max ${r.recoveryMaxS.toFixed(1)} s, p95 ${r.recoveryP95S.toFixed(1)} s, not recovered ${r.unrecovered}\n`,
);
process.stdout.write(
  `clean errors: ${
    Object.entries(r.errorKinds)
      .sort((a, b) => b[1] - a[1])
      .map(([k, n]) => `${n} ${k}`)
      .join(', ') || 'none'
  }\n`,
);
for (const p of r.problems) process.stdout.write(`problem: ${p}\n`);
process.stdout.write(`${r.summary}\n`);
process.exit(r.wrong || r.hung || r.unrecovered ? 1 : 0);
