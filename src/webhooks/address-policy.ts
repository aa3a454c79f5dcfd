/**
 * Which addresses a webhook may connect to (SECURITY.md "Outbound webhooks"). Pure: parses the
 * textual IPv4 and IPv6 forms a resolver or a URL parser produces and classifies them, so that a
 * URL naming, or a name resolving to, the service's own network is refused.
 *
 * Refused always: unspecified, loopback (unless the policy allows it: simulator mode, so the demo's
 * local app receives), private (RFC 1918), shared address space (CGNAT 100.64/10), link-local
 * (169.254/16 with the metadata address 169.254.169.254, fe80::/10), unique local (fc00::/7, with
 * the EC2 IPv6 metadata address fd00:ec2::254), site-local, multicast, broadcast, reserved,
 * documentation and benchmarking ranges, and any IPv6 form that embeds a refused IPv4 address
 * (IPv4-mapped ::ffff:a.b.c.d, IPv4-compatible ::a.b.c.d, NAT64 64:ff9b::/96, 6to4 2002::/16).
 */

export interface AddressPolicy {
  /** Allow 127.0.0.0/8 and ::1 (simulator mode only). Default false. */
  readonly allowLoopback: boolean;
  /** Allow `http:` targets (simulator mode only); otherwise `https:` only. Default false. */
  readonly allowHttp: boolean;
}

export const STRICT_POLICY: AddressPolicy = Object.freeze({ allowLoopback: false, allowHttp: false });

/** Why an address is refused, or null when the policy allows it. Unparseable text is refused. */
export function refusalOf(address: string, policy: AddressPolicy): string | null {
  const v4 = parseIPv4(address);
  if (v4 !== null) return refuseIPv4(v4, policy);
  const v6 = parseIPv6(address.replace(/^\[|\]$/g, '').replace(/%.*$/, ''));
  if (v6 !== null) return refuseIPv6(v6, policy);
  return `"${address.slice(0, 60)}" is not an IP address`;
}

/** True when `host` (a URL's hostname, brackets allowed) is an IP literal rather than a name. */
export function isIpLiteral(host: string): boolean {
  return parseIPv4(host) !== null || parseIPv6(host.replace(/^\[|\]$/g, '')) !== null;
}

const V4_REFUSED: ReadonlyArray<readonly [string, number, string]> = [
  ['0.0.0.0', 8, 'an unspecified ("this network") address'],
  ['10.0.0.0', 8, 'a private address (RFC 1918)'],
  ['100.64.0.0', 10, 'a shared (CGNAT) address'],
  ['169.254.0.0', 16, 'a link-local address (instance metadata lives there)'],
  ['172.16.0.0', 12, 'a private address (RFC 1918)'],
  ['192.0.0.0', 24, 'an IETF protocol address'],
  ['192.0.2.0', 24, 'a documentation address'],
  ['192.88.99.0', 24, 'a 6to4 relay address'],
  ['192.168.0.0', 16, 'a private address (RFC 1918)'],
  ['198.18.0.0', 15, 'a benchmarking address'],
  ['198.51.100.0', 24, 'a documentation address'],
  ['203.0.113.0', 24, 'a documentation address'],
  ['224.0.0.0', 4, 'a multicast address'],
  ['240.0.0.0', 4, 'a reserved or broadcast address'],
];

function refuseIPv4(a: number, policy: AddressPolicy): string | null {
  if (a >>> 24 === 127) return policy.allowLoopback ? null : 'a loopback address';
  for (const [base, bits, why] of V4_REFUSED) {
    const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
    if ((a & mask) >>> 0 === (parseIPv4(base)! & mask) >>> 0) return why;
  }
  return null;
}

function refuseIPv6(g: readonly number[], policy: AddressPolicy): string | null {
  const embedded = (hi: number, lo: number) => ((hi << 16) | lo) >>> 0;
  const zeroUpTo = (n: number) => g.slice(0, n).every((x) => x === 0);
  if (g.every((x) => x === 0)) return 'the unspecified address';
  if (zeroUpTo(7) && g[7] === 1) return policy.allowLoopback ? null : 'a loopback address';
  // ::ffff:a.b.c.d (mapped), ::a.b.c.d (compatible, deprecated), 64:ff9b::a.b.c.d (NAT64): the IPv4 address decides.
  if (zeroUpTo(5) && g[5] === 0xffff) return refuseIPv4(embedded(g[6]!, g[7]!), policy);
  if (zeroUpTo(6)) return refuseIPv4(embedded(g[6]!, g[7]!), policy);
  if (g[0] === 0x64 && g[1] === 0xff9b && g.slice(2, 6).every((x) => x === 0)) return refuseIPv4(embedded(g[6]!, g[7]!), policy);
  if (g[0] === 0x2002) return refuseIPv4(embedded(g[1]!, g[2]!), policy);
  const first = g[0]!;
  if ((first & 0xfe00) === 0xfc00) return 'a unique local address (fc00::/7; the EC2 metadata address fd00:ec2::254 is one)';
  if ((first & 0xffc0) === 0xfe80) return 'a link-local address';
  if ((first & 0xffc0) === 0xfec0) return 'a site-local address';
  if ((first & 0xff00) === 0xff00) return 'a multicast address';
  if (first === 0x2001 && g[1] === 0x0db8) return 'a documentation address';
  if (first === 0x0100 && g.slice(1, 4).every((x) => x === 0)) return 'a discard-only address';
  if (first === 0x2001 && (g[1]! & 0xfe00) === 0) return 'an IETF protocol address (2001::/23)';
  return null;
}

/** Dotted-quad IPv4 (the only form resolvers and the URL parser produce) as an unsigned 32-bit number. */
export function parseIPv4(text: string): number | null {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
  if (!m) return null;
  const parts = m.slice(1).map(Number);
  if (parts.some((p) => p > 255)) return null;
  return ((parts[0]! << 24) | (parts[1]! << 16) | (parts[2]! << 8) | parts[3]!) >>> 0;
}

/** IPv6 text (with `::` and an optional trailing dotted IPv4) as eight 16-bit groups. */
export function parseIPv6(text: string): number[] | null {
  if (!/^[0-9a-fA-F:.]+$/.test(text) || !text.includes(':')) return null;
  let tail: number[] = [];
  let body = text;
  const dotted = /^(.*:)(\d{1,3}(?:\.\d{1,3}){3})$/.exec(text);
  if (dotted) {
    const v4 = parseIPv4(dotted[2]!);
    if (v4 === null) return null;
    tail = [v4 >>> 16, v4 & 0xffff];
    body = dotted[1]!.endsWith('::') ? dotted[1]! : dotted[1]!.slice(0, -1);
  }
  const halves = body.split('::');
  if (halves.length > 2) return null;
  const groups = (s: string) => (s === '' ? [] : s.split(':'));
  const head = groups(halves[0]!);
  const rest = halves.length === 2 ? groups(halves[1]!) : [];
  if ([...head, ...rest].some((h) => !/^[0-9a-fA-F]{1,4}$/.test(h))) return null;
  const known = head.length + rest.length + tail.length;
  if (halves.length === 1 ? known !== 8 : known > 7) return null;
  const zeros = new Array<number>(8 - known).fill(0);
  return [...head.map((h) => parseInt(h, 16)), ...(halves.length === 2 ? zeros : []), ...rest.map((h) => parseInt(h, 16)), ...tail];
}
