import dns from 'node:dns';
import net, { type LookupFunction } from 'node:net';
import { buildConnector } from 'undici';
import { AppError } from '../errors.js';

/**
 * The SSRF guard: a merchant's feed URL must not make the server reach its own network.
 *
 * It runs three times for every request: on the URL before connecting (scheme, literal
 * IP hosts, `localhost`), on every redirect target, and at connection time on every
 * address the host name resolves to, so that a name that resolves to a public address
 * for a first check and to 127.0.0.1 for the connection (DNS rebinding) does not pass.
 */

/** What the guard lets through. */
export interface AddressPolicy {
  /**
   * Permit loopback, private, CGNAT, unique-local and reserved addresses, for on-premise
   * use (`FEEDWRIGHT_ALLOW_PRIVATE_SOURCES=true`). Link-local addresses, the cloud
   * metadata endpoints, multicast, broadcast and unspecified addresses stay refused.
   */
  allowPrivate: boolean;
}

/** The kind of an IP address, as far as the guard cares. */
export type AddressCategory =
  | 'public'
  | 'loopback'
  | 'private'
  | 'shared'
  | 'reserved'
  | 'unique-local'
  | 'unspecified'
  | 'link-local'
  | 'metadata'
  | 'multicast'
  | 'broadcast';

/** Categories refused even when private addresses are allowed: never a feed server. */
const ALWAYS_REFUSED: ReadonlySet<AddressCategory> = new Set([
  'unspecified',
  'link-local',
  'metadata',
  'multicast',
  'broadcast',
]);

const DESCRIPTION: Record<AddressCategory, string> = {
  public: 'a public address',
  loopback: 'a loopback address',
  private: 'a private network address',
  shared: 'a carrier-grade NAT (100.64.0.0/10) address',
  reserved: 'a reserved address',
  'unique-local': 'a unique-local IPv6 address',
  unspecified: 'an unspecified address',
  'link-local': 'a link-local address',
  metadata: 'a cloud metadata address',
  multicast: 'a multicast address',
  broadcast: 'a broadcast address',
};

/**
 * Thrown when the guard refuses a URL or an address. `reason` is the error code this
 * becomes once SOURCE_FORBIDDEN_ADDRESS is in the registry.
 */
export class ForbiddenAddressError extends AppError {
  readonly reason = 'SOURCE_FORBIDDEN_ADDRESS' as const;

  constructor(
    message: string,
    details: { url?: string; host?: string; address?: string; category?: string },
  ) {
    super('SOURCE_FORBIDDEN_ADDRESS', message, { details });
    this.name = 'ForbiddenAddressError';
  }
}

interface Range {
  /** Network address as an integer (IPv4: 32 bits, IPv6: 128 bits). */
  network: bigint;
  bits: number;
  category: AddressCategory;
}

function v4(cidr: string, category: AddressCategory): Range {
  const [address = '', bits = '32'] = cidr.split('/');
  return { network: parseIPv4(address), bits: Number(bits), category };
}

function v6(cidr: string, category: AddressCategory): Range {
  const [address = '', bits = '128'] = cidr.split('/');
  return { network: parseIPv6(address), bits: Number(bits), category };
}

// Most specific first: the first match wins.
const IPV4_RANGES: Range[] = [
  v4('169.254.169.254/32', 'metadata'), // AWS, GCP, Azure, OpenStack, DigitalOcean, Oracle
  v4('169.254.170.2/32', 'metadata'), // AWS ECS task credentials
  v4('169.254.170.23/32', 'metadata'), // AWS EKS pod identity
  v4('100.100.100.200/32', 'metadata'), // Alibaba Cloud
  v4('168.63.129.16/32', 'metadata'), // Azure WireServer (a public-range address)
  v4('255.255.255.255/32', 'broadcast'),
  v4('0.0.0.0/8', 'unspecified'), // "this network": 0.0.0.0 reaches the host itself on Linux
  v4('10.0.0.0/8', 'private'),
  v4('100.64.0.0/10', 'shared'),
  v4('127.0.0.0/8', 'loopback'),
  v4('169.254.0.0/16', 'link-local'),
  v4('172.16.0.0/12', 'private'),
  v4('192.0.0.0/24', 'reserved'), // IETF protocol assignments
  v4('192.0.2.0/24', 'reserved'), // documentation
  v4('192.88.99.0/24', 'reserved'), // 6to4 relay anycast
  v4('192.168.0.0/16', 'private'),
  v4('198.18.0.0/15', 'reserved'), // benchmarking
  v4('198.51.100.0/24', 'reserved'), // documentation
  v4('203.0.113.0/24', 'reserved'), // documentation
  v4('224.0.0.0/4', 'multicast'),
  v4('240.0.0.0/4', 'broadcast'), // reserved for future use, never routable
];

const IPV6_RANGES: Range[] = [
  v6('::/128', 'unspecified'),
  v6('::1/128', 'loopback'),
  v6('fd00:ec2::254/128', 'metadata'), // AWS IMDS over IPv6
  v6('fd00:ec2::23/128', 'metadata'), // AWS EKS pod identity over IPv6
  v6('64:ff9b:1::/48', 'private'), // local-use NAT64 (RFC 8215)
  v6('100::/64', 'reserved'), // discard-only
  v6('2001:db8::/32', 'reserved'), // documentation
  v6('fc00::/7', 'unique-local'),
  v6('fe80::/10', 'link-local'),
  v6('fec0::/10', 'private'), // deprecated site-local
  v6('ff00::/8', 'multicast'),
];

/** IPv6 prefixes that carry an IPv4 address in their low 32 bits. */
const EMBEDDING_PREFIXES: Range[] = [
  v6('::ffff:0:0/96', 'public'), // IPv4-mapped
  v6('::ffff:0:0:0/96', 'public'), // IPv4-translated (SIIT)
  v6('64:ff9b::/96', 'public'), // NAT64 well-known prefix
  v6('::/96', 'public'), // IPv4-compatible (deprecated)
];

const SIX_TO_FOUR = v6('2002::/16', 'public');
const TEREDO = v6('2001::/32', 'public');
const MASK32 = 0xffffffffn;

/**
 * Classifies an IP address (IPv4 or IPv6 text). IPv6 forms that embed an IPv4 address
 * (IPv4-mapped, IPv4-compatible, NAT64, 6to4, Teredo) take the category of the IPv4
 * address they carry when that one is not public. Throws on text that is not an address.
 */
export function classifyAddress(address: string): AddressCategory {
  const plain = address.replace(/^\[|\]$/g, '').replace(/%.*$/, '');
  const family = net.isIP(plain);
  if (family === 4) return match(IPV4_RANGES, parseIPv4(plain), 32);
  if (family !== 6) throw new TypeError(`not an IP address: ${address}`);
  const value = parseIPv6(plain);
  const direct = match(IPV6_RANGES, value, 128);
  if (direct !== 'public') return direct;
  for (const embedding of EMBEDDING_PREFIXES) {
    if (inRange(value, embedding, 128)) return match(IPV4_RANGES, value & MASK32, 32);
  }
  // 6to4: 2002:AABB:CCDD::/48 routes to the IPv4 address AA.BB.CC.DD.
  if (inRange(value, SIX_TO_FOUR, 128)) {
    return match(IPV4_RANGES, (value >> 80n) & MASK32, 32);
  }
  // Teredo: 2001:0:SSSS:SSSS:…:CCCC:CCCC, server in clear, client address inverted.
  if (inRange(value, TEREDO, 128)) {
    const server = match(IPV4_RANGES, (value >> 64n) & MASK32, 32);
    if (server !== 'public') return server;
    return match(IPV4_RANGES, ~value & MASK32, 32);
  }
  return 'public';
}

/**
 * Why an address is refused under a policy, or undefined when it may be reached.
 * The reason is a phrase: `"127.0.0.1 is a loopback address"`.
 */
export function refusalOf(address: string, policy: AddressPolicy): string | undefined {
  const category = isRefused(address, policy);
  return category === undefined ? undefined : `${address} is ${DESCRIPTION[category]}`;
}

function isRefused(address: string, policy: AddressPolicy): AddressCategory | undefined {
  const category = classifyAddress(address);
  if (category === 'public' || (policy.allowPrivate && !ALWAYS_REFUSED.has(category))) return undefined;
  return category;
}

/**
 * Checks a URL before any connection: http or https only, and a host that is neither a
 * refused literal address (in any notation: the WHATWG parser turns `2130706433`,
 * `0x7f.1` and `0177.0.0.1` into `127.0.0.1`) nor `localhost`. Names are checked again at
 * connection time, on the addresses they resolve to.
 */
export function checkUrl(url: URL, policy: AddressPolicy): void {
  const shown = redactUrl(url);
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ForbiddenAddressError(`refused to fetch ${shown}: only http and https URLs are fetched`, {
      url: shown,
    });
  }
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (net.isIP(host) !== 0) {
    const refusal = refusalOf(host, policy);
    if (refusal) throw forbidden({ url: shown, host, address: host }, refusal, policy);
    return;
  }
  const name = host.toLowerCase().replace(/\.$/, '');
  if (!policy.allowPrivate && (name === 'localhost' || name.endsWith('.localhost'))) {
    throw forbidden({ url: shown, host, category: 'loopback' }, `${host} is a loopback name`, policy);
  }
}

/**
 * A DNS lookup for connections that refuses a host name when any of its addresses is
 * refused: the check happens on the very addresses the socket will use, so a rebinding
 * name cannot pass. `base` defaults to `dns.lookup`; tests inject their own resolver.
 */
export function createGuardedLookup(
  policy: AddressPolicy,
  base: LookupFunction = dns.lookup,
): LookupFunction {
  return (hostname, options, callback) => {
    base(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) {
        callback(err, '', undefined);
        return;
      }
      const list = Array.isArray(addresses)
        ? addresses
        : [{ address: addresses, family: net.isIP(addresses) === 6 ? 6 : 4 }];
      for (const { address } of list) {
        const category = isRefused(address, policy);
        if (category) {
          const refusal = `${hostname} resolves to ${address}, ${DESCRIPTION[category]}`;
          callback(forbidden({ host: hostname, address }, refusal, policy), '');
          return;
        }
      }
      const first = list[0];
      if (!first) {
        const none: NodeJS.ErrnoException = new Error(`getaddrinfo ENOTFOUND ${hostname}`);
        none.code = 'ENOTFOUND';
        callback(none, '');
      } else if (options.all) callback(null, list);
      else callback(null, first.address, first.family);
    });
  };
}

/**
 * An undici connector that applies the guard at connection time: literal IP hosts are
 * checked before the socket is created (Node skips the lookup for them), names go
 * through the guarded lookup, and the peer address of the connected socket is checked
 * once more before any byte is sent.
 */
export function createGuardedConnector(
  policy: AddressPolicy,
  options: { timeout: number; lookup?: LookupFunction },
): buildConnector.connector {
  const connect = buildConnector({
    timeout: options.timeout,
    lookup: createGuardedLookup(policy, options.lookup),
  });
  return (params, callback) => {
    if (net.isIP(params.hostname) !== 0) {
      const refusal = refusalOf(params.hostname, policy);
      if (refusal) {
        callback(forbidden({ host: params.hostname, address: params.hostname }, refusal, policy), null);
        return;
      }
    }
    connect(params, (...args) => {
      const [err, socket] = args;
      if (err || !socket) {
        callback(...args);
        return;
      }
      const peer = socket.remoteAddress;
      const refusal = peer === undefined ? 'its peer address is unknown' : refusalOf(peer, policy);
      if (refusal) {
        socket.destroy();
        callback(
          forbidden({ host: params.hostname, address: peer, category: 'unspecified' }, refusal, policy),
          null,
        );
        return;
      }
      callback(null, socket);
    });
  };
}

/**
 * A URL as it may be shown in run labels, logs and errors: no user name or password,
 * and query values masked (export links often carry their key there).
 */
export function redactUrl(input: string | URL): string {
  const url = new URL(input);
  url.username = '';
  url.password = '';
  url.hash = '';
  const search = url.search;
  url.search = '';
  // Each key as written, its value masked (history's redact_url, migration 000017, does the same).
  return search === '' ? url.href : `${url.href}${search.replace(/([?&][^=&]*)=[^&]*/g, '$1=***')}`;
}

function forbidden(
  where: { url?: string; host: string; address?: string; category?: AddressCategory },
  refusal: string,
  policy: AddressPolicy,
): ForbiddenAddressError {
  const { url, host, address } = where;
  // The category of a known address wins; `category` covers names and unknown peers.
  const category = address !== undefined && net.isIP(address) ? classifyAddress(address) : where.category;
  const hint =
    !policy.allowPrivate && category !== undefined && !ALWAYS_REFUSED.has(category)
      ? ' (set FEEDWRIGHT_ALLOW_PRIVATE_SOURCES=true to fetch from a private network)'
      : '';
  const what = url ? `refused to fetch ${url}` : `refused to connect to ${host}`;
  return new ForbiddenAddressError(`${what}: ${refusal}${hint}`, { url, host, address, category });
}

function match(ranges: Range[], value: bigint, width: number): AddressCategory {
  for (const range of ranges) if (inRange(value, range, width)) return range.category;
  return 'public';
}

function inRange(value: bigint, range: Range, width: number): boolean {
  const shift = BigInt(width - range.bits);
  return value >> shift === range.network >> shift;
}

function parseIPv4(address: string): bigint {
  return address.split('.').reduce((acc, part) => (acc << 8n) | BigInt(Number(part)), 0n);
}

function parseIPv6(address: string): bigint {
  let text = address;
  // A trailing dotted quad (::ffff:1.2.3.4) becomes two hex groups.
  const quad = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (quad?.[1]) {
    const n = parseIPv4(quad[1]);
    text = `${text.slice(0, quad.index)}${(n >> 16n).toString(16)}:${(n & 0xffffn).toString(16)}`;
  }
  const [head = '', tail] = text.split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups =
    tail === undefined ? left : [...left, ...Array(8 - left.length - right.length).fill('0'), ...right];
  return groups.reduce((acc, g) => (acc << 16n) | BigInt(Number.parseInt(g, 16)), 0n);
}
