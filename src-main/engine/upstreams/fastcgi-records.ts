/**
 * The FastCGI 1.0 record layer (https://fastcgi-archives.github.io/FastCGI_Specification.html):
 * encoding of what a web server sends (BEGIN_REQUEST, PARAMS, STDIN, ABORT_REQUEST) and a streaming
 * parser for what the application sends back (STDOUT, STDERR, END_REQUEST).
 */

/** The only protocol version there is. */
export const FCGI_VERSION = 1;

/** Bytes in a record header. */
export const FCGI_HEADER_LENGTH = 8;

/** A record's content length is a 16-bit field: longer streams are split over several records. */
export const FCGI_MAX_CONTENT = 0xffff;

/** Record types (section 8). */
export const FcgiType = {
  BeginRequest: 1,
  AbortRequest: 2,
  EndRequest: 3,
  Params: 4,
  Stdin: 5,
  Stdout: 6,
  Stderr: 7,
  Data: 8,
  GetValues: 9,
  GetValuesResult: 10,
  UnknownType: 11,
} as const;

/** A record type code. */
/** The role that answers HTTP requests, the only one PHP-FPM plays. */
export const FCGI_RESPONDER = 1;

/** BEGIN_REQUEST flag: keep the connection open after END_REQUEST. */
export const FCGI_KEEP_CONN = 1;

/** END_REQUEST protocol statuses. */
export const FcgiProtocolStatus = {
  RequestComplete: 0,
  CantMultiplex: 1,
  Overloaded: 2,
  UnknownRole: 3,
} as const;

/** Thrown when the application's byte stream is not FastCGI (the connection cannot be trusted after it). */
export class FastCgiProtocolError extends Error {
  override name = 'FastCgiProtocolError';
}

/** A record the parser hands out. STDOUT/STDERR content may arrive as several pieces of one record. */
export type FcgiRecord =
  | { type: typeof FcgiType.Stdout; requestId: number; data: Buffer }
  | { type: typeof FcgiType.Stderr; requestId: number; data: Buffer }
  | { type: typeof FcgiType.EndRequest; requestId: number; appStatus: number; protocolStatus: number };

/** A parameter value: strings are sent as UTF-8, buffers byte for byte (HTTP header values are latin-1). */
export type ParamValue = string | Buffer;

const PADDING = Buffer.alloc(8);

/** Encodes one record header. */
export function encodeHeader(type: number, requestId: number, contentLength: number, paddingLength: number): Buffer {
  if (contentLength > FCGI_MAX_CONTENT) throw new RangeError(`record content of ${contentLength} bytes is over 65535`);
  const h = Buffer.allocUnsafe(FCGI_HEADER_LENGTH);
  h[0] = FCGI_VERSION;
  h[1] = type;
  h.writeUInt16BE(requestId, 2);
  h.writeUInt16BE(contentLength, 4);
  h[6] = paddingLength;
  h[7] = 0;
  return h;
}

/**
 * Encodes one record. Content is padded to a multiple of 8 bytes, as the specification recommends
 * (the application can then copy aligned data).
 */
export function encodeRecord(type: number, requestId: number, content: Buffer = PADDING.subarray(0, 0)): Buffer {
  const padding = (8 - (content.length % 8)) % 8;
  return Buffer.concat([encodeHeader(type, requestId, content.length, padding), content, PADDING.subarray(0, padding)]);
}

/**
 * Encodes a stream's data as records of at most 65,535 content bytes. Empty data gives no record:
 * an empty record is the end-of-stream marker, see {@link encodeStreamEnd}.
 */
export function encodeStream(type: number, requestId: number, data: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let at = 0; at < data.length; at += FCGI_MAX_CONTENT) {
    out.push(encodeRecord(type, requestId, data.subarray(at, at + FCGI_MAX_CONTENT)));
  }
  return out;
}

/** The empty record that ends a PARAMS or STDIN stream. */
export function encodeStreamEnd(type: number, requestId: number): Buffer {
  return encodeHeader(type, requestId, 0, 0);
}

/** BEGIN_REQUEST for the responder role; `keepConn` asks the application not to close the connection. */
export function encodeBeginRequest(requestId: number, keepConn = true): Buffer {
  const body = Buffer.alloc(8);
  body.writeUInt16BE(FCGI_RESPONDER, 0);
  body[2] = keepConn ? FCGI_KEEP_CONN : 0;
  return encodeRecord(FcgiType.BeginRequest, requestId, body);
}

function encodeLength(n: number): Buffer {
  if (n <= 127) return Buffer.from([n]);
  if (n > 0x7fffffff) throw new RangeError(`name-value length ${n} is over 2^31-1`);
  const b = Buffer.allocUnsafe(4);
  // The high bit marks the 4-byte form.
  b.writeUInt32BE((n | 0x80000000) >>> 0, 0);
  return b;
}

/** Encodes one name-value pair: each length in 1 byte up to 127, else in 4 bytes with the high bit set. */
export function encodeNameValue(name: ParamValue, value: ParamValue): Buffer {
  const n = typeof name === 'string' ? Buffer.from(name, 'utf8') : name;
  const v = typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
  return Buffer.concat([encodeLength(n.length), encodeLength(v.length), n, v]);
}

/**
 * Encodes the whole PARAMS stream: the pairs split over records of at most 65,535 bytes (a pair may
 * straddle two records, which the specification allows), then the empty terminator.
 */
export function encodeParams(requestId: number, params: Iterable<readonly [ParamValue, ParamValue]>): Buffer[] {
  const pairs: Buffer[] = [];
  for (const [name, value] of params) pairs.push(encodeNameValue(name, value));
  return [
    ...encodeStream(FcgiType.Params, requestId, Buffer.concat(pairs)),
    encodeStreamEnd(FcgiType.Params, requestId),
  ];
}

/**
 * Decodes name-value pairs (a PARAMS or GET_VALUES_RESULT body), as latin-1 strings.
 * @throws FastCgiProtocolError when a length runs past the end.
 */
export function decodeNameValues(data: Buffer): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  let at = 0;
  const readLength = (): number => {
    if (at >= data.length) throw new FastCgiProtocolError('name-value pair cut short');
    if (data[at]! < 0x80) return data[at++]!;
    if (at + 4 > data.length) throw new FastCgiProtocolError('name-value length cut short');
    const n = data.readUInt32BE(at) & 0x7fffffff;
    at += 4;
    return n;
  };
  while (at < data.length) {
    const nameLength = readLength();
    const valueLength = readLength();
    if (at + nameLength + valueLength > data.length) throw new FastCgiProtocolError('name-value pair cut short');
    const name = data.toString('latin1', at, at + nameLength);
    at += nameLength;
    out.push([name, data.toString('latin1', at, at + valueLength)]);
    at += valueLength;
  }
  return out;
}

/**
 * Turns the application's byte stream into records, whatever the chunk boundaries. STDOUT and STDERR
 * content is handed out as soon as it arrives (possibly several pieces per record) so that a large
 * response streams instead of being held for a whole record; END_REQUEST is handed out whole; every
 * other type (management records, types from later revisions) is skipped.
 */
export class FcgiRecordParser {
  readonly #header = Buffer.alloc(FCGI_HEADER_LENGTH);
  #headerFill = 0;
  #type = 0;
  #requestId = 0;
  /** Content bytes of the current record still to come. */
  #contentLeft = 0;
  #paddingLeft = 0;
  /** END_REQUEST content (8 bytes), gathered across chunks. */
  #end: Buffer | null = null;
  #endFill = 0;

  /**
   * Feeds a chunk; returns the records (or record pieces) it completes.
   * @throws FastCgiProtocolError on a version other than 1 or a short END_REQUEST.
   */
  push(chunk: Buffer): FcgiRecord[] {
    const out: FcgiRecord[] = [];
    let at = 0;
    while (at < chunk.length) {
      if (this.#contentLeft === 0 && this.#paddingLeft === 0 && this.#headerFill < FCGI_HEADER_LENGTH) {
        const n = Math.min(FCGI_HEADER_LENGTH - this.#headerFill, chunk.length - at);
        chunk.copy(this.#header, this.#headerFill, at, at + n);
        this.#headerFill += n;
        at += n;
        if (this.#headerFill === FCGI_HEADER_LENGTH) this.#startRecord(out);
        continue;
      }
      if (this.#contentLeft > 0) {
        const n = Math.min(this.#contentLeft, chunk.length - at);
        const piece = chunk.subarray(at, at + n);
        at += n;
        this.#contentLeft -= n;
        if (this.#type === FcgiType.Stdout || this.#type === FcgiType.Stderr) {
          out.push({ type: this.#type, requestId: this.#requestId, data: piece } as FcgiRecord);
        } else if (this.#end) {
          const room = Math.max(0, this.#end.length - this.#endFill);
          piece.copy(this.#end, this.#endFill, 0, Math.min(room, piece.length));
          this.#endFill += Math.min(room, piece.length);
        }
        if (this.#contentLeft === 0) this.#endContent(out);
        continue;
      }
      const n = Math.min(this.#paddingLeft, chunk.length - at);
      at += n;
      this.#paddingLeft -= n;
      if (this.#paddingLeft === 0) this.#headerFill = 0;
    }
    return out;
  }

  #startRecord(out: FcgiRecord[]): void {
    const h = this.#header;
    if (h[0] !== FCGI_VERSION) {
      throw new FastCgiProtocolError(`record version ${h[0]} (expected 1): the stream is not FastCGI or out of step`);
    }
    this.#type = h[1]!;
    this.#requestId = h.readUInt16BE(2);
    this.#contentLeft = h.readUInt16BE(4);
    this.#paddingLeft = h[6]!;
    if (this.#type === FcgiType.EndRequest) {
      if (this.#contentLeft < 8) throw new FastCgiProtocolError(`END_REQUEST with ${this.#contentLeft} content bytes`);
      this.#end = Buffer.alloc(8);
      this.#endFill = 0;
    }
    if (this.#contentLeft === 0) this.#endContent(out);
  }

  #endContent(out: FcgiRecord[]): void {
    if (this.#type === FcgiType.Stdout || this.#type === FcgiType.Stderr) {
      // An empty STDOUT/STDERR record ends that stream; it is handed out so the caller can tell.
      if (this.#header.readUInt16BE(4) === 0) {
        out.push({ type: this.#type, requestId: this.#requestId, data: Buffer.alloc(0) } as FcgiRecord);
      }
    } else if (this.#type === FcgiType.EndRequest && this.#end) {
      out.push({
        type: FcgiType.EndRequest,
        requestId: this.#requestId,
        appStatus: this.#end.readUInt32BE(0),
        protocolStatus: this.#end[4]!,
      });
      this.#end = null;
    }
    if (this.#paddingLeft === 0) this.#headerFill = 0;
  }
}
