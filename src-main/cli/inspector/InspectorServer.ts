import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { existsSync, readdirSync } from 'node:fs';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import send from 'send';
import { WebSocketServer, type WebSocket } from 'ws';
import { HTML_TYPE, errorPage } from '../../protocol/pages.ts';
import { checkedCaller, type CheckedCall } from '../../ipc/call.ts';
import type { CommandHandlers, PushMessage } from '../../ipc/contract.ts';

export interface InspectorOptions {
  /** Address to listen on. @default '127.0.0.1' */
  bind?: string;
  /** Port; when `exactPort` is false and it is taken, the next free one up to 20 above. @default 4040 */
  port?: number;
  /** Fail instead of moving to the next port (an address the user gave). @default false */
  exactPort?: boolean;
  /** The built renderer (index.html and assets). */
  staticDir: string;
  /** The contract's commands, as the Electron IPC binding has them. */
  handlers: CommandHandlers;
  /** Subscribes to pushed events; returns the unsubscribe function. */
  subscribe(push: (message: PushMessage) => void): () => void;
  /** The secret the WebSocket bridge requires. @default 32 random bytes, hex */
  token?: string;
}

/** A message from the page: one command call. */
interface CallMessage {
  id: number;
  command: string;
  payload?: unknown;
}

/**
 * The headless inspector: serves the built renderer and a WebSocket bridge that implements the same
 * contract as the Electron IPC, on loopback by default. It answers only requests addressed to its own
 * host (so a DNS-rebinding name cannot reach it), refuses any other Origin (so a web page elsewhere
 * cannot drive it), and the bridge wants a random token that only the printed URL carries.
 */
export class InspectorServer {
  readonly token: string;
  readonly #opts: InspectorOptions;
  readonly #server: http.Server;
  readonly #wss = new WebSocketServer({ noServer: true, maxPayload: 8 * 1024 * 1024 });
  #port = 0;
  #allowedHosts = new Set<string>();
  #sockets = new Set<WebSocket>();
  /** The contract's check-and-call, the same as the app's IPC binding uses. */
  readonly #call: CheckedCall;

  constructor(opts: InspectorOptions) {
    this.#opts = opts;
    this.#call = checkedCaller(opts.handlers);
    this.token = opts.token ?? randomBytes(32).toString('hex');
    this.#server = http.createServer((req, res) => this.#onRequest(req, res));
    this.#server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) =>
      this.#onUpgrade(req, socket, head),
    );
  }

  /** Listens; resolves with the URL to print (the token rides in the fragment, never sent to a server). */
  async listen(): Promise<string> {
    const bind = this.#opts.bind ?? '127.0.0.1';
    const first = this.#opts.port ?? 4040;
    const last = this.#opts.exactPort ? first : first + 20;
    for (let port = first; port <= last; port++) {
      try {
        this.#server.listen(port, bind);
        await once(this.#server, 'listening');
        break;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE' || port === last) throw err;
      }
    }
    this.#port = (this.#server.address() as AddressInfo).port;
    const p = this.#port;
    const shown = bind.includes(':') ? `[${bind}]` : bind;
    for (const h of ['127.0.0.1', 'localhost', '[::1]', shown]) this.#allowedHosts.add(`${h}:${p}`.toLowerCase());
    return `${this.origin}/#token=${this.token}`;
  }

  /** `http://HOST:PORT`. */
  get origin(): string {
    const bind = this.#opts.bind ?? '127.0.0.1';
    const host = bind === '0.0.0.0' ? '127.0.0.1' : bind.includes(':') ? `[${bind}]` : bind;
    return `http://${host}:${this.#port}`;
  }

  get port(): number {
    return this.#port;
  }

  async close(): Promise<void> {
    for (const ws of this.#sockets) ws.terminate();
    this.#wss.close();
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  /** Why a request may not be answered, or null when it may. */
  #refusal(req: IncomingMessage): string | null {
    const host = (req.headers.host ?? '').toLowerCase();
    if (!this.#allowedHosts.has(host)) {
      return `This inspector answers only at its own address (${[...this.#allowedHosts].join(', ')}), not at "${host}".`;
    }
    const origin = req.headers.origin?.toLowerCase();
    if (origin !== undefined && !(origin.startsWith('http://') && this.#allowedHosts.has(origin.slice(7)))) {
      return `Requests from ${req.headers.origin} are not allowed: only the inspector's own pages may use it.`;
    }
    return null;
  }

  #onRequest(req: IncomingMessage, res: ServerResponse): void {
    const refusal = this.#refusal(req);
    if (refusal) return page(res, 403, 'Forbidden', refusal);
    if (req.method !== 'GET' && req.method !== 'HEAD')
      return page(res, 405, 'Method Not Allowed', 'The inspector serves pages only.');
    const dir = this.#opts.staticDir;
    if (!existsSync(join(dir, 'index.html'))) {
      return page(res, 503, 'Not Built', 'The inspector UI is not built yet: run "npm run build" once, then reload.');
    }
    let path = new URL(req.url ?? '/', 'http://x').pathname;
    if (path === '/') path = '/index.html';
    // The page links its icon (hashed by the build); a page that links none (an error page of the
    // inspector's) makes the browser ask for /favicon.ico, which gets the same icon.
    else if (path === '/favicon.ico') path = builtFavicon(dir) ?? path;
    const stream = send(req, path, { root: dir, dotfiles: 'deny', index: false });
    stream.on('headers', (r: ServerResponse) => {
      r.setHeader('x-content-type-options', 'nosniff');
      r.setHeader('referrer-policy', 'no-referrer');
      r.setHeader('cache-control', 'no-store');
    });
    stream.on('error', (err: { status?: number }) => {
      const status = err.status ?? 500;
      page(
        res,
        status,
        status === 404 ? 'Not Found' : 'Error',
        status === 404 ? 'No such file.' : 'The file could not be read.',
      );
    });
    stream.pipe(res);
  }

  #onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => undefined);
    const refusal = this.#refusal(req);
    const url = new URL(req.url ?? '/', 'http://x');
    const reject = (status: number, message: string): void => {
      const body = Buffer.from(message);
      socket.end(
        Buffer.concat([
          Buffer.from(
            `HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: ${body.length}\r\nconnection: close\r\n\r\n`,
          ),
          body,
        ]),
      );
    };
    if (refusal) return reject(403, refusal);
    if (url.pathname !== '/bridge') return reject(404, 'The bridge is at /bridge.');
    if (!safeEqual(url.searchParams.get('token') ?? '', this.token)) {
      return reject(401, 'The bridge wants the token of the URL the command printed.');
    }
    this.#wss.handleUpgrade(req, socket, head, (ws) => this.#onSocket(ws));
  }

  #onSocket(ws: WebSocket): void {
    this.#sockets.add(ws);
    const unsubscribe = this.#opts.subscribe((message) => {
      if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(message));
    });
    // A malformed frame (invalid UTF-8, too large) must close this socket, not the process.
    ws.on('error', () => ws.terminate());
    ws.on('close', () => {
      unsubscribe();
      this.#sockets.delete(ws);
    });
    ws.on('message', (data, isBinary) => {
      if (isBinary) return;
      let msg: CallMessage;
      try {
        msg = JSON.parse(String(data)) as CallMessage;
      } catch {
        return;
      }
      if (typeof msg !== 'object' || msg === null || typeof msg.id !== 'number' || typeof msg.command !== 'string')
        return;
      void this.#call(msg.command, msg.payload).then((result) => {
        if (ws.readyState === ws.OPEN) ws.send(JSON.stringify({ id: msg.id, result }));
      });
    });
  }
}

/** The path of the built page's icon (`/assets/favicon-HASH.svg`), or null where there is none. */
function builtFavicon(dir: string): string | null {
  const assets = join(dir, 'assets');
  if (!existsSync(assets)) return null;
  const name = readdirSync(assets, { withFileTypes: true }).find(
    (e) => e.isFile() && /^favicon-[\w-]+\.svg$/.test(e.name),
  )?.name;
  return name ? `/assets/${name}` : null;
}

function safeEqual(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}

function page(res: ServerResponse, status: number, title: string, message: string): void {
  const body = errorPage(status, title, message, 'Porthole inspector');
  res.writeHead(status, { 'content-type': HTML_TYPE, 'content-length': body.length, 'cache-control': 'no-store' });
  res.end(res.req.method === 'HEAD' ? undefined : body);
}
