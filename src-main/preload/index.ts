// The sandboxed preload: exposes `window.api`, one method per command of the contract, `on(event, cb)`
// returning its unsubscribe function, and the bridge's own copyText/openExternal (http(s) URLs only).
// Never ipcRenderer itself, never a generic invoke(channel) (docs/architecture.md, "IPC").
// Bundled as CommonJS with the channel list inlined: it requires nothing but `electron`.
import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron';
import {
  COMMAND_CHANNELS,
  EVENT_NAMES,
  PUSH_CHANNEL,
  isWebUrl,
  methodPath,
  type ShellChannel,
} from '../ipc/channels.ts';

type Listener = (payload: unknown) => void;

const listeners = new Map<string, Set<Listener>>();
const known = new Set<string>(EVENT_NAMES);

ipcRenderer.on(PUSH_CHANNEL, (_event: IpcRendererEvent, message: { event?: unknown; payload?: unknown }) => {
  if (typeof message?.event !== 'string') return;
  for (const listener of listeners.get(message.event) ?? []) {
    try {
      listener(message.payload);
    } catch (err) {
      // One page listener that throws must not keep the event from the others.
      console.error(err);
    }
  }
});

const api: Record<string, unknown> = {};
for (const channel of COMMAND_CHANNELS) {
  const [domain, method] = methodPath(channel);
  const group = (api[domain] ??= {}) as Record<string, unknown>;
  group[method] = (payload?: unknown) => ipcRenderer.invoke(channel, payload);
}

api['on'] = (event: string, listener: Listener): (() => void) => {
  if (!known.has(event)) throw new Error(`unknown event ${String(event)}`);
  if (typeof listener !== 'function') throw new Error('on(event, listener): the listener must be a function');
  let set = listeners.get(event);
  if (!set) listeners.set(event, (set = new Set()));
  set.add(listener);
  return () => {
    set.delete(listener);
  };
};

const copyChannel: ShellChannel = 'shell:copy-text';
const openChannel: ShellChannel = 'shell:open-external';
const refused = (what: string) =>
  Promise.resolve({ ok: false, error: { code: 'invalid-payload', message: `${what}: only http(s) URLs` } });

api['copyText'] = (url: string) =>
  isWebUrl(url) ? ipcRenderer.invoke(copyChannel, { text: url }) : refused('copyText');
api['openExternal'] = (url: string) =>
  isWebUrl(url) ? ipcRenderer.invoke(openChannel, { url }) : refused('openExternal');

contextBridge.exposeInMainWorld('api', api);
