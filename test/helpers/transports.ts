import type { RelayServer } from '../../src-main/relay/RelayServer.ts';

/** The transports between worker and Porthole's relay: the same tests run over each. */
export const TRANSPORTS = ['fpw', 'ws'] as const;
export type TransportKind = (typeof TRANSPORTS)[number];

/** The profile's relay fields for a transport to this relay (host and token left to the caller). */
export function relayOf(kind: TransportKind, relay: RelayServer): { kind: TransportKind; url: string } {
  return kind === 'ws' ? { kind, url: `${relay.url.replace(/^http/, 'ws')}/` } : { kind, url: `${relay.url}/` };
}
