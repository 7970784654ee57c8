/**
 * IP literals and CIDR ranges, checked in plain JavaScript (no node:net) so that the profile schema
 * runs unchanged in the renderer.
 */

const V4_PART = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;

/** True for a dotted-quad IPv4 address. */
export function isIpv4Literal(s: string): boolean {
  const parts = s.split('.');
  return parts.length === 4 && parts.every((p) => V4_PART.test(p));
}

/** True for an IPv6 address (with `::` and an embedded IPv4 tail allowed; no zone). */
export function isIpv6Literal(s: string): boolean {
  if (!s.includes(':')) return false;
  let groups = s.split(':');
  let extra = 0;
  const last = groups[groups.length - 1]!;
  if (last.includes('.')) {
    if (!isIpv4Literal(last)) return false;
    groups = groups.slice(0, -1);
    groups.push('0', '0');
    extra = 0;
  }
  const text = groups.join(':');
  const halves = text.split('::');
  if (halves.length > 2) return false;
  const hex = /^[0-9a-fA-F]{1,4}$/;
  const count = (h: string): number | null => {
    if (h === '') return 0;
    const g = h.split(':');
    return g.every((x) => hex.test(x)) ? g.length : null;
  };
  if (halves.length === 1) return count(halves[0]!) === 8 + extra;
  const a = count(halves[0]!);
  const b = count(halves[1]!);
  return a !== null && b !== null && a + b <= 7;
}

/** True for an address or `address/prefix` range of either family. */
export function isCidr(s: string): boolean {
  const [addr, bits, extra] = s.trim().split('/');
  if (extra !== undefined || !addr) return false;
  const max = isIpv4Literal(addr) ? 32 : isIpv6Literal(addr) ? 128 : 0;
  if (!max) return false;
  return bits === undefined || (/^\d{1,3}$/.test(bits) && Number(bits) <= max);
}
