// The offline demo: Porthole's own relay on 127.0.0.1 (domain `localhost`, so that the public URL is
// `http://<words>.localhost:<port>/`, which browsers resolve to this machine) and the demo site, the
// same pair `porthole demo` runs. Started when the demo tunnel first needs it, closed at quit.
import { generateHost, randomToken, type ProfileInput } from '../engine/profile.ts';
import type { RelayServer } from '../relay/RelayServer.ts';
import { DEMO_PROFILE_ID } from './profile-io.ts';

export interface DemoEnvironmentOptions {
  /** The address the relay listens on. @default '127.0.0.1' */
  bind?: string;
  /** The relay's port, exactly (0 or none: the preferred one, else a free one). */
  port?: number;
  /** The relay port used last time, tried first so that the demo URL stays the same. */
  preferredRelayPort?: number | undefined;
  /** Called with the relay's port once it listens, to remember it. */
  onRelayPort?: (port: number) => void;
}

/** Where the demo's pieces listen. */
export interface DemoAddresses {
  /** The embedded relay's poll URL, e.g. `http://127.0.0.1:40123/`. */
  relayUrl: string;
  /** The demo site, e.g. `http://127.0.0.1:40999`. */
  siteUrl: string;
  /** The port the relay listens on. */
  relayPort: number;
}

/** The embedded relay and demo site, started once on demand. */
export class DemoEnvironment {
  readonly #opts: DemoEnvironmentOptions;
  #running: Promise<{ relay: RelayServer; site: { url: string; close(): Promise<void> } }> | null = null;
  #closed = false;

  constructor(opts: DemoEnvironmentOptions = {}) {
    this.#opts = opts;
  }

  /** True once started (and until closed). */
  get started(): boolean {
    return this.#running !== null;
  }

  /** Starts the relay (routing unknown hosts to `host`) and the site if needed; resolves with their addresses. */
  async ensure(host: string): Promise<DemoAddresses> {
    if (this.#closed) throw new Error('the demo relay is shut down');
    this.#running ??= this.#start(host).catch((err: unknown) => {
      this.#running = null;
      throw err;
    });
    const { relay, site } = await this.#running;
    return { relayUrl: `${relay.url}/`, siteUrl: site.url, relayPort: relay.port };
  }

  async #start(host: string): Promise<{ relay: RelayServer; site: { url: string; close(): Promise<void> } }> {
    // Loaded when the demo first runs: a plain tunnel (and the app until then) carries neither.
    const [{ RelayServer }, { startDemoSite }] = await Promise.all([
      import('../relay/RelayServer.ts'),
      import('./demo-site.ts'),
    ]);
    const make = (port: number): RelayServer =>
      new RelayServer({ port, bind: this.#opts.bind ?? '127.0.0.1', domain: 'localhost', defaultHost: host });
    let relay = make(this.#opts.port || this.#opts.preferredRelayPort || 0);
    try {
      await relay.listen();
    } catch (err) {
      if (this.#opts.port || !this.#opts.preferredRelayPort) throw err;
      // The port of last time is taken: any free port will do, the demo URL changes.
      relay = make(0);
      await relay.listen();
    }
    this.#opts.onRelayPort?.(relay.port);
    const site = await startDemoSite();
    return { relay, site };
  }

  /** Closes the relay (requests in flight get `graceMs`) and the site. */
  async close(graceMs = 1000): Promise<void> {
    this.#closed = true;
    const running = await this.#running?.catch(() => null);
    this.#running = null;
    if (!running) return;
    await running.relay.close(graceMs);
    await running.site.close();
  }
}

/** A new host for the demo tunnel, under `localhost`. */
export function demoHost(): string {
  return generateHost('localhost');
}

/**
 * The embedded relay's URL for a transport: its WebSocket (ws://) or its long-poll (http://)
 * endpoint. It serves both; ggrok is not enabled on it.
 */
export function demoRelayUrl(addresses: DemoAddresses, kind: string): string {
  return kind === 'ws' ? addresses.relayUrl.replace(/^http/, 'ws') : addresses.relayUrl;
}

/**
 * The first-run profile: a tunnel from the embedded relay to the demo site, over the WebSocket
 * transport so that the demo page's WebSocket echo works too.
 */
export function demoProfile(addresses: DemoAddresses, host: string, name: string): ProfileInput {
  return {
    id: DEMO_PROFILE_ID,
    name,
    relay: { kind: 'ws', url: demoRelayUrl(addresses, 'ws'), host, token: randomToken() },
    upstream: { kind: 'http', target: addresses.siteUrl },
    autoStart: false,
  };
}
