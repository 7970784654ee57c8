import { readFileSync } from 'node:fs';
import { RelayServer } from '../relay/RelayServer.ts';
import type { Command } from './args.ts';
import { CliFailure, EXIT, Output } from './output.ts';

/** Listens, turning the usual failures into messages a person can act on. */
export async function listenOrExplain(relay: RelayServer, port: number, bind: string): Promise<void> {
  try {
    await relay.listen();
  } catch (err) {
    throw explainListenError(err, port, bind);
  }
}

/** A failure to listen, in words a person can act on (an unknown failure as it is). */
export function explainListenError(err: unknown, port: number, bind: string): unknown {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'EADDRINUSE')
    return new CliFailure(`port ${port} on ${bind} is in use: pick another with --port (0 picks a free one)`);
  if (code === 'EACCES')
    return new CliFailure(`not allowed to listen on port ${port}: pick one above 1023 with --port`);
  if (code === 'EADDRNOTAVAIL') return new CliFailure(`${bind} is not an address of this machine (--bind)`);
  return err;
}

function readTokens(file: string): Set<string> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new CliFailure(`cannot read --tokens file ${file}: ${(err as Error).message}`);
  }
  const tokens = new Set(
    text
      .split(/\r?\n/)
      .map((l) => l.replace(/#.*/, '').trim())
      .filter(Boolean),
  );
  if (!tokens.size) throw new CliFailure(`--tokens file ${file} holds no tokens`);
  return tokens;
}

export async function runRelay(cmd: Extract<Command, { name: 'relay' }>): Promise<number> {
  const out = new Output(cmd.json);
  const tokens = cmd.tokensFile ? readTokens(cmd.tokensFile) : null;
  let tls: { cert: Buffer; key: Buffer } | null = null;
  if (cmd.cert && cmd.key) {
    try {
      tls = { cert: readFileSync(cmd.cert), key: readFileSync(cmd.key) };
    } catch (err) {
      throw new CliFailure(`cannot read certificate or key: ${(err as Error).message}`);
    }
  }
  let secret = '';
  if (cmd.cluster) {
    try {
      secret = readFileSync(cmd.cluster.secretFile, 'utf8').trim();
    } catch (err) {
      throw new CliFailure(`cannot read --cluster-secret-file ${cmd.cluster.secretFile}: ${(err as Error).message}`);
    }
    if (secret.length < 16)
      throw new CliFailure(
        `--cluster-secret-file ${cmd.cluster.secretFile} must hold a secret of 16 characters or more`,
      );
  }
  let relay: RelayServer;
  try {
    relay = new RelayServer({
      port: cmd.port,
      bind: cmd.bind,
      domain: cmd.domain ?? null,
      tokens,
      trustProxy: cmd.trustProxy,
      defaultHost: cmd.defaultHost ?? null,
      tcpPorts: cmd.tcpPorts,
      ggrok: cmd.ggrok,
      tls,
      publicPort: cmd.publicPort,
      publicScheme: cmd.publicScheme,
      cluster: cmd.cluster ? { redisUrl: cmd.cluster.redisUrl, nodeUrl: cmd.cluster.nodeUrl, secret } : null,
      log: (line) => out.info(line, { event: 'log', line }),
    });
  } catch (err) {
    throw new CliFailure((err as Error).message, EXIT.usage);
  }
  await listenOrExplain(relay, cmd.port, cmd.bind);
  if (!tokens) out.warn('Open relay: any token may claim any free host (use --tokens FILE to restrict).');
  const shown = cmd.bind.includes(':') ? `[${cmd.bind}]` : cmd.bind;
  out.info(`Listening on ${tls ? 'https' : 'http'}://${shown}:${relay.port}`, {
    event: 'listening',
    port: relay.port,
    bind: cmd.bind,
  });
  const node = relay.clusterNode;
  if (node) {
    out.info(
      `Cluster node ${node.id} at ${node.url}, Redis ${cmd.cluster!.redisUrl} ${node.redisReachable ? 'reachable' : 'unreachable (serving local workers only until it is back)'}`,
      { event: 'cluster', node: node.id, url: node.url, redis: node.redisReachable },
    );
  }
  return new Promise<number>((resolve) => {
    const stop = (): void => {
      out.warn('Stopping: answering visitors in flight...');
      void relay.close(5000).then(() => resolve(EXIT.ok));
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
}
