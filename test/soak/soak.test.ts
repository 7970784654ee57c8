// The one-minute soak with a fixed seed: a real relay, an FPW and a WebSocket tunnel, mixed traffic,
// and faults (cut, stalled and slowed links, relay and upstream restarts). Every answer is either
// right or a clear error; none hangs; the tunnels come back after every fault. `npm test` runs this
// file alone, after the others, so its load does not share the machine with them.
import { describe, expect, it } from 'vitest';
import { runSoak } from './soak.ts';

describe('the one-minute soak (seed 7)', () => {
  it('answers every request rightly or with a clear error, none hangs, and recovers from every fault', async () => {
    const lines: string[] = [];
    const r = await runSoak({ seconds: 60, seed: 7, clients: 6, bigBytes: 4 * 1024 * 1024, log: (l) => lines.push(l) });
    const context = `${r.summary}\n${lines.join('\n')}`;
    expect(r.wrong, context).toBe(0);
    expect(r.hung, context).toBe(0);
    expect(r.unrecovered, context).toBe(0);
    // The run did what it says: traffic flowed, faults happened and were recovered from.
    expect(r.ok, context).toBeGreaterThan(100);
    expect(
      Object.values(r.faults).reduce((a, b) => a + b, 0),
      context,
    ).toBeGreaterThanOrEqual(3);
    expect(r.summary).toMatch(
      /^soak: \d+ sent, \d+ ok, \d+ clean errors, 0 wrong, 0 hung, \d+ reconnects, recovery max [\d.]+ s$/,
    );
  }, 240_000);
});
