import type { Dispatcher } from 'undici';
import type { Backoff } from '../backoff.ts';
import type { Profile } from '../profile.ts';
import type { PhaseState } from '../shapes.ts';
import { FpwTransport } from './fpw.ts';
import { WsTransport } from './ws.ts';
import { GgrokTransport } from './ggrok.ts';
import type { RequestHandler, Transport } from './transport.ts';

export type { Reply, RequestHandler, Transport, UpgradeReply } from './transport.ts';

/** Settings of a transport that tests and the tunnel manager may choose. */
export interface TransportTuning {
  /** Shared relay dispatcher (one per relay origin). */
  dispatcher?: Dispatcher;
  backoff?: Backoff;
  /** A poll held this long without an error means the relay accepted the claim. */
  heldAfterMs?: number;
  /** Replies up to this size are kept for a re-send. */
  resendCapBytes?: number;
  /** WebSocket transport: silence from the relay after which the connection is taken for dead. */
  deadAfterMs?: number;
}

/** What a tunnel gives the transport it asks for. */
export interface TransportSetup {
  profile: Profile;
  handler: RequestHandler;
  onPhase: (state: PhaseState) => void;
  /** A digest of the tunnel's access and header rules, for the relay to compare workers of one host. */
  rulesDigest: string;
  tuning?: TransportTuning;
}

/** Makes the transport of a tunnel. */
export type TransportFactory = (setup: TransportSetup) => Transport;

/** The transport a profile's relay speaks: FPW long-polls (`relay.kind: 'fpw'`) or one WebSocket (`'ws'`). */
export const createTransport: TransportFactory = ({ profile, handler, onPhase, rulesDigest, tuning = {} }) => {
  const tcp = profile.upstream.kind === 'tcp' ? profile.upstream : null;
  if (tcp && profile.relay.kind !== 'ws') {
    throw new Error("a TCP tunnel needs the WebSocket transport to Porthole's relay");
  }
  if (profile.relay.kind === 'ggrok') {
    return new GgrokTransport({
      relayUrl: profile.relay.url,
      host: profile.relay.host,
      handler,
      onPhase,
      ...(tuning.backoff ? { backoff: tuning.backoff } : {}),
    });
  }
  return profile.relay.kind === 'ws'
    ? new WsTransport({
        relayUrl: profile.relay.url,
        host: profile.relay.host,
        token: profile.relay.token,
        rulesDigest,
        handler,
        onPhase,
        ...(tuning.backoff ? { backoff: tuning.backoff } : {}),
        ...(tuning.deadAfterMs !== undefined ? { deadAfterMs: tuning.deadAfterMs } : {}),
        ...(tcp ? { tcpPort: tcp.remotePort ?? ('any' as const) } : {}),
      })
    : new FpwTransport({
        relayUrl: profile.relay.url,
        host: profile.relay.host,
        token: profile.relay.token,
        rulesDigest,
        workers: profile.workers,
        handler,
        onPhase,
        ...(tuning.dispatcher ? { dispatcher: tuning.dispatcher } : {}),
        ...(tuning.backoff ? { backoff: tuning.backoff } : {}),
        ...(tuning.heldAfterMs !== undefined ? { heldAfterMs: tuning.heldAfterMs } : {}),
        ...(tuning.resendCapBytes !== undefined ? { resendCapBytes: tuning.resendCapBytes } : {}),
      });
};
