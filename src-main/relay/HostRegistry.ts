/**
 * Who owns which host: claims (host -> token), kept alive while a relay holds workers of the host,
 * and released by expiry once none has for the grace period. Asynchronous, so that a registry shared
 * by several relays (in a store they all reach) can implement it; a claim is one atomic
 * compare-and-set.
 */
/** A host and the token that holds it. */
export interface HostClaim {
  host: string;
  token: string;
}

export interface HostRegistry {
  /**
   * Claims `host` for `token`, unless another token holds it: `claimed` (it was free), `held` (this
   * token holds it already; its life is renewed) or `taken` (another token holds it).
   */
  claim(host: string, token: string): Promise<'claimed' | 'held' | 'taken'>;
  /**
   * Keeps the claims of these hosts alive (this relay holds workers of each); a claim that vanished
   * (a shared store that lost its data) is made again for its token, unless another token has it now.
   */
  renew(claims: readonly HostClaim[]): Promise<void>;
  /** Gives a claim up at once, if `token` holds it. */
  release(host: string, token: string): Promise<void>;
  /** Whether `host` is claimed now (by anyone). */
  claimed(host: string): Promise<boolean>;
}

/** The registry of a relay that runs alone: claims in memory, expiring `graceMs` after their last renewal. */
export class MemoryHostRegistry implements HostRegistry {
  readonly #claims = new Map<string, { token: string; expires: number }>();
  readonly #graceMs: number;
  readonly #now: () => number;

  constructor(opts: { graceMs?: number; now?: () => number } = {}) {
    this.#graceMs = opts.graceMs ?? 60_000;
    this.#now = opts.now ?? Date.now;
  }

  async claim(host: string, token: string): Promise<'claimed' | 'held' | 'taken'> {
    return this.claimNow(host, token);
  }

  /** The same as {@link claim}, answered at once: JavaScript runs it in one step, so it is atomic. */
  claimNow(host: string, token: string): 'claimed' | 'held' | 'taken' {
    const now = this.#now();
    const current = this.#claims.get(host);
    if (current && current.expires > now && current.token !== token) return 'taken';
    this.#claims.set(host, { token, expires: now + this.#graceMs });
    return current && current.expires > now ? 'held' : 'claimed';
  }

  async renew(claims: readonly HostClaim[]): Promise<void> {
    const now = this.#now();
    for (const { host, token } of claims) {
      const c = this.#claims.get(host);
      if (!c || c.token === token || c.expires <= now) this.#claims.set(host, { token, expires: now + this.#graceMs });
    }
  }

  async release(host: string, token: string): Promise<void> {
    if (this.#claims.get(host)?.token === token) this.#claims.delete(host);
  }

  async claimed(host: string): Promise<boolean> {
    const c = this.#claims.get(host);
    if (c && c.expires <= this.#now()) this.#claims.delete(host);
    return c !== undefined && c.expires > this.#now();
  }
}
