/**
 * Durations of the last requests within a time window, for the p50/p95 a tunnel shows. A fixed ring
 * of numbers: adding one is two stores, with no object per request for the garbage collector to
 * copy and no array to shift (the array it replaces was spliced on every request once full, which
 * the benchmark's profile showed as 5 % of the worker's CPU).
 */
export class LatencyWindow {
  readonly #at: Float64Array;
  readonly #ms: Float64Array;
  readonly #windowMs: number;
  #next = 0;
  #count = 0;

  constructor(capacity = 10_000, windowMs = 60_000) {
    this.#at = new Float64Array(capacity);
    this.#ms = new Float64Array(capacity);
    this.#windowMs = windowMs;
  }

  add(ms: number, at = Date.now()): void {
    this.#at[this.#next] = at;
    this.#ms[this.#next] = ms;
    this.#next = (this.#next + 1) % this.#at.length;
    if (this.#count < this.#at.length) this.#count += 1;
  }

  /** The 50th and 95th percentile of the durations added within the window before `now`. */
  percentiles(now = Date.now()): { p50Ms: number | null; p95Ms: number | null } {
    const cutoff = now - this.#windowMs;
    const cap = this.#at.length;
    const values: number[] = [];
    for (let i = 0; i < this.#count; i++) {
      const j = (this.#next - 1 - i + cap) % cap;
      // Newest first: once one is older than the window, all before it are too.
      if (this.#at[j]! < cutoff) break;
      values.push(this.#ms[j]!);
    }
    if (!values.length) return { p50Ms: null, p95Ms: null };
    values.sort((a, b) => a - b);
    const at = (q: number): number => values[Math.min(values.length - 1, Math.floor(q * values.length))]!;
    return { p50Ms: at(0.5), p95Ms: at(0.95) };
  }
}
