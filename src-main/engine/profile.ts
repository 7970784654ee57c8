import { z } from 'zod';
import { fiveWordLabel, isValidHostName, randomToken } from '../protocol/host-words.ts';
import { isCidr } from '../protocol/ip.ts';

/** The public FPW relay: polls go to the tunnel's own host, hosts live under this domain. */
export const PUBLIC_FPW_RELAY = { url: 'https://{host}/', domain: '28820.com' } as const;

/** A URL of one of `schemes` (`{host}` may stand for the host). */
const urlOf = (what: string, schemes: readonly string[]) =>
  z.string().refine(
    (s) => {
      try {
        const u = new URL(s.replaceAll('{host}', 'example.com'));
        return schemes.includes(u.protocol);
      } catch {
        return false;
      }
    },
    // "an http:// or https:// URL", "a ws:// or wss:// URL"
    {
      message: `${what} must be ${/^h/.test(schemes[0]!) ? 'an' : 'a'} ${schemes.map((p) => `${p}//`).join(' or ')} URL`,
    },
  );

const claimFields = {
  /** The full public host name, e.g. `moon-flower-snake-red-apple.28820.com`. */
  host: z
    .string()
    .transform((s) => s.trim().toLowerCase())
    .refine(isValidHostName, { message: 'host must be a host name such as my-app.example.com' }),
  /** The secret that claims the host. */
  token: z.string().min(1, 'token is required').max(512),
};

/** An FPW relay: long-polls over HTTP(S). */
const FpwRelaySchema = z.object({
  kind: z.literal('fpw'),
  /** Poll URL; `{host}` stands for the host. @default 'https://{host}/' (the public FPW relay) */
  url: urlOf('relay URL', ['http:', 'https:']).default(PUBLIC_FPW_RELAY.url),
  ...claimFields,
});

/** Porthole's relay over one multiplexed WebSocket. */
const WsRelaySchema = z.object({
  kind: z.literal('ws'),
  /** The relay's address, `ws://` or `wss://` (the tunnel path is added when the URL has none). */
  url: urlOf('relay URL', ['ws:', 'wss:']),
  ...claimFields,
});

/** An unchanged ggrok server (github.com/onyas/ggrok): one WebSocket, one request at a time, no token. */
const GgrokRelaySchema = z.object({
  kind: z.literal('ggrok'),
  /** The ggrok server, `ws://` or `wss://` (its `/$$ggrok` path is added). */
  url: urlOf('relay URL', ['ws:', 'wss:']),
  ...claimFields,
});

/** Where a tunnel connects, how (the transport: `kind`), and what it claims there. */
export const RelaySchema = z.discriminatedUnion('kind', [FpwRelaySchema, WsRelaySchema, GgrokRelaySchema]);

/** The relay of a draft: host and token may be left for the main process to fill. */
const RelayDraftSchema = z.discriminatedUnion('kind', [
  FpwRelaySchema.partial({ host: true, token: true }),
  WsRelaySchema.partial({ host: true, token: true }),
  GgrokRelaySchema.partial({ host: true, token: true }),
]);

/** The transports a profile may use, by the relay's kind. */
export type RelayKind = z.output<typeof RelaySchema>['kind'];

const absolutePath = (what: string) =>
  z
    .string()
    .trim()
    .refine((s) => s.startsWith('/') || /^[A-Za-z]:[\\/]/.test(s), { message: `${what} must be an absolute path` });

/** The local service a tunnel forwards to. */
export const UpstreamSchema = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('http'),
    /** e.g. `http://127.0.0.1:3000` or `https://localhost:8443`. */
    target: urlOf('upstream', ['http:', 'https:']),
    /** Accept an https:// upstream's self-signed or otherwise invalid certificate. @default false */
    insecure: z.boolean().default(false),
  }),
  z.object({
    kind: z.literal('fastcgi'),
    /** PHP-FPM: `host:port`, a bare port, or a unix socket (`/path` or `unix:/path`). */
    address: z.string().trim().min(1, 'the PHP-FPM address is required'),
    /** The document root on this machine. */
    root: absolutePath('the document root'),
    /** The front controller. @default 'index.php' */
    index: z.string().trim().min(1).default('index.php'),
    /** The document root as PHP-FPM sees it, when it runs in a container. */
    remoteRoot: absolutePath('the remote document root').optional(),
    /**
     * Serve what symbolic links in the root lead to outside it (as nginx and Apache do): anyone can
     * then read what those links point to. @default false
     */
    followSymlinks: z.boolean().default(false),
  }),
  z.object({
    kind: z.literal('folder'),
    /** The folder to share. */
    root: absolutePath('the folder'),
    /** Serve dotfiles (`.env`, `.git`). @default false */
    dotfiles: z.boolean().default(false),
    /** Show a listing page for folders without index.html. @default true */
    listing: z.boolean().default(true),
    /** Serve what symbolic links in the folder lead to outside it. @default false */
    followSymlinks: z.boolean().default(false),
  }),
  z.object({
    kind: z.literal('tcp'),
    /** The local service: `host:port` (a bare port means 127.0.0.1). Needs the WebSocket transport. */
    target: z
      .string()
      .trim()
      .refine((t) => /^(\d{1,5}|[^\s:]+:\d{1,5}|\[[0-9a-fA-F:.]+\]:\d{1,5})$/.test(t), {
        message: 'the local service must be host:port or a port',
      }),
    /** The public port to ask the relay for; none: any free one. */
    remotePort: z.int().min(1).max(65535).optional(),
  }),
]);

const cidr = z.string().trim().refine(isCidr, { message: 'must be an IP address or CIDR range such as 10.0.0.0/8' });
const headerName = z
  .string()
  .trim()
  .regex(/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/, 'must be a header name');
const headerEdit = z.object({
  add: z.array(z.object({ name: headerName, value: z.string().regex(/^[^\r\n\0]*$/, 'must be one line') })).default([]),
  remove: z.array(headerName).default([]),
});

/** Rules the worker enforces before the upstream is touched. */
export const AccessSchema = z.object({
  /** HTTP basic auth: any of these opens the tunnel. */
  basicAuth: z
    .array(
      z.object({
        user: z
          .string()
          .min(1, 'user is required')
          .regex(/^[^:]*$/, 'user cannot hold ":"'),
        password: z.string().min(1, 'password is required'),
      }),
    )
    .default([]),
  /** Visitor IPs allowed (CIDR); any entry denies everything else. */
  allow: z.array(cidr).default([]),
  /** Visitor IPs denied (CIDR); deny wins. */
  deny: z.array(cidr).default([]),
});

/** Headers added or removed on the way to the upstream and back. */
export const HeaderRulesSchema = z.object({
  request: headerEdit.default({ add: [], remove: [] }),
  response: headerEdit.default({ add: [], remove: [] }),
});

/** A saved tunnel. */
export const ProfileSchema = z.object({
  id: z.string().min(1).max(64),
  name: z.string().trim().min(1, 'name is required').max(100),
  relay: RelaySchema,
  upstream: UpstreamSchema,
  /** Concurrent long-polls, i.e. visitor requests served at once. @default 8 */
  workers: z.int().min(1).max(64).default(8),
  /** Which Host the upstream sees. @default 'upstream' */
  hostHeader: z.enum(['upstream', 'visitor']).default('upstream'),
  /** Time the upstream has to answer before the visitor gets a 504. @default 60000 */
  upstreamTimeoutMs: z.int().min(1000).max(600_000).default(60_000),
  /** Start this tunnel when Porthole starts. @default false */
  autoStart: z.boolean().default(false),
  /** Basic auth and IP rules. @default none */
  access: AccessSchema.default({ basicAuth: [], allow: [], deny: [] }),
  /** Header rules. @default none */
  headers: HeaderRulesSchema.default({ request: { add: [], remove: [] }, response: { add: [], remove: [] } }),
});

/**
 * A profile as a UI sends it (`profiles:create`, `profiles:update`): id, host and token may be left
 * for the main process to fill. The editor validates with this same schema.
 */
export const ProfileDraftSchema = ProfileSchema.extend({
  id: ProfileSchema.shape.id.optional(),
  relay: RelayDraftSchema,
});

export type Profile = z.output<typeof ProfileSchema>;
export type ProfileInput = z.input<typeof ProfileSchema>;

/** The domain under which a relay URL's generated hosts live. */
export function domainForRelay(relayUrl: string): string | null {
  if (relayUrl.includes('{host}')) return relayUrl === PUBLIC_FPW_RELAY.url ? PUBLIC_FPW_RELAY.domain : null;
  return null;
}

/** A five-word host under a domain. */
export function generateHost(domain: string): string {
  return `${fiveWordLabel()}.${domain}`;
}

/** Validates a profile, returning it with defaults applied, or the first problem in words. */
export function parseProfile(input: unknown): { ok: true; profile: Profile } | { ok: false; error: string } {
  const r = ProfileSchema.safeParse(input);
  if (r.success) return { ok: true, profile: r.data };
  const issue = r.error.issues[0]!;
  return { ok: false, error: `${issue.path.join('.') || 'profile'}: ${issue.message}` };
}

export { randomToken };
