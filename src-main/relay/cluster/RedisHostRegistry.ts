import type { Redis } from 'ioredis';
import type { HostClaim, HostRegistry } from '../HostRegistry.ts';
import { redisUnreachable, type ClusterKeys } from './keys.ts';

/** Renews claims in one round trip: each is set again for its token unless another token holds it now. */
const RENEW = `
for i, key in ipairs(KEYS) do
  local current = redis.call('GET', key)
  if current == false or current == ARGV[i + 1] then
    redis.call('SET', key, ARGV[i + 1], 'PX', ARGV[1])
  end
end
return 0`;

/**
 * Deletes a claim only if this token holds it (another may have taken it after it expired) and no
 * other live relay holds a worker of the host (its claim must not lapse under it, even for a moment).
 */
const RELEASE = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
for _, id in ipairs(redis.call('SMEMBERS', KEYS[2])) do
  if id ~= ARGV[2] and redis.call('EXISTS', ARGV[3] .. id) == 1 then return 0 end
end
return redis.call('DEL', KEYS[1])`;

/** Other relays kept writing the claim between this one's read and write, every time it tried. */
class ClaimContended extends Error {}

/** Renewals per round trip: one script call with thousands of keys would hold Redis up. */
const RENEW_BATCH = 500;

export interface RedisHostRegistryOptions {
  /** The connection for everything but claims. */
  redis: Redis;
  /**
   * A connection of its own for claims: WATCH belongs to a connection, so claims on it are made one
   * at a time, and nothing else may run on it.
   */
  claims: Redis;
  keys: ClusterKeys;
  /** This relay's node id. */
  node: string;
  /** How long a claim outlives its last renewal. */
  graceMs: number;
  /** For tests: runs between reading a claim and writing it, to widen the window a race needs. */
  beforeWrite?: (host: string) => Promise<void>;
}

/**
 * Host claims shared by every relay of a cluster, in Redis: `claim:<host>` holds the token, expiring
 * `graceMs` after its last renewal. A claim is an optimistic transaction (WATCH, GET, MULTI/SET/EXEC):
 * if another relay wrote the key between the read and the write, EXEC does nothing and the claim
 * reads again, so two tokens can never both be told `claimed`.
 */
export class RedisHostRegistry implements HostRegistry {
  readonly #opts: RedisHostRegistryOptions;
  /** Claims in a row on the claims connection (see {@link RedisHostRegistryOptions.claims}). */
  #queue: Promise<unknown> = Promise.resolve();

  constructor(opts: RedisHostRegistryOptions) {
    this.#opts = opts;
  }

  claim(host: string, token: string): Promise<'claimed' | 'held' | 'taken'> {
    const attempt = (): Promise<'claimed' | 'held' | 'taken'> =>
      this.#claim(host, token).catch((err: unknown) => {
        throw err instanceof ClaimContended ? err : redisUnreachable(err);
      });
    const run = this.#queue.then(attempt, attempt);
    this.#queue = run.catch(() => undefined);
    return run;
  }

  async #claim(host: string, token: string): Promise<'claimed' | 'held' | 'taken'> {
    const { claims, keys, graceMs, beforeWrite } = this.#opts;
    const key = keys.claim(host);
    // Each retry means another relay wrote the key meanwhile; it cannot go on for long.
    for (let attempt = 0; attempt < 20; attempt++) {
      await claims.watch(key);
      let current: string | null;
      try {
        current = await claims.get(key);
        if (current !== null && current !== token) {
          await claims.unwatch();
          return 'taken';
        }
        if (beforeWrite) await beforeWrite(host);
      } catch (err) {
        await claims.unwatch().catch(() => undefined);
        throw err;
      }
      const done = await claims.multi().set(key, token, 'PX', graceMs).exec();
      if (done === null) continue;
      return current === null ? 'claimed' : 'held';
    }
    throw new ClaimContended(`the claim of ${host} is contended; try again`);
  }

  async renew(list: readonly HostClaim[]): Promise<void> {
    const { redis, keys, graceMs } = this.#opts;
    for (let i = 0; i < list.length; i += RENEW_BATCH) {
      const batch = list.slice(i, i + RENEW_BATCH);
      await redis.eval(
        RENEW,
        batch.length,
        ...batch.map((c) => keys.claim(c.host)),
        String(graceMs),
        ...batch.map((c) => c.token),
      );
    }
  }

  async release(host: string, token: string): Promise<void> {
    const { redis, keys, node } = this.#opts;
    await redis.eval(RELEASE, 2, keys.claim(host), keys.holders(host), token, node, keys.node(''));
  }

  async claimed(host: string): Promise<boolean> {
    return (await this.#opts.redis.exists(this.#opts.keys.claim(host))) === 1;
  }
}
