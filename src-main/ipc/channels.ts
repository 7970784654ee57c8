// The names of the contract, with no dependency at all: the sandboxed preload bundles this file and
// nothing else of the contract, so that it stays small and cannot drift from the schemas (contract.ts
// declares one schema per name here, and the compiler checks that the two lists are the same).

/** Every command a UI can send, as `domain:verb`. */
export const COMMAND_CHANNELS = [
  'app:info',
  'tunnels:list',
  'tunnels:start',
  'tunnels:stop',
  'tunnels:start-all',
  'tunnels:stop-all',
  'profiles:list',
  'profiles:presets',
  'profiles:create',
  'profiles:create-from-preset',
  'profiles:update',
  'profiles:delete',
  'profiles:duplicate',
  'profiles:import',
  'profiles:secret',
  'profiles:export',
  'requests:list',
  'requests:get',
  'requests:clear',
  'requests:replay',
  'requests:export-har',
  'settings:get',
  'settings:set',
] as const;

/**
 * What the bridge itself does for the page, not the engine: in Electron the main process does them
 * for the preload (a sandboxed preload has no clipboard and no shell); in a browser the page does.
 */
export const SHELL_CHANNELS = ['shell:copy-text', 'shell:open-external'] as const;

/** Every event pushed to the UI. */
export const EVENT_NAMES = [
  'tunnels:status-changed',
  'tunnels:changed',
  'requests:batch',
  'profiles:changed',
  'settings:changed',
] as const;

/** The one IPC channel every pushed event travels on, as `{ event, payload }`. */
export const PUSH_CHANNEL = 'porthole:event';

export type CommandChannel = (typeof COMMAND_CHANNELS)[number];
export type ShellChannel = (typeof SHELL_CHANNELS)[number];
export type EventName = (typeof EVENT_NAMES)[number];

type Camel<S extends string> = S extends `${infer Head}-${infer Tail}` ? `${Head}${Capitalize<Camel<Tail>>}` : S;

/** The domain of a channel: `tunnels` for `tunnels:start-all`. */
export type DomainOf<C extends string> = C extends `${infer D}:${string}` ? D : never;
/** The bridge method of a channel: `startAll` for `tunnels:start-all`. */
export type MethodOf<C extends string> = C extends `${string}:${infer V}` ? Camel<V> : never;

/** Where a command lives on `window.api`: `tunnels:start-all` is `api.tunnels.startAll`. */
export function methodPath<C extends CommandChannel>(channel: C): [DomainOf<C>, MethodOf<C>] {
  const [domain, verb] = channel.split(':') as [string, string];
  const method = verb.replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase());
  return [domain as DomainOf<C>, method as MethodOf<C>];
}

/** True for an `http:` or `https:` URL, the only URLs the bridge copies or opens. */
export function isWebUrl(value: unknown): value is string {
  if (typeof value !== 'string' || value.length > 2048) return false;
  try {
    const u = new URL(value);
    return (u.protocol === 'http:' || u.protocol === 'https:') && u.username === '' && u.password === '';
  } catch {
    return false;
  }
}

/**
 * What stands for a saved token or password in a profile a UI receives: the secret itself stays in
 * the main process until the person asks to see it (`profiles:secret`), and a profile saved back with
 * this mark keeps the secret it stands for.
 */
export const SAVED_SECRET = '\u2063saved\u2063';
