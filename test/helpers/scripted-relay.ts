import type { IncomingMessage, ServerResponse } from 'node:http';
import { readBody, startServer, type Server } from './net.ts';

/** One POST a worker made, held until the test answers it. */
export interface HeldPost {
  req: IncomingMessage;
  body: Buffer;
  res: ServerResponse;
  header(name: string): string | undefined;
}

/**
 * A relay whose answers the test writes by hand: every request is queued and waits for the test.
 * Used to speak dialects (and faults) that Porthole's own relay never produces.
 */
export class ScriptedRelay {
  server!: Server;
  readonly #queue: HeldPost[] = [];
  readonly #waiters: Array<(p: HeldPost) => void> = [];
  readonly all: HeldPost[] = [];

  async start(): Promise<this> {
    this.server = await startServer((req, res) => {
      void readBody(req).then((body) => {
        const post: HeldPost = {
          req,
          body,
          res,
          header: (name) => {
            const v = req.headers[name];
            return Array.isArray(v) ? v[0] : v;
          },
        };
        this.all.push(post);
        const w = this.#waiters.shift();
        if (w) w(post);
        else this.#queue.push(post);
      });
    });
    return this;
  }

  get url(): string {
    return this.server.url;
  }

  /** The next request a worker sends (waits for it). */
  next(): Promise<HeldPost> {
    const p = this.#queue.shift();
    if (p) return Promise.resolve(p);
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  /** The next request that carries a reply (fpw-status), answering plain polls idle meanwhile. */
  async nextReply(): Promise<HeldPost> {
    for (;;) {
      const p = await this.next();
      if (p.header('fpw-status') !== undefined) return p;
      this.idle(p);
    }
  }

  /** Answers a poll with nothing to do. */
  idle(p: HeldPost): void {
    if (!p.res.headersSent) p.res.writeHead(200, { 'content-length': '0' }).end();
  }

  close(): Promise<void> {
    for (const p of this.#queue) this.idle(p);
    return this.server.close();
  }
}
