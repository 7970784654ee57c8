import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { escapeHtml } from '../protocol/pages.ts';

/** The small site `porthole demo` tunnels: a page, a JSON endpoint and an echo, with no network needed. */
export async function startDemoSite(): Promise<{ url: string; close(): Promise<void> }> {
  const started = new Date();
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://demo');
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (url.pathname === '/api/time') {
        const body = Buffer.from(JSON.stringify({ now: new Date().toISOString(), up: started.toISOString() }));
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length });
        res.end(body);
        return;
      }
      if (url.pathname === '/echo') {
        const body = Buffer.from(
          JSON.stringify(
            { method: req.method, url: req.url, headers: req.headers, body: Buffer.concat(chunks).toString('utf8') },
            null,
            2,
          ),
        );
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length });
        res.end(body);
        return;
      }
      if (url.pathname !== '/') {
        const body = Buffer.from(`No page at ${url.pathname} on the demo site.\n`);
        res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8', 'content-length': body.length });
        res.end(body);
        return;
      }
      const visitor = String(req.headers['x-forwarded-for'] ?? req.socket.remoteAddress ?? '');
      const body = Buffer.from(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>Porthole demo</title>
<style>body{font:16px/1.6 system-ui,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem;color:#1d2733}
code{background:#eef2f6;padding:.1rem .3rem;border-radius:4px}</style></head>
<body>
<h1>Porthole demo</h1>
<p>This page is served by a small site on your machine and reached through a Porthole tunnel and relay,
all running locally: no network needed.</p>
<p>You came from <code>${escapeHtml(visitor)}</code> at ${escapeHtml(new Date().toISOString())}.</p>
<ul>
<li><a href="/api/time">/api/time</a>: a JSON answer</li>
<li><code>curl -X POST --data hello http://this-host/echo</code>: see your request as the site got it</li>
</ul>
</body></html>
`);
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'content-length': body.length });
      res.end(req.method === 'HEAD' ? undefined : body);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
