import { isIPv4, isIPv6 } from 'node:net';

/** Addresses as both ends meet them: CIDR ranges of access rules and trusted proxies, IPv4-mapped IPv6. */

/** Parses `a.b.c.d/n`, `x::/n` or a single address; throws with a message a person can act on. */
export function parseCidr(cidr: string): { address: string; prefix: number; type: 'ipv4' | 'ipv6' } {
  const [raw, bits, extra] = cidr.trim().split('/');
  if (extra !== undefined || !raw) throw new Error(`"${cidr}" is not an IP address or CIDR range`);
  const address = unmapIpv4(raw);
  const type = isIPv4(address) ? 'ipv4' : isIPv6(address) ? 'ipv6' : null;
  if (!type) throw new Error(`"${cidr}" is not an IP address or CIDR range`);
  const max = type === 'ipv4' ? 32 : 128;
  let prefix = bits === undefined ? max : Number(bits);
  // ::ffff:10.0.0.0/104 names IPv4 space: keep the IPv4 part of the prefix.
  if (type === 'ipv4' && address !== raw && bits !== undefined) prefix -= 96;
  if (!/^\d+$/.test(String(bits ?? max)) || !Number.isInteger(prefix) || prefix < 0 || prefix > max) {
    throw new Error(`"${cidr}" has an invalid prefix length`);
  }
  return { address, prefix, type };
}

/** `::ffff:1.2.3.4` and its hex form to `1.2.3.4`; anything else unchanged. */
export function unmapIpv4(ip: string): string {
  const lower = ip.toLowerCase();
  if (lower.startsWith('::ffff:')) {
    const rest = lower.slice(7);
    if (isIPv4(rest)) return rest;
    const m = /^([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(rest);
    if (m) {
      const hi = parseInt(m[1]!, 16);
      const lo = parseInt(m[2]!, 16);
      return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
    }
  }
  return ip;
}
