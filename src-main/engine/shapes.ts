// Plain data the engine hands to a UI: a tunnel's phase, its counters, a request's summary. Nothing
// here needs Node, so the IPC contract (compiled for the renderer too) uses these same types instead
// of copies of them.

/** The phases of a tunnel. */
export type TunnelPhase = 'stopped' | 'starting' | 'online' | 'reconnecting' | 'failed';

/** A phase with what a person needs to know about it. */
export type PhaseState =
  | { phase: 'stopped' }
  | { phase: 'starting' }
  | { phase: 'online'; publicUrl: string; since: number }
  | { phase: 'reconnecting'; attempt: number; nextRetryAt: number; lastError: string }
  | { phase: 'failed'; reason: string };

/** Live numbers of a tunnel. */
export interface TunnelCounters {
  /** Requests answered since the tunnel was created (an edit of its profile keeps the counters, as it keeps the log). */
  requests: number;
  /** Requests being answered now. */
  inFlight: number;
  /** Request body bytes received from visitors. */
  bytesIn: number;
  /** Response body bytes sent to visitors. */
  bytesOut: number;
  /** Median request duration over the last minute, ms (null without requests). */
  p50Ms: number | null;
  /** 95th percentile over the last minute, ms (null without requests). */
  p95Ms: number | null;
}

/** What a UI shows about a tunnel. */
export interface TunnelSnapshot {
  /** The id of the tunnel's profile. */
  id: string;
  name: string;
  state: PhaseState;
  /** Where visitors reach the tunnel (known before it is online, from the relay URL and host). */
  publicUrl: string;
  /** The upstream, e.g. `http://127.0.0.1:3000`. */
  target: string;
  counters: TunnelCounters;
}

/** What a list of requests shows: small, cheap to push to a UI in batches. */
export interface RequestSummary {
  /** Porthole's own id for this record, unique per process. */
  id: string;
  /** The relay's id of the visitor request. */
  relayId: string;
  /** The tunnel (profile) this request came through. */
  tunnelId: string;
  /** When the worker received the request (ms since the epoch). */
  startedAt: number;
  /** Time from receipt to the end of the response body sent back, in ms; null while in flight. */
  durationMs: number | null;
  /** Time from receipt to the upstream's response headers, in ms; null if none arrived. */
  upstreamMs: number | null;
  visitorIp: string;
  method: string;
  /** Path and query as the visitor sent them. */
  url: string;
  /** Status sent back; null while in flight. */
  status: number | null;
  /** Real request body size in bytes. */
  requestBytes: number;
  /** Real response body size in bytes. */
  responseBytes: number;
  /** Why the request failed or was answered by Porthole itself, if it was. */
  error: string | null;
  /** The access rule that refused the request, if one did. */
  refusedBy: 'ip-deny' | 'ip-allow' | 'basic-auth' | null;
  /** For a replay, the id of the record it replayed. */
  replayOf: string | null;
}

/** The one-word state of all tunnels together, as the tray icon shows it. */
export type AggregateStatus = 'idle' | 'connecting' | 'online' | 'error';

/** A stored profile that could not be opened; it stays in the file untouched. */
export interface UnreadableProfile {
  id: string | null;
  name: string | null;
  reason: string;
}
