import { createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

/** The headers of a request one relay of a cluster sends another. */
export const CLUSTER_HEADER = {
  /** The relay that sent it. */
  node: 'porthole-cluster-node',
  /** When it was sent (ms since the epoch): an old one is refused. */
  time: 'porthole-cluster-time',
  /** The visitor's address, as the first relay found it. */
  ip: 'porthole-cluster-ip',
  /** The X-Forwarded-For chain from the visitor to the first relay. */
  chain: 'porthole-cluster-chain',
  /** A worker's FPW reply brought to the relay that issued its request: take the reply, hold no poll. */
  replyOnly: 'porthole-cluster-reply-only',
  /**
   * On an answer: no worker of the host is here (any more) and the request was not touched; the
   * relay that forwarded it may try another.
   */
  requeue: 'porthole-cluster-requeue',
  /** HMAC-SHA256 of the above, the method, Host and target, keyed by the cluster secret. */
  sig: 'porthole-cluster-sig',
} as const;

/** A signed request may be this old (or this far in the future: clocks differ a little). */
const MAX_SKEW_MS = 60_000;

export interface Forwarded {
  node: string;
  ip: string;
  chain: string;
  replyOnly: boolean;
}

function digest(secret: string, f: Forwarded, time: string, method: string, host: string, url: string): Buffer {
  return createHmac('sha256', secret)
    .update([f.node, time, method, host, url, f.ip, f.chain, f.replyOnly ? '1' : '0'].join('\n'))
    .digest();
}

/** The headers that make a request a signed internal one. */
export function signedHeaders(
  secret: string,
  f: Forwarded,
  method: string,
  host: string,
  url: string,
  now = Date.now(),
): Record<string, string> {
  const time = String(now);
  const headers: Record<string, string> = {
    [CLUSTER_HEADER.node]: f.node,
    [CLUSTER_HEADER.time]: time,
    [CLUSTER_HEADER.ip]: f.ip,
    [CLUSTER_HEADER.chain]: f.chain,
    [CLUSTER_HEADER.sig]: digest(secret, f, time, method, host, url).toString('hex'),
  };
  if (f.replyOnly) headers[CLUSTER_HEADER.replyOnly] = '1';
  return headers;
}

/** True when a request says it comes from another relay of a cluster (signed or not). */
export function claimsInternal(req: IncomingMessage): boolean {
  return req.headers[CLUSTER_HEADER.sig] !== undefined || req.headers[CLUSTER_HEADER.node] !== undefined;
}

/**
 * Checks an internal request's signature and takes the cluster headers off it (they go no further):
 * what it says, or why it is refused.
 */
export function verifySigned(secret: string, req: IncomingMessage, now = Date.now()): Forwarded | { refused: string } {
  const one = (name: string): string | undefined => {
    const v = req.headers[name];
    return typeof v === 'string' ? v : undefined;
  };
  const f: Forwarded = {
    node: one(CLUSTER_HEADER.node) ?? '',
    ip: one(CLUSTER_HEADER.ip) ?? '',
    chain: one(CLUSTER_HEADER.chain) ?? '',
    replyOnly: one(CLUSTER_HEADER.replyOnly) === '1',
  };
  const time = one(CLUSTER_HEADER.time) ?? '';
  const sig = Buffer.from(one(CLUSTER_HEADER.sig) ?? '', 'hex');
  for (let i = req.rawHeaders.length - 2; i >= 0; i -= 2) {
    if (req.rawHeaders[i]!.toLowerCase().startsWith('porthole-cluster-')) req.rawHeaders.splice(i, 2);
  }
  for (const name of Object.values(CLUSTER_HEADER)) delete req.headers[name];
  if (!f.node || !f.ip || !/^\d+$/.test(time)) return { refused: 'an internal request without its cluster headers' };
  if (Math.abs(now - Number(time)) > MAX_SKEW_MS) return { refused: 'an internal request signed too long ago' };
  const want = digest(secret, f, time, req.method ?? 'GET', String(req.headers.host ?? ''), req.url ?? '/');
  if (sig.length !== want.length || !timingSafeEqual(sig, want))
    return { refused: 'an internal request not signed with this cluster secret' };
  return f;
}
