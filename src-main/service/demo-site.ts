import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';
import { escapeHtml } from '../protocol/pages.ts';

/** Where the demo site's WebSocket echo answers. */
export const ECHO_WS_PATH = '/echo-ws';

// The page's WebSocket echo: plain script, inline (the site sends no Content-Security-Policy).
const ECHO_SCRIPT = `
(function () {
  var form = document.getElementById('ws-form');
  var text = document.getElementById('ws-text');
  var log = document.getElementById('ws-log');
  var url = (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '${ECHO_WS_PATH}';
  var ws = null;
  function note(line) {
    var li = document.createElement('li');
    li.textContent = line;
    log.appendChild(li);
  }
  function hex(bytes) {
    return Array.prototype.map.call(bytes, function (b) { return (b < 16 ? '0' : '') + b.toString(16); }).join(' ');
  }
  function socket() {
    if (ws) return ws;
    ws = new WebSocket(url);
    ws.binaryType = 'arraybuffer';
    ws.onopen = function () { note('open ' + url); };
    ws.onmessage = function (e) {
      if (typeof e.data === 'string') return note('\u2190 ' + e.data);
      var bytes = new Uint8Array(e.data);
      note('\u2190 ' + bytes.length + ' bytes: ' + hex(bytes));
    };
    ws.onerror = function () { note('error: the WebSocket could not connect'); };
    ws.onclose = function (e) { note('closed ' + e.code + (e.reason ? ' ' + e.reason : '')); ws = null; };
    return ws;
  }
  function send(data, shown) {
    var s = socket();
    var go = function () { s.send(data); note('\u2192 ' + shown); };
    if (s.readyState === WebSocket.OPEN) go();
    else s.addEventListener('open', go, { once: true });
  }
  form.addEventListener('submit', function (e) {
    e.preventDefault();
    send(text.value, text.value);
  });
  document.getElementById('ws-bytes').addEventListener('click', function () {
    var bytes = new TextEncoder().encode(text.value);
    send(bytes, bytes.length + ' bytes: ' + hex(bytes));
  });
  document.getElementById('ws-close').addEventListener('click', function () {
    if (ws) ws.close(1000, 'bye');
  });
})();
`;

/** The small site `porthole demo` tunnels: a page, a JSON endpoint, an echo and a WebSocket echo, with no network needed. */
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
      if (url.pathname === ECHO_WS_PATH) {
        const body = Buffer.from(
          `${ECHO_WS_PATH} is a WebSocket echo: open it with a WebSocket (the page at / does).\n`,
        );
        res.writeHead(426, {
          'content-type': 'text/plain; charset=utf-8',
          'content-length': body.length,
          upgrade: 'websocket',
          connection: 'upgrade',
        });
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
code{background:#eef2f6;padding:.1rem .3rem;border-radius:4px}
#ws-log{font-family:ui-monospace,monospace;font-size:.9em;background:#f6f8fa;border-radius:6px;padding:.5rem .5rem .5rem 2.2rem;min-height:2rem;overflow-wrap:anywhere}
#ws-form{display:flex;gap:.5rem;flex-wrap:wrap;align-items:center}</style></head>
<body>
<h1>Porthole demo</h1>
<p>This page is served by a small site on your machine and reached through a Porthole tunnel and relay,
all running locally: no network needed.</p>
<p>You came from <code>${escapeHtml(visitor)}</code> at ${escapeHtml(new Date().toISOString())}.</p>
<ul>
<li><a href="/api/time">/api/time</a>: a JSON answer</li>
<li><code>curl -X POST --data hello http://this-host/echo</code>: see your request as the site got it</li>
<li><code>${ECHO_WS_PATH}</code>: a WebSocket echo, tried below</li>
</ul>
<section aria-labelledby="ws-title">
<h2 id="ws-title">WebSocket echo</h2>
<p>A WebSocket to <code>${ECHO_WS_PATH}</code> on this host, through the tunnel: what you send comes back. The
inspector lists the session once, with its messages and close code. (Over the FPW long-poll transport the
relay cannot carry WebSockets, and it will not connect.)</p>
<form id="ws-form"><label for="ws-text">Message</label> <input id="ws-text" value="hello">
<button>Send</button> <button type="button" id="ws-bytes">Send as bytes</button>
<button type="button" id="ws-close">Close</button></form>
<ol id="ws-log" role="log" aria-label="WebSocket echo log"></ol>
</section>
<script>${ECHO_SCRIPT}</script>
</body></html>
`);
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'content-length': body.length });
      res.end(req.method === 'HEAD' ? undefined : body);
    });
  });
  // What comes in goes back as it came (text as text, bytes as bytes); a close is answered with its code.
  const echo = new WebSocketServer({ server, path: ECHO_WS_PATH, maxPayload: 1024 * 1024 });
  echo.on('connection', (ws) => {
    ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
    ws.on('error', () => ws.terminate());
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const ws of echo.clients) ws.terminate();
        echo.close();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
