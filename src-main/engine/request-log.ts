import type { WsFrameWatcher } from './ws-frames.ts';
import type { HeaderList } from '../protocol/fpw-codec.ts';

import type { RequestSummary } from './shapes.ts';

export type { RequestSummary };

/** A body preview: the first bytes of a body, and its real size. */
export interface BodyPreview {
  /** At most the preview cap of bytes. */
  bytes: Buffer;
  /** The body's real size. */
  size: number;
  /** True when `bytes` is shorter than the body. */
  truncated: boolean;
}

/** Everything kept about one request. */
export interface RequestRecord extends RequestSummary {
  requestHeaders: HeaderList;
  responseHeaders: HeaderList;
  requestBody: BodyPreview;
  responseBody: BodyPreview;
  /** The whole request body when it was no larger than the replay cap, else null. */
  replayBody: Buffer | null;
  /** A visitor's WebSocket session: what passed each way (messages, bytes, close code, the last messages). */
  websocket?: { fromVisitor: WsFrameWatcher; fromUpstream: WsFrameWatcher };
}

export interface RequestLogOptions {
  /** Most records kept. @default 500 */
  maxEntries?: number;
  /** Most bytes kept over all records (headers, previews, replay bodies). @default 16 MiB */
  maxBytes?: number;
}

function headerBytes(list: HeaderList): number {
  let n = 0;
  for (const [k, v] of list) n += k.length + v.length + 4;
  return n;
}

/** Approximate memory a record holds, for the byte budget. */
export function recordBytes(r: RequestRecord): number {
  const replay = r.replayBody && r.replayBody !== r.requestBody.bytes ? r.replayBody.length : 0;
  return (
    256 +
    r.url.length +
    headerBytes(r.requestHeaders) +
    headerBytes(r.responseHeaders) +
    r.requestBody.bytes.length +
    r.responseBody.bytes.length +
    replay
  );
}

/** A ring buffer of request records, bounded by count and by total bytes. */
export class RequestLog {
  readonly maxEntries: number;
  readonly maxBytes: number;
  readonly #records = new Map<string, { record: RequestRecord; bytes: number }>();
  #bytes = 0;

  constructor(opts: RequestLogOptions = {}) {
    this.maxEntries = opts.maxEntries ?? 500;
    this.maxBytes = opts.maxBytes ?? 16 * 1024 * 1024;
  }

  /** Number of records kept. */
  get size(): number {
    return this.#records.size;
  }

  /** Bytes the kept records account for. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Adds or replaces a record (a record is added when a request starts and replaced when it ends). */
  put(record: RequestRecord): void {
    const old = this.#records.get(record.id);
    if (old) {
      this.#bytes -= old.bytes;
      this.#records.delete(record.id);
    }
    const bytes = recordBytes(record);
    this.#records.set(record.id, { record, bytes });
    this.#bytes += bytes;
    this.#evict();
  }

  #evict(): void {
    for (const [id, entry] of this.#records) {
      if (this.#records.size <= this.maxEntries && this.#bytes <= this.maxBytes) break;
      // Never evict the newest record, even when it alone is over the budget.
      if (this.#records.size === 1) break;
      this.#records.delete(id);
      this.#bytes -= entry.bytes;
    }
  }

  get(id: string): RequestRecord | undefined {
    return this.#records.get(id)?.record;
  }

  /** Records oldest first. */
  list(): RequestRecord[] {
    return [...this.#records.values()].map((e) => e.record);
  }

  clear(): void {
    this.#records.clear();
    this.#bytes = 0;
  }
}

/** Returns the summary fields of a record (only those: no headers or bodies), for pushing to a UI. */
export function summarise(r: RequestSummary): RequestSummary {
  return {
    id: r.id,
    relayId: r.relayId,
    tunnelId: r.tunnelId,
    startedAt: r.startedAt,
    durationMs: r.durationMs,
    upstreamMs: r.upstreamMs,
    visitorIp: r.visitorIp,
    method: r.method,
    url: r.url,
    status: r.status,
    requestBytes: r.requestBytes,
    responseBytes: r.responseBytes,
    error: r.error,
    refusedBy: r.refusedBy,
    replayOf: r.replayOf,
  };
}

/**
 * Collects a body's preview, its size and (up to a cap) the whole body while it streams past,
 * without copying more than it keeps.
 */
export class BodyCapture {
  readonly #previewCap: number;
  readonly #keepCap: number;
  #chunks: Buffer[] = [];
  #kept = 0;
  #size = 0;

  /**
   * @param previewCap bytes of preview kept
   * @param keepCap bytes kept whole (for replay); 0 keeps only the preview
   */
  constructor(previewCap: number, keepCap = 0) {
    this.#previewCap = previewCap;
    this.#keepCap = Math.max(previewCap, keepCap);
  }

  push(chunk: Buffer): void {
    this.#size += chunk.length;
    if (this.#kept >= this.#keepCap) return;
    const room = this.#keepCap - this.#kept;
    const piece = chunk.length <= room ? chunk : chunk.subarray(0, room);
    // Once here, so that the preview and the replay body of a small body stay the same buffer.
    this.#chunks.push(detach(piece));
    this.#kept += piece.length;
  }

  get size(): number {
    return this.#size;
  }

  preview(): BodyPreview {
    const all = this.#chunks.length === 1 ? this.#chunks[0]! : Buffer.concat(this.#chunks);
    this.#chunks = all.length ? [all] : [];
    // Copy the preview out so that a kept replay body larger than it can be freed separately.
    const bytes = all.length > this.#previewCap ? Buffer.from(all.subarray(0, this.#previewCap)) : all;
    return { bytes, size: this.#size, truncated: this.#size > bytes.length };
  }

  /** The whole body if it fit under the keep cap, else null. */
  whole(): Buffer | null {
    if (this.#size > this.#keepCap) return null;
    const all = this.#chunks.length === 1 ? this.#chunks[0]! : Buffer.concat(this.#chunks);
    this.#chunks = all.length ? [all] : [];
    return all;
  }
}

/**
 * The bytes of a view that would hold a much larger buffer alive (a chunk is often a slice of a
 * socket read, or of several reads joined), copied out; else the view itself. The log's byte budget
 * counts what a record shows, so a record must not keep more than that in memory.
 */
function detach(view: Buffer): Buffer {
  if (view.buffer.byteLength <= view.length * 2 + 4096) return view;
  const copy = Buffer.allocUnsafeSlow(view.length);
  view.copy(copy);
  return copy;
}
