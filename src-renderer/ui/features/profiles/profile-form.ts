// The profile editor's form: a profile as the fields hold it (strings, one line per list entry),
// the draft it turns into, and validation by the engine's own schema, with each issue pinned to the
// field it is about and named by an i18n key (so that the message follows the UI's language).
import type { z } from 'zod';
import type { ProfileData, ProfileDraft } from '../../../../src-main/ipc/contract.ts';
import { isIpv4Literal, isIpv6Literal } from '../../../../src-main/protocol/ip.ts';
import { PUBLIC_FPW_RELAY, ProfileDraftSchema, type RelayKind } from '../../../../src-main/engine/profile.ts';

type UpstreamKind = ProfileData['upstream']['kind'];

/** The transports the editor offers, in its order. */
export const RELAY_KINDS: readonly RelayKind[] = ['fpw', 'ws', 'ggrok'];

/** A row of two fields (basic-auth user and password, header name and value); `key` keeps React's rows apart. */
export interface PairRow {
  key: number;
  a: string;
  b: string;
}

export interface ProfileForm {
  name: string;
  /** The transport: FPW long-polls, Porthole's WebSocket, or an unchanged ggrok server. */
  relayKind: RelayKind;
  /** FPW only: the public relay or another (the other transports always name their relay). */
  relayMode: 'public' | 'custom';
  relayUrl: string;
  host: string;
  token: string;
  upstreamKind: UpstreamKind;
  target: string;
  insecure: boolean;
  fcgiAddress: string;
  fcgiRoot: string;
  fcgiIndex: string;
  fcgiRemoteRoot: string;
  folderRoot: string;
  dotfiles: boolean;
  listing: boolean;
  /** fastcgi and folder alike. */
  followSymlinks: boolean;
  /** A TCP service: `host:port` or a port. */
  tcpTarget: string;
  /** The relay's public port to ask for; empty: any free one. */
  tcpRemotePort: string;
  workers: string;
  timeoutSeconds: string;
  hostHeader: ProfileData['hostHeader'];
  autoStart: boolean;
  basicAuth: PairRow[];
  allow: string;
  deny: string;
  requestAdd: PairRow[];
  requestRemove: string;
  responseAdd: PairRow[];
  responseRemove: string;
}

let nextRowKey = 1;
export const newRow = (a = '', b = ''): PairRow => ({ key: nextRowKey++, a, b });

/** The form of a saved profile, or of a new one. */
export function formFromProfile(p: ProfileData | null): ProfileForm {
  const up = p?.upstream;
  return {
    name: p?.name ?? '',
    relayKind: p?.relay.kind ?? 'fpw',
    relayMode: !p || (p.relay.kind === 'fpw' && p.relay.url === PUBLIC_FPW_RELAY.url) ? 'public' : 'custom',
    relayUrl: p && (p.relay.kind !== 'fpw' || p.relay.url !== PUBLIC_FPW_RELAY.url) ? p.relay.url : '',
    host: p?.relay.host ?? '',
    token: p?.relay.token ?? '',
    upstreamKind: up?.kind ?? 'http',
    target: up?.kind === 'http' ? up.target : '',
    insecure: up?.kind === 'http' ? up.insecure : false,
    fcgiAddress: up?.kind === 'fastcgi' ? up.address : '',
    fcgiRoot: up?.kind === 'fastcgi' ? up.root : '',
    fcgiIndex: up?.kind === 'fastcgi' ? up.index : 'index.php',
    fcgiRemoteRoot: up?.kind === 'fastcgi' ? (up.remoteRoot ?? '') : '',
    folderRoot: up?.kind === 'folder' ? up.root : '',
    dotfiles: up?.kind === 'folder' ? up.dotfiles : false,
    listing: up?.kind === 'folder' ? up.listing : true,
    followSymlinks: up?.kind === 'fastcgi' || up?.kind === 'folder' ? up.followSymlinks : false,
    tcpTarget: up?.kind === 'tcp' ? up.target : '',
    tcpRemotePort: up?.kind === 'tcp' && up.remotePort !== undefined ? String(up.remotePort) : '',
    workers: String(p?.workers ?? 8),
    timeoutSeconds: String((p?.upstreamTimeoutMs ?? 60_000) / 1000),
    hostHeader: p?.hostHeader ?? 'upstream',
    autoStart: p?.autoStart ?? false,
    basicAuth: (p?.access.basicAuth ?? []).map((u) => newRow(u.user, u.password)),
    allow: (p?.access.allow ?? []).join('\n'),
    deny: (p?.access.deny ?? []).join('\n'),
    requestAdd: (p?.headers.request.add ?? []).map((h) => newRow(h.name, h.value)),
    requestRemove: (p?.headers.request.remove ?? []).join('\n'),
    responseAdd: (p?.headers.response.add ?? []).map((h) => newRow(h.name, h.value)),
    responseRemove: (p?.headers.response.remove ?? []).join('\n'),
  };
}

/** The non-empty lines of a text area, and the line number of each (for messages). */
function lines(text: string): { values: string[]; lineOf: number[] } {
  const values: string[] = [];
  const lineOf: number[] = [];
  text.split('\n').forEach((line, i) => {
    const v = line.trim();
    if (!v) return;
    values.push(v);
    lineOf.push(i + 1);
  });
  return { values, lineOf };
}

function optionalNumber(s: string, scale = 1): number | undefined {
  const v = s.trim();
  return v === '' ? undefined : Math.round(Number(v) * scale);
}

type LineField = 'allow' | 'deny' | 'requestRemove' | 'responseRemove';

/** What the form turns into before validation, with the line numbers of its list entries. */
export function draftInput(form: ProfileForm, id?: string): { input: unknown; lineOf: Record<LineField, number[]> } {
  const allow = lines(form.allow);
  const deny = lines(form.deny);
  const requestRemove = lines(form.requestRemove);
  const responseRemove = lines(form.responseRemove);
  let upstream: unknown;
  switch (form.upstreamKind) {
    case 'http':
      upstream = { kind: 'http', target: form.target.trim(), insecure: form.insecure };
      break;
    case 'fastcgi':
      upstream = {
        kind: 'fastcgi',
        address: form.fcgiAddress,
        root: form.fcgiRoot,
        index: form.fcgiIndex,
        ...(form.fcgiRemoteRoot.trim() ? { remoteRoot: form.fcgiRemoteRoot } : {}),
        followSymlinks: form.followSymlinks,
      };
      break;
    case 'folder':
      upstream = {
        kind: 'folder',
        root: form.folderRoot,
        dotfiles: form.dotfiles,
        listing: form.listing,
        followSymlinks: form.followSymlinks,
      };
      break;
    case 'tcp': {
      const remotePort = optionalNumber(form.tcpRemotePort);
      upstream = { kind: 'tcp', target: form.tcpTarget, ...(remotePort === undefined ? {} : { remotePort }) };
      break;
    }
  }
  const input = {
    ...(id ? { id } : {}),
    name: form.name,
    relay: {
      kind: form.relayKind,
      url: usesPublicRelay(form) ? PUBLIC_FPW_RELAY.url : form.relayUrl.trim(),
      ...(form.host.trim() ? { host: form.host } : {}),
      ...(form.token ? { token: form.token } : {}),
    },
    upstream,
    workers: optionalNumber(form.workers),
    upstreamTimeoutMs: optionalNumber(form.timeoutSeconds, 1000),
    hostHeader: form.hostHeader,
    autoStart: form.autoStart,
    access: {
      basicAuth: form.basicAuth.map((r) => ({ user: r.a, password: r.b })),
      allow: allow.values,
      deny: deny.values,
    },
    headers: {
      request: { add: form.requestAdd.map((r) => ({ name: r.a, value: r.b })), remove: requestRemove.values },
      response: { add: form.responseAdd.map((r) => ({ name: r.a, value: r.b })), remove: responseRemove.values },
    },
  };
  return {
    input,
    lineOf: {
      allow: allow.lineOf,
      deny: deny.lineOf,
      requestRemove: requestRemove.lineOf,
      responseRemove: responseRemove.lineOf,
    },
  };
}

/** A problem with one field, as an i18n key and its values. */
export interface Problem {
  key: string;
  params?: Record<string, string | number>;
}

/** Problems by field: `name`, `relayUrl`, `basicAuth.0.user`, `allow`, ... and `form` for the rest. */
export type FieldProblems = Record<string, Problem[]>;

type Issue = z.core.$ZodIssue;

/** True when the form means the public FPW relay (only FPW has one). */
export function usesPublicRelay(form: Pick<ProfileForm, 'relayKind' | 'relayMode'>): boolean {
  return form.relayKind === 'fpw' && form.relayMode === 'public';
}

/** Pins one schema issue to its field and names its message. */
export function problemFor(
  issue: Issue,
  form: Pick<ProfileForm, 'relayKind' | 'upstreamKind'>,
  lineOf: Record<LineField, number[]>,
): { field: string; problem: Problem } {
  const kind = form.upstreamKind;
  const path = issue.path.map(String);
  const joined = path.join('.');
  const at = (field: string, key: string, params?: Problem['params']) => ({
    field,
    problem: params ? { key, params } : { key },
  });
  const index = (i: number): number => Number(path[i] ?? 0);
  switch (joined) {
    case 'name':
      return issue.code === 'too_big'
        ? at('name', 'validation.nameTooLong', { max: 100 })
        : at('name', 'validation.nameRequired');
    case 'relay.url':
      return at('relayUrl', form.relayKind === 'fpw' ? 'validation.relayUrl' : 'validation.relayUrlWs');
    case 'relay.host':
      return at('host', 'validation.host');
    case 'relay.token':
      return issue.code === 'too_big'
        ? at('token', 'validation.tokenTooLong', { max: 512 })
        : at('token', 'validation.required');
    case 'upstream.target':
      return kind === 'tcp' ? at('tcpTarget', 'validation.tcpTarget') : at('target', 'validation.upstreamUrl');
    case 'upstream.remotePort':
      return at('tcpRemotePort', 'validation.remotePort', { min: 1, max: 65535 });
    case 'upstream.address':
      return at('fcgiAddress', 'validation.fcgiAddress');
    case 'upstream.root':
      return at(kind === 'fastcgi' ? 'fcgiRoot' : 'folderRoot', 'validation.absolutePath');
    case 'upstream.index':
      return at('fcgiIndex', 'validation.required');
    case 'upstream.remoteRoot':
      return at('fcgiRemoteRoot', 'validation.absolutePath');
    case 'workers':
      return at('workers', 'validation.workers', { min: 1, max: 64 });
    case 'upstreamTimeoutMs':
      return at('timeout', 'validation.timeout', { min: 1, max: 600 });
    case 'hostHeader':
      return at('hostHeader', 'validation.invalid');
  }
  if (path[0] === 'access' && path[1] === 'basicAuth' && path.length >= 4) {
    const field = `basicAuth.${index(2)}.${path[3] === 'password' ? 'password' : 'user'}`;
    if (path[3] === 'password') return at(field, 'validation.passwordRequired');
    return issue.code === 'too_small' ? at(field, 'validation.userRequired') : at(field, 'validation.userColon');
  }
  if (path[0] === 'access' && (path[1] === 'allow' || path[1] === 'deny')) {
    const field: LineField = path[1];
    return at(field, 'validation.cidr', { line: lineOf[field][index(2)] ?? index(2) + 1 });
  }
  if (path[0] === 'headers' && (path[1] === 'request' || path[1] === 'response')) {
    const dir = path[1];
    if (path[2] === 'add' && path.length >= 5) {
      const sub = path[4] === 'value' ? 'value' : 'name';
      return at(`${dir}Add.${index(3)}.${sub}`, sub === 'value' ? 'validation.headerValue' : 'validation.headerName');
    }
    if (path[2] === 'remove') {
      const field: LineField = dir === 'request' ? 'requestRemove' : 'responseRemove';
      return at(field, 'validation.headerNameLine', { line: lineOf[field][index(3)] ?? index(3) + 1 });
    }
  }
  return at('form', 'validation.generic', { path: joined || 'profile' });
}

export type Validation = { ok: true; draft: ProfileDraft } | { ok: false; problems: FieldProblems; fields: string[] };

/** Checks the form with the same schema the main process applies. */
export function validateProfileForm(form: ProfileForm, id?: string): Validation {
  const { input, lineOf } = draftInput(form, id);
  const r = ProfileDraftSchema.safeParse(input);
  const problems: FieldProblems = {};
  const fields: string[] = [];
  const add = (field: string, problem: Problem): void => {
    const list = (problems[field] ??= []);
    if (!list.some((p) => p.key === problem.key && JSON.stringify(p.params) === JSON.stringify(problem.params))) {
      list.push(problem);
    }
    if (!fields.includes(field)) fields.push(field);
  };
  for (const issue of r.success ? [] : r.error.issues) {
    const { field, problem } = problemFor(issue, form, lineOf);
    add(field, problem);
  }
  // What the engine refuses when the tunnel starts (the schema checks relay and upstream each alone).
  if (form.upstreamKind === 'tcp' && form.relayKind !== 'ws') add('upstreamKind', { key: 'validation.tcpNeedsWs' });
  if (r.success && fields.length === 0) return { ok: true, draft: r.data };
  return { ok: false, problems, fields };
}

/**
 * The domain a generated host goes under: the one the host already has, the public relay's, or (for
 * a relay of one's own) its host name; `localhost` for a relay on an IP address or localhost, as the
 * main process does. Null when it cannot be known (a custom URL with `{host}` in it).
 */
export function hostDomain(form: ProfileForm): string | null {
  const host = form.host.trim();
  const dot = host.indexOf('.');
  if (dot > 0 && dot < host.length - 1) return host.slice(dot + 1);
  if (usesPublicRelay(form)) return PUBLIC_FPW_RELAY.domain;
  const url = form.relayUrl.trim();
  if (!url || url.includes('{host}')) return null;
  try {
    const name = new URL(url).hostname.replace(/^\[|\]$/g, '');
    if (!name) return null;
    return isIpv4Literal(name) || isIpv6Literal(name) || name === 'localhost' ? 'localhost' : name;
  } catch {
    return null;
  }
}
