/**
 * Failed claims and wrong tokens, counted per client address in a window: guessing a token costs a
 * 429 once an address has failed `limit` times, until its window is over.
 */
export class FailureLimiter {
  readonly #limit: number;
  readonly #windowMs: number;
  readonly #now: () => number;
  readonly #log: (line: string) => void;
  readonly #counts = new Map<string, { failures: number; since: number; logged: boolean }>();

  constructor(opts: { limit: number; windowMs: number; now: () => number; log: (line: string) => void }) {
    this.#limit = opts.limit;
    this.#windowMs = opts.windowMs;
    this.#now = opts.now;
    this.#log = opts.log;
  }

  /** Seconds until `ip` may try again, or 0 when it may now. */
  blockedFor(ip: string): number {
    const c = this.#current(ip);
    if (!c || c.failures < this.#limit) return 0;
    if (!c.logged) {
      c.logged = true;
      this.#log(
        `${new Date().toISOString()} ${ip} limited: ${c.failures} failed claims within ${Math.round(this.#windowMs / 1000)} s (answered 429)`,
      );
    }
    return Math.max(1, Math.ceil((c.since + this.#windowMs - this.#now()) / 1000));
  }

  /** Counts one failed claim or wrong token from `ip`. */
  failed(ip: string): void {
    const c = this.#current(ip) ?? { failures: 0, since: this.#now(), logged: false };
    c.failures += 1;
    this.#counts.set(ip, c);
    // Bounded: a flood of addresses cannot grow the map without end.
    if (this.#counts.size > 100_000) this.sweep();
  }

  /** Forgets addresses whose window is over. */
  sweep(): void {
    const now = this.#now();
    for (const [ip, c] of this.#counts) if (now - c.since >= this.#windowMs) this.#counts.delete(ip);
  }

  #current(ip: string): { failures: number; since: number; logged: boolean } | undefined {
    const c = this.#counts.get(ip);
    if (c && this.#now() - c.since >= this.#windowMs) {
      this.#counts.delete(ip);
      return undefined;
    }
    return c;
  }
}
