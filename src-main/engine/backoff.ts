/** Exponential back-off with full jitter and a cap, reset after a healthy period (as zrok does). */
export interface BackoffOptions {
  /** First ceiling. @default 1000 */
  baseMs?: number;
  /** Largest delay. @default 30000 */
  capMs?: number;
  /**
   * Time online after which the attempt counter starts from zero again. A relay that kept a tunnel
   * up this long is not crash-looping; a longer wait made repeated restarts take ever longer to
   * recover from. @default 10000
   */
  resetAfterMs?: number;
  /** Smallest delay, so that a jitter of zero never makes a tight loop. @default 100 */
  floorMs?: number;
  /** Source of randomness in [0, 1). @default Math.random */
  random?: () => number;
}

export class Backoff {
  readonly #base: number;
  readonly #cap: number;
  readonly #resetAfter: number;
  readonly #floor: number;
  readonly #random: () => number;
  #attempt = 0;
  #healthySince: number | null = null;

  constructor(opts: BackoffOptions = {}) {
    this.#base = opts.baseMs ?? 1000;
    this.#cap = opts.capMs ?? 30_000;
    this.#resetAfter = opts.resetAfterMs ?? 10_000;
    this.#floor = opts.floorMs ?? 100;
    this.#random = opts.random ?? Math.random;
  }

  /** Failures since the counter was last reset. */
  get attempt(): number {
    return this.#attempt;
  }

  /** Marks the start of a healthy period (the tunnel came online). */
  healthy(now: number): void {
    this.#healthySince ??= now;
  }

  /** Records a failure and returns how long to wait before the next try. */
  fail(now: number): number {
    if (this.#healthySince !== null && now - this.#healthySince >= this.#resetAfter) this.#attempt = 0;
    this.#healthySince = null;
    const ceiling = Math.min(this.#cap, this.#base * 2 ** Math.min(this.#attempt, 30));
    this.#attempt += 1;
    return Math.max(this.#floor, Math.floor(this.#random() * ceiling));
  }

  /** Starts over, as after an explicit restart. */
  reset(): void {
    this.#attempt = 0;
    this.#healthySince = null;
  }
}
