// The typed API between any UI and the engine: every command with the schema of its payload and the
// type of its answer, and every event pushed to the UI. The Electron shell binds it to ipcMain.handle
// plus one push channel; the headless inspector binds the same contract to a WebSocket. This module is
// compiled into the renderer too (tsconfig.web.json): zod, the engine's profile schema (written to run
// in a browser) and plain types; no electron, no node:*.
import { z } from 'zod';
import { ProfileDraftSchema, type Profile } from '../engine/profile.ts';
import type {
  PhaseState,
  RequestSummary,
  TunnelCounters,
  TunnelPhase,
  TunnelSnapshot,
  UnreadableProfile,
} from '../engine/shapes.ts';
import {
  isWebUrl,
  type CommandChannel,
  type DomainOf,
  type EventName,
  type MethodOf,
  type ShellChannel,
} from './channels.ts';

export { COMMAND_CHANNELS, EVENT_NAMES, SHELL_CHANNELS, PUSH_CHANNEL, isWebUrl, methodPath } from './channels.ts';
export type { CommandChannel, EventName, ShellChannel } from './channels.ts';

// ---------------------------------------------------------------------------------------------------
// Results

/** Why a command did not do what it was asked; `message` is meant for a person. */
export type ErrorCode =
  /** The payload failed its schema. */
  | 'invalid-payload'
  /** The call came from a frame that is not the app's own page. */
  | 'forbidden'
  /** No tunnel, profile or request with that id. */
  | 'not-found'
  /** The profile is not valid (the engine's schema says why). */
  | 'invalid-profile'
  /** The operation conflicts with the current state (e.g. a duplicate id). */
  | 'conflict'
  /** The engine cannot do this (yet). */
  | 'not-implemented'
  /** The thing needed is gone or not kept (e.g. a request body too large to replay). */
  | 'unavailable'
  /** The app is quitting and accepts no new work. */
  | 'shutting-down'
  /** Anything unexpected; the message says what. */
  | 'internal';

/** An expected failure, carried as a value (a thrown error loses all but its message over IPC). */
export interface CommandError {
  code: ErrorCode;
  message: string;
}

/** The answer of every command. */
export type Result<T> = { ok: true; value: T } | { ok: false; error: CommandError };

/** A successful result. */
export function ok<T>(value: T): Result<T> {
  return { ok: true, value };
}

/** A failed result. */
export function fail(code: ErrorCode, message: string): { ok: false; error: CommandError } {
  return { ok: false, error: { code, message } };
}

// ---------------------------------------------------------------------------------------------------
// Values the engine sends

/** A tunnel's phase, with what a person needs to know about it (the engine's own type). */
export type TunnelPhaseState = PhaseState;

/** One of `stopped | starting | online | reconnecting | failed`. */
export type { TunnelPhase };

export type { AggregateStatus } from '../engine/shapes.ts';

/** Live numbers of a tunnel (the engine's own type). */
export type { TunnelCounters };

/** What a UI shows about a tunnel: the engine's snapshot and whether it starts with Porthole. */
export interface TunnelView extends TunnelSnapshot {
  /** Started when Porthole starts. */
  autoStart: boolean;
}

/** A saved tunnel: the engine's `Profile` (src-main/engine/profile.ts), validated by its `ProfileSchema`. */
export type ProfileData = Profile;

export { SAVED_SECRET } from './channels.ts';

/** The path of one secret in a profile: the relay token, or the password of a basic-auth entry. */
export const SecretPathSchema = z.string().regex(/^(relay\.token|access\.basicAuth\.\d{1,3}\.password)$/);

/** The ids of the ready-made profiles. */
export type PresetId = 'public-fpw' | 'local-demo';

/** A ready-made starting point for a profile. */
export interface ProfilePreset {
  id: PresetId;
  /** The relay URL the preset uses (`https://{host}/` for the public FPW relay); null: the embedded relay. */
  relayUrl: string | null;
  /** The domain generated hosts live under (`28820.com` for the public relay, `localhost` for the demo). */
  domain: string;
  /** Whether creating it needs the local service's address (`target`). */
  needsTarget: boolean;
  /** Whether it works without any network (the embedded relay and demo site). */
  offline: boolean;
}

/** Outcome of an import. */
export interface ImportResult {
  imported: ProfileData[];
  /** Entries that were not imported, with the reason. */
  skipped: Array<{ index: number; name: string | null; reason: string }>;
  /**
   * How many imported profiles came without their secrets (an export leaves them out) and were given
   * new ones: a new relay token, and a random password for each basic-auth user (the tunnel stays
   * locked until the owner sets the password again).
   */
  secretsGenerated: number;
}

/** A file the UI offers to save (the UI writes it: a download in a browser, a save dialog in the app). */
export interface ExportedFile {
  fileName: string;
  mimeType: string;
  text: string;
}

/** What a request list shows; pushed to the UI in batches (the engine's own summary). */
export type RequestSummaryView = RequestSummary;

/** The start of a body, base64, and its real size. */
export interface BodyView {
  base64: string;
  /** The body's real size in bytes. */
  size: number;
  /** True when `base64` holds less than the whole body. */
  truncated: boolean;
}

/** One WebSocket message as the log keeps it: who sent it, its kind, its real size and its first bytes. */
export interface WsMessageView {
  /** The visitor (to the local service) or the local service (to the visitor). */
  from: 'visitor' | 'upstream';
  kind: 'text' | 'binary' | 'close' | 'ping' | 'pong';
  /** When it had passed whole (ms since the epoch). */
  at: number;
  /** The message's real size in bytes (a close message's: its code and reason). */
  size: number;
  /** Its first bytes, base64 (as bodies are). */
  base64: string;
  /** True when `base64` holds less than the whole message. */
  truncated: boolean;
}

/** What passed one way in a WebSocket session. */
export interface WsDirectionView {
  /** Data messages (text and binary). */
  messages: number;
  /** Bytes on the wire, frame headers included. */
  bytes: number;
  /** The code of the close message this side sent, if it sent one. */
  closeCode: number | null;
}

/** A visitor's WebSocket session (a record with status 101): its traffic both ways and its last messages. */
export interface WebSocketView {
  fromVisitor: WsDirectionView;
  fromUpstream: WsDirectionView;
  /** The last messages both ways, oldest first. */
  last: WsMessageView[];
}

/** Everything kept about one request, fetched by id when a person opens it. */
export interface RequestDetail extends RequestSummaryView {
  requestHeaders: Array<[string, string]>;
  responseHeaders: Array<[string, string]>;
  requestBody: BodyView;
  responseBody: BodyView;
  /** Whether the whole request body was kept, so that it can be replayed. */
  replayable: boolean;
  /** For a visitor's WebSocket session: what passed each way, the close codes and the last messages. */
  websocket?: WebSocketView;
}

/** How secrets (relay tokens, passwords) are kept on this machine. */
export interface SecretStorageInfo {
  /** True when secrets are encrypted by the OS (Keychain, DPAPI, libsecret, KWallet). */
  encrypted: boolean;
  /** What keeps them: e.g. `keychain`, `dpapi`, `gnome_libsecret`, `basic_text` (clear), `file` (headless). */
  backend: string;
}

/** What the UI learns about the app it runs in. */
export interface AppInfo {
  name: 'Porthole';
  version: string;
  /** `process.platform` of the engine's process. */
  platform: string;
  /** `electron` in the desktop app, `headless` for the browser inspector. */
  shell: 'electron' | 'headless';
  versions: { electron: string | null; chrome: string | null; node: string };
  /** Where secrets are kept; `encrypted: false` deserves a warning in the UI. */
  secrets: SecretStorageInfo;
  /** True on the first run, when the offline demo profile was just created (offer the public relay preset). */
  firstRun: boolean;
  /** Stored profiles that could not be opened (kept in the file untouched), each with why. */
  unreadableProfiles: UnreadableProfile[];
}

// ---------------------------------------------------------------------------------------------------
// Settings

/** UI languages. */
export const LanguageSchema = z.enum(['en', 'zh-CN']);
/** Colour themes. */
export const ThemeSchema = z.enum(['system', 'light', 'dark']);

/** The app's settings. */
export const SettingsSchema = z.object({
  /** Language of the tray menu, notifications and UI. @default 'en' (zh-CN on first run where the system prefers Chinese) */
  language: LanguageSchema.default('en'),
  /** Start Porthole (hidden, in the tray) when the user logs in. @default false */
  launchAtLogin: z.boolean().default(false),
  /** Notify when a tunnel comes online, drops or fails. @default true */
  notifications: z.boolean().default(true),
  /** @default 'system' */
  theme: ThemeSchema.default('system'),
});

/** The app's settings. */
export type Settings = z.output<typeof SettingsSchema>;
/** A language of the UI. */
export type Language = z.output<typeof LanguageSchema>;

/** Some settings to change; the others keep their values. */
export const SettingsPatchSchema = z.strictObject({
  language: LanguageSchema.optional(),
  launchAtLogin: z.boolean().optional(),
  notifications: z.boolean().optional(),
  theme: ThemeSchema.optional(),
});

// ---------------------------------------------------------------------------------------------------
// Payload schemas

const Id = z.string().min(1).max(64);
const NoPayload = z.undefined();

/**
 * A profile as a UI sends it: the engine's `ProfileSchema`, checked whole at the boundary, except that
 * `id` is generated when absent, a missing relay `host` is generated under the relay's domain, and a
 * missing `token` is generated (create) or kept (update).
 */
export { ProfileDraftSchema };

/** A profile as a UI sends it (see {@link ProfileDraftSchema}). */
export type ProfileDraft = z.input<typeof ProfileDraftSchema>;

const TunnelRef = z.strictObject({ tunnelId: Id });
const RequestRef = z.strictObject({ tunnelId: Id, id: z.string().min(1).max(64) });

/** The payload schema of every command. */
export const commandSchemas = {
  'app:info': NoPayload,
  'tunnels:list': NoPayload,
  'tunnels:start': z.strictObject({ id: Id }),
  'tunnels:stop': z.strictObject({ id: Id }),
  'tunnels:start-all': NoPayload,
  'tunnels:stop-all': NoPayload,
  'profiles:list': NoPayload,
  'profiles:presets': NoPayload,
  'profiles:create': z.strictObject({ profile: ProfileDraftSchema }),
  'profiles:create-from-preset': z.strictObject({
    preset: z.enum(['public-fpw', 'local-demo']),
    /** The local service, e.g. `http://127.0.0.1:3000` or `3000` (needed by `public-fpw`). */
    target: z.string().min(1).max(2048).optional(),
    name: z.string().min(1).max(100).optional(),
  }),
  'profiles:update': z.strictObject({ id: Id, profile: ProfileDraftSchema }),
  'profiles:delete': z.strictObject({ id: Id }),
  'profiles:duplicate': z.strictObject({ id: Id }),
  'profiles:import': z.strictObject({ text: z.string().max(5 * 1024 * 1024) }),
  'profiles:secret': z.strictObject({ id: Id, path: SecretPathSchema }),
  'profiles:export': z.strictObject({
    /** Which profiles; all when absent. */
    ids: z.array(Id).max(1000).optional(),
    /** Include relay tokens and passwords. @default false */
    includeSecrets: z.boolean().optional(),
  }),
  'requests:list': TunnelRef,
  'requests:get': RequestRef,
  'requests:clear': TunnelRef,
  'requests:replay': z.strictObject({
    tunnelId: Id,
    id: z.string().min(1).max(64),
    /** Changes to the request before it is sent again. */
    edit: z
      .strictObject({
        method: z
          .string()
          .regex(/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/)
          .max(32)
          .optional(),
        /** Path and query, starting with `/`. */
        path: z.string().startsWith('/').max(8192).optional(),
        /** Replaces all request headers. */
        headers: z
          .array(z.tuple([z.string().min(1).max(256), z.string().max(16_384)]))
          .max(500)
          .optional(),
        /** Replaces the body (base64). */
        bodyBase64: z
          .base64()
          .max(64 * 1024 * 1024)
          .optional(),
      })
      .optional(),
  }),
  'requests:export-har': z.strictObject({ tunnelId: Id, ids: z.array(z.string().max(64)).max(10_000).optional() }),
  'settings:get': NoPayload,
  'settings:set': SettingsPatchSchema,
} satisfies Record<CommandChannel, z.ZodType>;

/** What every command answers with (inside its {@link Result}). */
export interface CommandResults {
  'app:info': AppInfo;
  'tunnels:list': TunnelView[];
  'tunnels:start': TunnelView;
  'tunnels:stop': TunnelView;
  'tunnels:start-all': TunnelView[];
  'tunnels:stop-all': TunnelView[];
  'profiles:list': ProfileData[];
  'profiles:presets': ProfilePreset[];
  'profiles:create': ProfileData;
  'profiles:create-from-preset': ProfileData;
  'profiles:update': ProfileData;
  'profiles:delete': { deleted: boolean };
  'profiles:duplicate': ProfileData;
  'profiles:import': ImportResult;
  'profiles:secret': string;
  'profiles:export': ExportedFile;
  'requests:list': RequestSummaryView[];
  'requests:get': RequestDetail;
  'requests:clear': null;
  'requests:replay': RequestSummaryView;
  'requests:export-har': ExportedFile;
  'settings:get': Settings;
  'settings:set': Settings;
}

/** The payload schemas of the bridge's own capabilities (http(s) URLs only). */
export const shellSchemas = {
  'shell:copy-text': z.strictObject({ text: z.string().refine(isWebUrl, 'only http(s) URLs are copied') }),
  'shell:open-external': z.strictObject({ url: z.string().refine(isWebUrl, 'only http(s) URLs are opened') }),
} satisfies Record<ShellChannel, z.ZodType>;

/** What every pushed event carries. */
export interface EventPayloads {
  /** One tunnel's phase or URL changed. */
  'tunnels:status-changed': TunnelView;
  /** Tunnels were added, removed or renamed: the whole list. */
  'tunnels:changed': TunnelView[];
  /** Requests that finished since the last batch, oldest first (a few batches a second at most). */
  'requests:batch': RequestSummaryView[];
  /** Profiles were created, changed or deleted: the whole list. */
  'profiles:changed': ProfileData[];
  /** The settings changed (from the UI or the tray). */
  'settings:changed': Settings;
}

/** A pushed event as it travels on the push channel. */
export type PushMessage = { [E in EventName]: { event: E; payload: EventPayloads[E] } }[EventName];

// Both lists of names and both maps of types must agree; the compiler says where they do not.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const _resultsCoverCommands: Same<keyof CommandResults, CommandChannel> = true;
const _eventsCoverNames: Same<keyof EventPayloads, EventName> = true;
void _resultsCoverCommands;
void _eventsCoverNames;

/** The payload a caller sends with a command. */
export type CommandPayload<C extends CommandChannel> = z.input<(typeof commandSchemas)[C]>;
/** The payload a handler receives, after its schema (defaults applied). */
export type CommandArgs<C extends CommandChannel> = z.output<(typeof commandSchemas)[C]>;
/** What a command answers with. */
export type CommandResult<C extends CommandChannel> = Result<CommandResults[C]>;

/** An implementation of every command: the engine-facing service. */
export type CommandHandlers = { [C in CommandChannel]: (payload: CommandArgs<C>) => Promise<CommandResult<C>> };

/** The payload of a bridge capability. */
export type ShellArgs<S extends ShellChannel> = z.output<(typeof shellSchemas)[S]>;
/** The bridge's own capabilities, done by the Electron main process. */
export type ShellHandlers = { [S in ShellChannel]: (payload: ShellArgs<S>) => Promise<Result<null>> };

type BridgeMethod<C extends CommandChannel> =
  undefined extends CommandPayload<C>
    ? () => Promise<CommandResult<C>>
    : (payload: CommandPayload<C>) => Promise<CommandResult<C>>;

/** `window.api.<domain>.<method>()`: one method per command, e.g. `api.tunnels.startAll()`. */
export type BridgeCommands = {
  [D in DomainOf<CommandChannel>]: {
    [C in CommandChannel as DomainOf<C> extends D ? MethodOf<C> : never]: BridgeMethod<C>;
  };
};

/** What the page gets as `window.api` (Electron) or from the WebSocket bridge (browser). */
export type Bridge = BridgeCommands & {
  /** Subscribes to a pushed event; returns the function that unsubscribes. */
  on<E extends EventName>(event: E, listener: (payload: EventPayloads[E]) => void): () => void;
  /** Writes an http(s) URL to the clipboard. */
  copyText(url: string): Promise<Result<null>>;
  /** Opens an http(s) URL in the default browser. */
  openExternal(url: string): Promise<Result<null>>;
};
