import { describe, expect, it } from 'vitest';
import { Backoff } from '../../src-main/engine/backoff.ts';

/** Delays of `n` consecutive failures at time `now`. */
const delays = (b: Backoff, n: number, now = 0): number[] => Array.from({ length: n }, () => b.fail(now));

describe('Backoff', () => {
  it('grows its ceiling 1s, 2s, 4s ... and caps it at 30s', () => {
    const b = new Backoff({ random: () => 0.999 });
    const got = delays(b, 9);
    const ceilings = [1000, 2000, 4000, 8000, 16_000, 30_000, 30_000, 30_000, 30_000];
    got.forEach((d, i) => {
      expect(d).toBeLessThan(ceilings[i]!);
      expect(d).toBeGreaterThanOrEqual(Math.floor(0.999 * ceilings[i]!));
    });
    expect(b.attempt).toBe(9);
  });

  it('stays at the cap after very many failures', () => {
    const b = new Backoff({ random: () => 0.999 });
    const got = delays(b, 100);
    expect(got.at(-1)).toBe(Math.floor(0.999 * 30_000));
    expect(Math.max(...got)).toBeLessThanOrEqual(30_000);
  });

  it('uses full jitter: the delay scales with the random draw', () => {
    const b = new Backoff({ random: () => 0.5 });
    expect(delays(b, 4)).toEqual([500, 1000, 2000, 4000]);
  });

  it('honours custom base and cap', () => {
    const b = new Backoff({ baseMs: 10, capMs: 50, floorMs: 0, random: () => 0.999 });
    expect(delays(b, 5)).toEqual([9, 19, 39, 49, 49]);
  });

  it('never returns a zero delay: a zero draw gives the floor', () => {
    const b = new Backoff({ random: () => 0 });
    const got = delays(b, 10);
    expect(got.every((d) => d === 100)).toBe(true);
    const custom = new Backoff({ random: () => 0, floorMs: 250 });
    expect(custom.fail(0)).toBe(250);
  });

  it('starts over after 10 s of health (a relay restarted twice in a minute is not a crash loop)', () => {
    const b = new Backoff({ random: () => 0.999 });
    delays(b, 5, 0);
    b.healthy(1000);
    expect(b.fail(1000 + 10_000)).toBe(Math.floor(0.999 * 1000));
    expect(b.attempt).toBe(1);
  });

  it('does not start over after a shorter healthy period', () => {
    const b = new Backoff({ random: () => 0.999 });
    delays(b, 5, 0);
    b.healthy(1000);
    expect(b.fail(1000 + 9_999)).toBe(Math.floor(0.999 * 30_000));
    expect(b.attempt).toBe(6);
  });

  it('measures health from its start, not from its latest report', () => {
    const b = new Backoff({ random: () => 0.999 });
    delays(b, 3, 0);
    b.healthy(1000);
    b.healthy(9_000);
    expect(b.fail(11_000)).toBe(Math.floor(0.999 * 1000));
  });

  it('a failure ends the healthy period', () => {
    const b = new Backoff({ random: () => 0.999 });
    delays(b, 3, 0);
    b.healthy(0);
    b.fail(5_000);
    // No healthy() since that failure: time alone does not reset the counter.
    expect(b.fail(100_000)).toBe(Math.floor(0.999 * 16_000));
  });

  it('reset() starts over', () => {
    const b = new Backoff({ random: () => 0.999 });
    delays(b, 6);
    b.reset();
    expect(b.attempt).toBe(0);
    expect(b.fail(0)).toBe(Math.floor(0.999 * 1000));
  });
});
