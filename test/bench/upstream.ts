// The benchmark's upstream, as its own process: a 6-byte body at /small, 1 MiB at /big, 64 MiB at
// /huge (for the slow reader of the mix run), and the number of TCP connections it accepted at
// /stats (to count new connections per request).
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';

const big = Buffer.alloc(1024 * 1024, 'x');
const small = Buffer.from('hello\n');
let connections = 0;
const server = http.createServer({ keepAliveTimeout: 60_000, noDelay: true }, (req, res) => {
  if (req.url === '/stats') {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(Buffer.from(JSON.stringify({ connections })));
    return;
  }
  if (req.url === '/huge') {
    // Written 1 MiB at a time as the reader takes it, so a slow reader holds the stream open for the
    // whole run instead of being buffered here whole.
    let left = 64;
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': left * big.length });
    const pump = (): void => {
      while (left > 0) {
        left -= 1;
        if (!res.write(big)) return void res.once('drain', pump);
      }
      res.end();
    };
    res.on('close', () => (left = 0));
    pump();
    return;
  }
  const body = req.url === '/big' ? big : small;
  res.writeHead(200, { 'content-type': 'text/plain', 'content-length': body.length });
  res.end(body);
});
server.on('connection', () => connections++);

// A TCP service for the TCP tunnel's bulk run: each connection is sent 256 MiB, then closed.
const bulk = net.createServer((socket) => {
  let left = 256;
  const pump = (): void => {
    while (left > 0) {
      left -= 1;
      if (!socket.write(big)) return void socket.once('drain', pump);
    }
    socket.end();
  };
  socket.on('error', () => undefined);
  pump();
});

server.listen(0, '127.0.0.1', () => {
  bulk.listen(0, '127.0.0.1', () => {
    process.stdout.write(
      `listening ${(server.address() as AddressInfo).port} tcp ${(bulk.address() as AddressInfo).port}\n`,
    );
  });
});
process.on('SIGTERM', () => process.exit(0));
