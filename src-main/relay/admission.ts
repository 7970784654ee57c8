import { isValidHostName, normaliseHost } from '../protocol/host-words.ts';
import { peerAddress } from './answers.ts';
import type { RelayContext } from './context.ts';
import { isLive, type HostEntry, type Worker } from './state.ts';
import type { Socket } from 'node:net';

/** Why a worker may not serve a host: what it is answered (a page, or the refusal of an upgrade). */
export interface Refusal {
  status: 400 | 403 | 409 | 503;
  title: string;
  message: string;
}

/** What a worker says of itself when it asks to serve a host, by any endpoint. */
export interface WorkerClaim {
  rawHost: string;
  token: string;
  /** Porthole's name for the worker process (`fpw-worker`); '' for other workers. */
  workerId: string;
  /** The digest of its access and header rules (`fpw-rules`); '' for none. */
  rules: string;
  socket: Socket;
}

/**
 * The checks every worker endpoint makes before a worker serves a host, in one place: the host name,
 * the relay's domain and tokens (at once), the claim (the registry, when this relay holds nothing of
 * the host), and the rules of the host's other workers.
 */
export class Admission {
  readonly #ctx: RelayContext;

  constructor(ctx: RelayContext) {
    this.#ctx = ctx;
  }

  /** The checks that need no claim: a host name under the domain, a token the relay accepts. */
  check(rawHost: string, token: string): { host: string } | Refusal {
    const ctx = this.#ctx;
    const host = normaliseHost(rawHost);
    if (!isValidHostName(host))
      return { status: 400, title: 'Bad Request', message: `"${rawHost}" is not a host name.` };
    if (ctx.domain && host !== ctx.domain && !host.endsWith(`.${ctx.domain}`)) {
      return {
        status: 403,
        title: 'Forbidden',
        message: `This relay serves hosts under ${ctx.domain} only; ${host} is not one.`,
      };
    }
    if (ctx.tokens && !ctx.tokens.has(token)) {
      return { status: 403, title: 'Forbidden', message: 'This token may not claim hosts on this relay.' };
    }
    return { host };
  }

  /** The entry of a host this relay holds nothing of yet: claimed in the registry first. */
  async claim(host: string, token: string, socket: Socket): Promise<HostEntry | Refusal> {
    const ctx = this.#ctx;
    let outcome: 'claimed' | 'held' | 'taken';
    try {
      outcome = await ctx.registry.claim(host, token);
    } catch (err) {
      return {
        status: 503,
        title: 'Service Unavailable',
        message: `The relay cannot check claims now: ${(err as Error).message}`,
      };
    }
    if (outcome === 'taken') return this.#taken(host);
    // Another worker of the host may have made the entry meanwhile.
    let entry = ctx.hosts.get(host);
    if (!entry) {
      entry = {
        host,
        token,
        polls: [],
        queue: [],
        pending: new Map(),
        busy: 0,
        lastSeen: ctx.opts.now(),
        workers: new Map(),
        sessions: [],
      };
      ctx.hosts.set(host, entry);
      ctx.hostAdded();
      ctx.log(`${new Date().toISOString()} claim ${host} by ${peerAddress(socket)}`);
    }
    return entry;
  }

  /**
   * A worker joins a host this relay holds: the token must be the claim's, and a worker that is not
   * live yet must enforce the same rules as the host's live workers, or a visitor could get past a
   * password by landing on the worker without one.
   */
  join(entry: HostEntry, claim: WorkerClaim): Worker | Refusal {
    const ctx = this.#ctx;
    if (entry.token !== claim.token) return this.#taken(entry.host);
    const now = ctx.opts.now();
    let worker = entry.workers.get(claim.workerId);
    if (!worker || !isLive(entry, worker, now)) {
      const other = [...entry.workers.values()].some(
        (w) => w !== worker && !w.leaving && w.rules !== claim.rules && isLive(entry, w, now),
      );
      if (other) {
        ctx.log(
          `${new Date().toISOString()} refused a worker of ${entry.host} from ${peerAddress(claim.socket)}: other rules`,
        );
        return {
          status: 409,
          title: 'Conflict',
          message:
            `${entry.host} is served right now by a worker with different access or header rules (password, ` +
            'allowed addresses, header changes). Two tunnels may share a host only with the same rules: stop ' +
            'the other tunnel, give this one the same rules, or use another host.',
        };
      }
    }
    if (!worker) {
      worker = { id: claim.workerId, rules: claim.rules, busy: 0, lastSeen: now, leaving: false, sockets: new Set() };
      entry.workers.set(claim.workerId, worker);
    } else if (!isLive(entry, worker, now)) {
      worker.rules = claim.rules;
    }
    worker.lastSeen = now;
    entry.lastSeen = now;
    return worker;
  }

  #taken(host: string): Refusal {
    return { status: 403, title: 'Forbidden', message: `${host} is already claimed with another token.` };
  }
}

export function isRefusal(x: unknown): x is Refusal {
  return typeof x === 'object' && x !== null && 'status' in x && 'message' in x;
}
