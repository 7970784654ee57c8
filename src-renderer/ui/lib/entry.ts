// What a request record is to a person: an HTTP request, a visitor's WebSocket session, or a TCP
// connection. The engine keeps one record for each: a session is the record of its handshake with
// status 101 (the engine answers 101 to nothing but a WebSocket upgrade), a connection has the method
// `TCP` and the local service as its URL.
import type { RequestSummaryView } from '../../../src-main/ipc/contract.ts';

export type EntryKind = 'http' | 'websocket' | 'tcp';

/** The method filter's values for the kinds that are not HTTP methods. */
export const WEBSOCKET_FILTER = 'WS';
export const TCP_FILTER = 'TCP';

export function entryKind(r: Pick<RequestSummaryView, 'method' | 'status'>): EntryKind {
  if (r.method === 'TCP') return 'tcp';
  if (r.status === 101) return 'websocket';
  return 'http';
}

/** What the method column shows: the method, `WS` for a WebSocket session, `TCP` for a connection. */
export function methodLabel(r: Pick<RequestSummaryView, 'method' | 'status'>): string {
  return entryKind(r) === 'websocket' ? 'WS' : r.method;
}
