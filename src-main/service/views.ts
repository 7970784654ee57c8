// Engine values turned into the contract's plain, JSON-safe views (no Buffers: the same views travel
// over Electron IPC and over the headless inspector's WebSocket).
import { summarise, type BodyPreview, type RequestRecord, type RequestSummary } from '../engine/request-log.ts';
import type { Profile } from '../engine/profile.ts';
import type { TunnelSnapshot } from '../engine/Tunnel.ts';
import type { WsFrameWatcher, WsMessage } from '../engine/ws-frames.ts';
import type {
  BodyView,
  RequestDetail,
  RequestSummaryView,
  TunnelView,
  WebSocketView,
  WsDirectionView,
  WsMessageView,
} from '../ipc/contract.ts';

export function tunnelView(snapshot: TunnelSnapshot, profile: Profile): TunnelView {
  return { ...snapshot, counters: { ...snapshot.counters }, autoStart: profile.autoStart };
}

/** The summary fields only, as the engine picks them. */
export const summaryView: (s: RequestSummary) => RequestSummaryView = summarise;

export function bodyView(b: BodyPreview): BodyView {
  return { base64: b.bytes.toString('base64'), size: b.size, truncated: b.truncated };
}

/** A record can be replayed when its whole request body was kept (or it had none). */
export function isReplayable(r: RequestRecord): boolean {
  return r.replayBody !== null || r.requestBytes === 0;
}

function directionView(w: WsFrameWatcher): WsDirectionView {
  return { messages: w.messages, bytes: w.bytes, closeCode: w.closeCode };
}

/** A WebSocket session's traffic, its last messages both ways merged in the order they passed. */
export function websocketView(ws: NonNullable<RequestRecord['websocket']>): WebSocketView {
  const tagged = (from: WsMessageView['from'], list: readonly WsMessage[]) => list.map((m) => ({ from, m }));
  const last = [...tagged('visitor', ws.fromVisitor.last), ...tagged('upstream', ws.fromUpstream.last)]
    .sort((a, b) => a.m.seq - b.m.seq)
    .map(({ from, m }): WsMessageView => ({
      from,
      kind: m.kind,
      at: m.at,
      size: m.size,
      base64: m.preview.toString('base64'),
      truncated: m.preview.length < m.size,
    }));
  return { fromVisitor: directionView(ws.fromVisitor), fromUpstream: directionView(ws.fromUpstream), last };
}

export function detailView(r: RequestRecord): RequestDetail {
  return {
    ...summaryView(r),
    requestHeaders: r.requestHeaders.map(([k, v]) => [k, v]),
    responseHeaders: r.responseHeaders.map(([k, v]) => [k, v]),
    requestBody: bodyView(r.requestBody),
    responseBody: bodyView(r.responseBody),
    replayable: isReplayable(r),
    ...(r.websocket ? { websocket: websocketView(r.websocket) } : {}),
  };
}
