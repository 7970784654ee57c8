import net from 'node:net';
import { UpstreamError, type Upstream, type UpstreamRequest, type UpstreamResponse } from './upstream.ts';

/** `3000` or `host:port` (IPv6 in brackets) as a host and port to connect to. */
export function parseTcpTarget(target: string): { host: string; port: number } {
  if (/^\d+$/.test(target)) return { host: '127.0.0.1', port: Number(target) };
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^\s:]+)):(\d+)$/.exec(target);
  if (!m) throw new Error(`"${target}" is not host:port`);
  return { host: m[1] ?? m[2]!, port: Number(m[3]) };
}

/**
 * A local TCP service (a database, SSH, anything): each visitor connection becomes one connection to
 * it, bytes both ways as they are. It answers no HTTP.
 */
export class TcpUpstream implements Upstream {
  readonly target: string;
  readonly #host: string;
  readonly #port: number;

  constructor(target: string) {
    const { host, port } = parseTcpTarget(target);
    this.#host = host;
    this.#port = port;
    this.target = `${host.includes(':') ? `[${host}]` : host}:${port}`;
  }

  async handle(_req: UpstreamRequest): Promise<UpstreamResponse> {
    throw new UpstreamError(502, `${this.target} is a TCP service, not HTTP`, 'this tunnel carries TCP, not HTTP');
  }

  /** Connects to the service; rejects at once when it refuses. Half-close is kept both ways. */
  connect(): Promise<net.Socket> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host: this.#host, port: this.#port, allowHalfOpen: true, noDelay: true });
      socket.once('connect', () => {
        socket.removeAllListeners('error');
        resolve(socket);
      });
      socket.once('error', (err: NodeJS.ErrnoException) =>
        reject(
          new UpstreamError(
            502,
            err.code === 'ECONNREFUSED'
              ? `nothing is listening at ${this.target} (connection refused)`
              : `${this.target}: ${err.message}`,
          ),
        ),
      );
    });
  }

  async close(): Promise<void> {}
}
