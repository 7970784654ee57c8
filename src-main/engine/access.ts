import { timingSafeEqual, createHash, createHmac } from 'node:crypto';
import { BlockList, isIPv4, isIPv6 } from 'node:net';
import { parseCidr, unmapIpv4 } from '../protocol/address.ts';
import { appendHeader, type HeaderMap } from '../protocol/fpw-codec.ts';

/** Rules the worker enforces before a request reaches the upstream. */
export interface AccessRules {
  /** Credentials any of which opens the tunnel; empty: no basic auth. */
  basicAuth: Array<{ user: string; password: string }>;
  /** CIDR ranges allowed; any entry means everything else is denied. */
  allow: string[];
  /** CIDR ranges denied; deny wins over allow. */
  deny: string[];
}

/** Headers added to or removed from requests (to the upstream) and responses (to the visitor). */
export interface HeaderRules {
  request: { add: Array<{ name: string; value: string }>; remove: string[] };
  response: { add: Array<{ name: string; value: string }>; remove: string[] };
}

/** Which rule refused a request. */
export type RefusedBy = 'ip-deny' | 'ip-allow' | 'basic-auth';

export type AccessDecision =
  { ok: true } | { ok: false; status: 401 | 403; refusedBy: RefusedBy; message: string; headers: HeaderMap };

function blockList(cidrs: string[]): BlockList {
  const list = new BlockList();
  for (const c of cidrs) {
    const { address, prefix, type } = parseCidr(c);
    list.addSubnet(address, prefix, type);
  }
  return list;
}

const digest = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();

/** The access rules of one tunnel, compiled. */
export class AccessPolicy {
  readonly #allow: BlockList | null;
  readonly #deny: BlockList | null;
  readonly #credentials: Array<{ user: Buffer; password: Buffer }>;
  readonly #realm: string;

  /**
   * @param rules the profile's rules (CIDRs must parse: the profile schema checks them)
   * @param realm shown by the browser's password prompt
   */
  constructor(rules: AccessRules, realm: string) {
    this.#allow = rules.allow.length ? blockList(rules.allow) : null;
    this.#deny = rules.deny.length ? blockList(rules.deny) : null;
    // Compared as digests, so that the comparison takes the same time whatever the lengths.
    this.#credentials = rules.basicAuth.map((c) => ({ user: digest(c.user), password: digest(c.password) }));
    this.#realm = realm.replace(/["\\]/g, '');
  }

  /** True when there is nothing to check. */
  get open(): boolean {
    return !this.#allow && !this.#deny && this.#credentials.length === 0;
  }

  /** Decides on one request, by the visitor IP the relay reported and the request's headers. */
  check(visitorIp: string, headers: HeaderMap): AccessDecision {
    if (this.#allow || this.#deny) {
      const ip = cleanIp(visitorIp);
      const type = isIPv4(ip) ? 'ipv4' : isIPv6(ip) ? 'ipv6' : null;
      // An address that does not parse cannot be shown not to be on the deny list.
      if (this.#deny && !type) {
        return refuse(403, 'ip-deny', `The visitor's address "${visitorIp}" cannot be checked against the deny list.`);
      }
      if (this.#deny && type && this.#deny.check(ip, type)) {
        return refuse(403, 'ip-deny', `${ip} is on this tunnel's deny list.`);
      }
      if (this.#allow && (!type || !this.#allow.check(ip, type))) {
        return refuse(403, 'ip-allow', `${ip || 'An unknown address'} is not on this tunnel's allow list.`);
      }
    }
    if (this.#credentials.length) {
      const given = parseBasic(headers['authorization']);
      const ok =
        given !== null &&
        this.#credentials.some(
          (c) => timingSafeEqual(c.user, digest(given.user)) && timingSafeEqual(c.password, digest(given.password)),
        );
      if (!ok) {
        return {
          ok: false,
          status: 401,
          refusedBy: 'basic-auth',
          message: given ? 'The user name or password is wrong.' : 'This tunnel needs a user name and password.',
          headers: { 'www-authenticate': `Basic realm="${this.#realm}", charset="UTF-8"` },
        };
      }
    }
    return { ok: true };
  }
}

/**
 * A visitor IP as relays write it, reduced to the bare address: brackets, a port and an IPv6 zone
 * removed, IPv4-mapped IPv6 unmapped. Anything else is returned as it is (and will not parse).
 */
export function cleanIp(raw: string): string {
  let ip = raw.trim();
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(ip);
  if (bracketed) ip = bracketed[1]!;
  else if (/^\d{1,3}(\.\d{1,3}){3}:\d+$/.test(ip)) ip = ip.slice(0, ip.lastIndexOf(':'));
  const zone = ip.indexOf('%');
  if (zone !== -1 && ip.includes(':')) ip = ip.slice(0, zone);
  return unmapIpv4(ip);
}

function refuse(status: 403, refusedBy: RefusedBy, message: string): AccessDecision {
  return { ok: false, status, refusedBy, message, headers: {} };
}

/** `Authorization: Basic ...` to user and password, split at the first colon (RFC 7617). */
export function parseBasic(value: string | string[] | undefined): { user: string; password: string } | null {
  const v = Array.isArray(value) ? value[0] : value;
  const m = v ? /^\s*basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(v) : null;
  if (!m) return null;
  const decoded = Buffer.from(m[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon === -1) return null;
  return { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

/** Applies add/remove rules to a header map, in place. Removal first, so that a rule can replace. */
export function applyHeaderRules(
  map: HeaderMap,
  rules: { add: Array<{ name: string; value: string }>; remove: string[] },
): void {
  for (const name of rules.remove) delete map[name.toLowerCase()];
  for (const { name, value } of rules.add) appendHeader(map, name.toLowerCase(), value);
}

/** Parses `Name: value` as given on a command line. */
export function parseHeaderArg(arg: string): { name: string; value: string } {
  const colon = arg.indexOf(':');
  const name = colon === -1 ? '' : arg.slice(0, colon).trim();
  if (!/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(name)) throw new Error(`"${arg}" is not a header like "Name: value"`);
  return { name, value: arg.slice(colon + 1).trim() };
}

/**
 * A digest of a tunnel's access and header rules, for Porthole's relay to compare the workers of one
 * host (`fpw-rules`): an HMAC keyed by the host's token, so that it tells nothing about a password
 * to whoever does not hold the token. Empty when there are no rules, as for any other FPW worker.
 */
export function rulesDigest(access: AccessRules, headers: HeaderRules, token: string): string {
  const none =
    !access.basicAuth.length &&
    !access.allow.length &&
    !access.deny.length &&
    !headers.request.add.length &&
    !headers.request.remove.length &&
    !headers.response.add.length &&
    !headers.response.remove.length;
  if (none) return '';
  const canonical = JSON.stringify({
    basicAuth: access.basicAuth.map((c) => [c.user, c.password]).sort(),
    allow: [...access.allow].sort(),
    deny: [...access.deny].sort(),
    request: [headers.request.add.map((h) => [h.name.toLowerCase(), h.value]), [...headers.request.remove].sort()],
    response: [headers.response.add.map((h) => [h.name.toLowerCase(), h.value]), [...headers.response.remove].sort()],
  });
  return createHmac('sha256', token).update(canonical).digest('hex').slice(0, 32);
}
