// The Bridge over the headless inspector's WebSocket (src-main/cli/inspector/InspectorServer.ts):
// the page sends `{ id, command, payload }` and gets `{ id, result }`; pushed events arrive as
// `{ event, payload }`. It reconnects with back-off, and after a reconnection (or a first connection
// that came after calls had given up waiting) it replays the current state as events (tunnels,
// profiles, settings, each tunnel's requests), so that the UI, which knows only the Bridge, catches
// up on what it missed. Copy and Open are the page's own: the clipboard API
// and a new tab.
import { COMMAND_CHANNELS, isWebUrl, methodPath } from '../src-main/ipc/channels.ts';
import type {
  Bridge,
  BridgeCommands,
  CommandChannel,
  CommandPayload,
  CommandResult,
  EventName,
  EventPayloads,
  Result,
} from '../src-main/ipc/contract.ts';

export type ConnectionState = 'connecting' | 'open' | 'closed';

export interface WsBridgeOptions {
  /** `ws(s)://host/bridge?token=...`. */
  url: string;
  /** For tests. @default globalThis.WebSocket */
  WebSocket?: typeof WebSocket;
  /** How long a command waits for the link when it is down, ms. @default 15000 */
  queueTimeoutMs?: number;
  /** Back-off between reconnections: doubles from `minMs` to `maxMs`, with full jitter. */
  backoff?: { minMs: number; maxMs: number };
}

/** A Bridge that also tells the state of its link and can be closed. */
export type WsBridge = Bridge & {
  readonly connection: {
    readonly state: ConnectionState;
    subscribe(listener: (state: ConnectionState) => void): () => void;
  };
  close(): void;
};

/** The bridge URL for the page this runs in: the token rides in the fragment (`#token=...`). */
export function inspectorBridgeUrl(location: Pick<Location, 'protocol' | 'host' | 'hash'>): string | null {
  const token = new URLSearchParams(location.hash.replace(/^#/, '')).get('token');
  if (!token) return null;
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${scheme}//${location.host}/bridge?token=${encodeURIComponent(token)}`;
}

const failure = (code: 'unavailable' | 'invalid-payload' | 'internal', message: string) =>
  ({ ok: false, error: { code, message } }) as const;

interface Pending {
  resolve(result: Result<unknown>): void;
  /** The serialised call, kept until it is sent. */
  frame: string;
  sent: boolean;
  timer: ReturnType<typeof setTimeout> | null;
}

type Listener = (payload: never) => void;

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null;
}

function isResult(v: unknown): v is Result<unknown> {
  return isObject(v) && typeof v['ok'] === 'boolean';
}

export function createWsBridge(opts: WsBridgeOptions): WsBridge {
  const Socket = opts.WebSocket ?? globalThis.WebSocket;
  const queueTimeoutMs = opts.queueTimeoutMs ?? 15_000;
  const backoff = opts.backoff ?? { minMs: 250, maxMs: 5000 };
  const listeners = new Map<string, Set<Listener>>();
  const stateListeners = new Set<(state: ConnectionState) => void>();
  const pending = new Map<number, Pending>();
  let nextId = 1;
  let socket: WebSocket | null = null;
  let state: ConnectionState = 'connecting';
  let attempt = 0;
  let everOpen = false;
  /** A call gave up waiting for the link: what it would have loaded is loaded again once the link is up. */
  let missed = false;
  let closed = false;
  let retryTimer: ReturnType<typeof setTimeout> | null = null;

  const setState = (next: ConnectionState): void => {
    if (state === next) return;
    state = next;
    for (const l of stateListeners) l(next);
  };

  const emit = <E extends EventName>(event: E, payload: EventPayloads[E]): void => {
    for (const l of listeners.get(event) ?? []) {
      try {
        (l as (p: EventPayloads[E]) => void)(payload);
      } catch (err) {
        // One listener that throws must not keep the event from the others.
        console.error(err);
      }
    }
  };

  const flush = (): void => {
    if (!socket || socket.readyState !== Socket.OPEN) return;
    for (const p of pending.values()) {
      if (p.sent) continue;
      socket.send(p.frame);
      p.sent = true;
      if (p.timer) clearTimeout(p.timer);
      p.timer = null;
    }
  };

  const onMessage = (data: unknown): void => {
    if (typeof data !== 'string') return;
    let msg: unknown;
    try {
      msg = JSON.parse(data);
    } catch {
      return;
    }
    if (!isObject(msg)) return;
    if (typeof msg['id'] === 'number') {
      const p = pending.get(msg['id']);
      if (!p) return;
      pending.delete(msg['id']);
      p.resolve(isResult(msg['result']) ? msg['result'] : failure('internal', 'malformed answer from the inspector'));
    } else if (typeof msg['event'] === 'string') {
      for (const l of listeners.get(msg['event']) ?? []) {
        try {
          (l as (p: unknown) => void)(msg['payload']);
        } catch (err) {
          console.error(err);
        }
      }
    }
  };

  const call = <C extends CommandChannel>(command: C, payload: CommandPayload<C>): Promise<CommandResult<C>> => {
    if (closed) return Promise.resolve(failure('unavailable', 'the bridge is closed'));
    const id = nextId++;
    return new Promise<CommandResult<C>>((resolve) => {
      const p: Pending = {
        resolve: resolve as (r: Result<unknown>) => void,
        frame: JSON.stringify(payload === undefined ? { id, command } : { id, command, payload }),
        sent: false,
        timer: null,
      };
      pending.set(id, p);
      if (socket && socket.readyState === Socket.OPEN) flush();
      else {
        p.timer = setTimeout(() => {
          if (pending.get(id) !== p || p.sent) return;
          pending.delete(id);
          missed = true;
          p.resolve(failure('unavailable', 'not connected to the Porthole inspector'));
        }, queueTimeoutMs);
      }
    });
  };

  /** After a reconnection: the state as it is now, as events. */
  const resync = async (): Promise<void> => {
    const [tunnels, profiles, settings] = await Promise.all([
      call('tunnels:list', undefined),
      call('profiles:list', undefined),
      call('settings:get', undefined),
    ]);
    if (settings.ok) emit('settings:changed', settings.value);
    if (profiles.ok) emit('profiles:changed', profiles.value);
    if (!tunnels.ok) return;
    emit('tunnels:changed', tunnels.value);
    for (const t of tunnels.value) {
      const requests = await call('requests:list', { tunnelId: t.id });
      if (requests.ok && requests.value.length) emit('requests:batch', requests.value);
    }
  };

  const scheduleReconnect = (): void => {
    if (closed || retryTimer) return;
    const cap = Math.min(backoff.maxMs, backoff.minMs * 2 ** Math.min(attempt, 16));
    attempt += 1;
    retryTimer = setTimeout(
      () => {
        retryTimer = null;
        connect();
      },
      Math.round(Math.random() * cap),
    );
  };

  const connect = (): void => {
    if (closed) return;
    setState('connecting');
    let ws: WebSocket;
    try {
      ws = new Socket(opts.url);
    } catch {
      scheduleReconnect();
      return;
    }
    socket = ws;
    ws.addEventListener('open', () => {
      if (socket !== ws) return;
      attempt = 0;
      const catchUp = everOpen || missed;
      everOpen = true;
      missed = false;
      setState('open');
      flush();
      if (catchUp) void resync();
    });
    ws.addEventListener('message', (e: MessageEvent) => {
      if (socket === ws) onMessage(e.data);
    });
    ws.addEventListener('close', () => {
      if (socket !== ws) return;
      socket = null;
      // Calls sent on this link may or may not have run: they fail, and say so. Calls not yet sent wait.
      for (const [id, p] of pending) {
        if (!p.sent) continue;
        pending.delete(id);
        p.resolve(failure('unavailable', 'the link to the Porthole inspector dropped before it answered'));
      }
      if (closed) return;
      setState('connecting');
      scheduleReconnect();
    });
  };

  const copyText = async (url: string): Promise<Result<null>> => {
    if (!isWebUrl(url)) return failure('invalid-payload', 'copyText: only http(s) URLs');
    try {
      await navigator.clipboard.writeText(url);
      return { ok: true, value: null };
    } catch (err) {
      return failure('unavailable', err instanceof Error ? err.message : String(err));
    }
  };

  const openExternal = async (url: string): Promise<Result<null>> => {
    if (!isWebUrl(url)) return failure('invalid-payload', 'openExternal: only http(s) URLs');
    // noopener: the new page gets no handle on this one (and window.open then returns null).
    window.open(url, '_blank', 'noopener,noreferrer');
    return { ok: true, value: null };
  };

  // One method per command, named as on window.api (the preload builds its api the same way).
  const commands: Record<string, Record<string, unknown>> = {};
  for (const channel of COMMAND_CHANNELS) {
    const [domain, method] = methodPath(channel);
    (commands[domain] ??= {})[method] = (payload?: unknown) => call(channel, payload as never);
  }

  const bridge: WsBridge = {
    ...(commands as unknown as BridgeCommands),
    on(event, listener) {
      let set = listeners.get(event);
      if (!set) listeners.set(event, (set = new Set()));
      const l = listener as Listener;
      set.add(l);
      return () => {
        set.delete(l);
      };
    },
    copyText,
    openExternal,
    connection: {
      get state() {
        return state;
      },
      subscribe(listener) {
        stateListeners.add(listener);
        return () => {
          stateListeners.delete(listener);
        };
      },
    },
    close() {
      closed = true;
      if (retryTimer) clearTimeout(retryTimer);
      retryTimer = null;
      const ws = socket;
      socket = null;
      ws?.close();
      for (const p of pending.values()) {
        if (p.timer) clearTimeout(p.timer);
        p.resolve(failure('unavailable', 'the bridge is closed'));
      }
      pending.clear();
      setState('closed');
    },
  };

  connect();
  return bridge;
}
