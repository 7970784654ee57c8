import { describe, expect, it } from 'vitest';
import { LatencyWindow } from '../../src-main/engine/latency-window.ts';

describe('LatencyWindow', () => {
  it('has no percentiles before any request', () => {
    expect(new LatencyWindow().percentiles()).toEqual({ p50Ms: null, p95Ms: null });
  });

  it('gives the median and the 95th percentile of the requests in the window', () => {
    const w = new LatencyWindow(1000, 60_000);
    for (let ms = 1; ms <= 100; ms++) w.add(ms, 10_000);
    expect(w.percentiles(10_000)).toEqual({ p50Ms: 51, p95Ms: 96 });
  });

  it('forgets requests older than the window', () => {
    const w = new LatencyWindow(1000, 60_000);
    w.add(500, 0);
    w.add(5, 50_000);
    w.add(7, 55_000);
    expect(w.percentiles(61_000)).toEqual({ p50Ms: 7, p95Ms: 7 });
    expect(w.percentiles(200_000)).toEqual({ p50Ms: null, p95Ms: null });
  });

  it('keeps only the newest requests once full', () => {
    const w = new LatencyWindow(3, 60_000);
    for (const ms of [1000, 1000, 1000, 1, 2, 3]) w.add(ms, 0);
    expect(w.percentiles(0)).toEqual({ p50Ms: 2, p95Ms: 3 });
  });
});
