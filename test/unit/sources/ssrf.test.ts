import type { LookupAddress } from 'node:dns';
import net, { type LookupFunction } from 'node:net';
import tls from 'node:tls';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  checkUrl,
  classifyAddress,
  createGuardedConnector,
  createGuardedLookup,
  ForbiddenAddressError,
  redactUrl,
  refusalOf,
} from '../../../src/sources/ssrf.js';

const STRICT = { allowPrivate: false };
const ON_PREMISE = { allowPrivate: true };

afterEach(() => {
  vi.restoreAllMocks();
});

describe('classifyAddress', () => {
  it.each([
    ['127.0.0.1', 'loopback'],
    ['127.255.255.254', 'loopback'],
    ['::1', 'loopback'],
    ['10.1.2.3', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.0.10', 'private'],
    ['100.64.0.1', 'shared'],
    ['100.127.255.255', 'shared'],
    ['169.254.1.1', 'link-local'],
    ['169.254.169.254', 'metadata'],
    ['169.254.170.2', 'metadata'],
    ['100.100.100.200', 'metadata'],
    ['fd00:ec2::254', 'metadata'],
    ['fe80::1', 'link-local'],
    ['febf::1', 'link-local'],
    ['fc00::1', 'unique-local'],
    ['fd12:3456::1', 'unique-local'],
    ['224.0.0.1', 'multicast'],
    ['239.255.255.250', 'multicast'],
    ['ff02::1', 'multicast'],
    ['0.0.0.0', 'unspecified'],
    ['0.1.2.3', 'unspecified'],
    ['::', 'unspecified'],
    ['255.255.255.255', 'broadcast'],
    ['192.0.2.1', 'reserved'],
    ['198.18.0.1', 'reserved'],
    // IPv4-mapped, IPv4-compatible, SIIT, NAT64, 6to4 and Teredo forms of refused addresses.
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:7f00:1', 'loopback'],
    ['0:0:0:0:0:ffff:7f00:1', 'loopback'],
    ['::ffff:a9fe:a9fe', 'metadata'],
    ['::ffff:10.0.0.1', 'private'],
    ['::7f00:1', 'loopback'],
    ['::ffff:0:7f00:1', 'loopback'],
    ['64:ff9b::7f00:1', 'loopback'],
    ['64:ff9b::169.254.169.254', 'metadata'],
    ['2002:7f00:1::', 'loopback'],
    ['2002:c0a8:101::1', 'private'],
    ['2001:0:4136:e378:8000:63bf:80ff:fffe', 'loopback'], // Teredo client 127.0.0.1, inverted
    ['[::1]', 'loopback'],
  ])('%s is %s', (address, category) => {
    expect(classifyAddress(address)).toBe(category);
  });

  it.each([
    '8.8.8.8',
    '93.184.216.34',
    '172.32.0.1',
    '172.15.255.255',
    '100.128.0.1',
    '169.253.255.255',
    '2606:4700:4700::1111',
    '::ffff:8.8.8.8',
    '64:ff9b::808:808',
    '2002:808:808::1',
  ])('%s is public', (address) => {
    expect(classifyAddress(address)).toBe('public');
  });

  it('throws on text that is not an address', () => {
    expect(() => classifyAddress('example.com')).toThrow(TypeError);
  });
});

describe('refusalOf', () => {
  it('refuses private and loopback addresses unless private sources are allowed', () => {
    expect(refusalOf('127.0.0.1', STRICT)).toBe('127.0.0.1 is a loopback address');
    expect(refusalOf('10.0.0.5', STRICT)).toMatch(/private network/);
    expect(refusalOf('127.0.0.1', ON_PREMISE)).toBeUndefined();
    expect(refusalOf('192.168.1.20', ON_PREMISE)).toBeUndefined();
    expect(refusalOf('fd12::1', ON_PREMISE)).toBeUndefined();
  });

  it('refuses metadata, link-local, multicast, broadcast and unspecified addresses even on premise', () => {
    for (const address of [
      '169.254.169.254',
      '::ffff:169.254.169.254',
      'fd00:ec2::254',
      '100.100.100.200',
      '169.254.10.1',
      'fe80::1',
      '224.0.0.251',
      '255.255.255.255',
      '0.0.0.0',
      '::',
    ]) {
      expect(refusalOf(address, ON_PREMISE), address).toBeDefined();
    }
  });

  it('lets public addresses through', () => {
    expect(refusalOf('8.8.8.8', STRICT)).toBeUndefined();
    expect(refusalOf('2606:4700:4700::1111', STRICT)).toBeUndefined();
  });
});

describe('checkUrl', () => {
  // Every notation the WHATWG parser accepts for 127.0.0.1, and the other refused ranges.
  it.each([
    'http://127.0.0.1/',
    'http://127.1/',
    'http://2130706433/',
    'http://0x7f000001/',
    'http://0x7f.1/',
    'http://0x7f.0x0.0x0.0x1/',
    'http://017700000001/',
    'http://0177.0.0.1/',
    'http://127.0.0.1./',
    'http://%31%32%37.0.0.1/',
    'http://127%E3%80%820%E3%80%820%E3%80%821/',
    'http://[::1]/',
    'http://[::ffff:127.0.0.1]/',
    'http://[::ffff:7f00:1]/',
    'http://[0:0:0:0:0:ffff:7f00:1]/',
    'http://[::127.0.0.1]/',
    'http://[64:ff9b::127.0.0.1]/',
    'http://[2002:7f00:1::]/',
    'http://0/',
    'http://0.0.0.0/',
    'http://[::]/',
    'http://10.0.0.1/',
    'http://172.16.0.1/',
    'http://192.168.1.1/',
    'http://100.64.0.1/',
    'http://169.254.169.254/latest/meta-data',
    'http://0xa9fea9fe/',
    'http://[fe80::1]/',
    'http://[fc00::1]/',
    'http://224.0.0.1/',
    'http://[ff02::1]/',
    'http://255.255.255.255/',
    'http://0xffffffff/',
    'https://localhost/',
    'http://LOCALHOST./',
    'http://shop.localhost:8080/feed.csv',
  ])('refuses %s', (input) => {
    expect(() => checkUrl(new URL(input), STRICT)).toThrow(ForbiddenAddressError);
  });

  it.each(['ftp://example.com/feed.csv', 'file:///etc/passwd', 'gopher://example.com/', 'data:text/csv,sku'])(
    'refuses the scheme of %s',
    (input) => {
      expect(() => checkUrl(new URL(input), ON_PREMISE)).toThrow(/only http and https/);
    },
  );

  it.each([
    'https://shop.example/export/products.csv',
    'http://93.184.216.34/feed.xml',
    'http://[2606:4700:4700::1111]/feed.xml',
    'http://172.32.0.1/',
  ])('lets %s through', (input) => {
    expect(() => checkUrl(new URL(input), STRICT)).not.toThrow();
  });

  it('allows private hosts on premise, never the metadata address', () => {
    expect(() => checkUrl(new URL('http://127.0.0.1:8080/feed.csv'), ON_PREMISE)).not.toThrow();
    expect(() => checkUrl(new URL('http://localhost/feed.csv'), ON_PREMISE)).not.toThrow();
    expect(() => checkUrl(new URL('http://192.168.1.20/feed.csv'), ON_PREMISE)).not.toThrow();
    expect(() => checkUrl(new URL('http://169.254.169.254/latest/meta-data'), ON_PREMISE)).toThrow(
      /cloud metadata address/,
    );
    expect(() => checkUrl(new URL('http://[::ffff:a9fe:a9fe]/'), ON_PREMISE)).toThrow(/cloud metadata/);
  });

  it('says how to allow private sources, and keeps credentials out of the message', () => {
    let caught: unknown;
    try {
      checkUrl(new URL('http://user:s3cret@10.0.0.8/feed.csv?key=abc123'), STRICT);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(ForbiddenAddressError);
    const err = caught as ForbiddenAddressError;
    expect(err.reason).toBe('SOURCE_FORBIDDEN_ADDRESS');
    expect(err.message).toContain('FEEDWRIGHT_ALLOW_PRIVATE_SOURCES=true');
    expect(err.message).not.toMatch(/s3cret|abc123/);
    expect(err.details).toMatchObject({ address: '10.0.0.8', category: 'private' });
  });
});

/** A resolver that answers from a table, like a DNS server under the test's control. */
function fakeLookup(table: Record<string, LookupAddress[]>): LookupFunction {
  return (hostname, _options, callback) => {
    const answer = table[hostname];
    if (!answer) {
      const err: NodeJS.ErrnoException = new Error(`getaddrinfo ENOTFOUND ${hostname}`);
      err.code = 'ENOTFOUND';
      callback(err, '', undefined);
    } else callback(null, answer);
  };
}

function lookupWith(lookup: LookupFunction, hostname: string, all: boolean) {
  return new Promise<{ err: NodeJS.ErrnoException | null; address: unknown; family?: number }>((resolve) => {
    lookup(hostname, { all }, (err, address, family) => resolve({ err, address, family }));
  });
}

describe('createGuardedLookup', () => {
  const table = {
    'shop.example': [{ address: '93.184.216.34', family: 4 }],
    'rebind.example': [{ address: '127.0.0.1', family: 4 }],
    'mixed.example': [
      { address: '93.184.216.34', family: 4 },
      { address: '10.0.0.1', family: 4 },
    ],
    'mapped.example': [{ address: '::ffff:127.0.0.1', family: 6 }],
    'metadata.example': [{ address: '169.254.169.254', family: 4 }],
  };

  it('answers with the addresses in the form asked for', async () => {
    const lookup = createGuardedLookup(STRICT, fakeLookup(table));
    expect(await lookupWith(lookup, 'shop.example', true)).toMatchObject({
      err: null,
      address: [{ address: '93.184.216.34', family: 4 }],
    });
    expect(await lookupWith(lookup, 'shop.example', false)).toMatchObject({
      err: null,
      address: '93.184.216.34',
      family: 4,
    });
  });

  it.each(['rebind.example', 'mixed.example', 'mapped.example', 'metadata.example'])(
    'refuses %s, which resolves to a refused address',
    async (name) => {
      const lookup = createGuardedLookup(STRICT, fakeLookup(table));
      const { err } = await lookupWith(lookup, name, false);
      expect(err).toBeInstanceOf(ForbiddenAddressError);
      expect(err?.message).toContain(`${name} resolves to`);
    },
  );

  it('lets private answers through on premise, never the metadata address', async () => {
    const lookup = createGuardedLookup(ON_PREMISE, fakeLookup(table));
    expect((await lookupWith(lookup, 'rebind.example', false)).address).toBe('127.0.0.1');
    expect((await lookupWith(lookup, 'metadata.example', false)).err).toBeInstanceOf(ForbiddenAddressError);
  });

  it('passes resolver errors through', async () => {
    const lookup = createGuardedLookup(STRICT, fakeLookup(table));
    expect((await lookupWith(lookup, 'unknown.example', false)).err?.code).toBe('ENOTFOUND');
  });
});

describe('createGuardedConnector', () => {
  it('refuses a literal IP host before creating any socket', async () => {
    const netConnect = vi.spyOn(net, 'connect');
    const tlsConnect = vi.spyOn(tls, 'connect');
    const connect = createGuardedConnector(STRICT, { timeout: 1000 });
    for (const [hostname, protocol] of [
      ['127.0.0.1', 'http:'],
      ['169.254.169.254', 'http:'],
      ['::ffff:7f00:1', 'https:'],
    ] as const) {
      const err = await new Promise<Error | null>((resolve) => {
        connect({ hostname, host: hostname, protocol, port: '' }, (...args) => resolve(args[0]));
      });
      expect(err, hostname).toBeInstanceOf(ForbiddenAddressError);
    }
    expect(netConnect).not.toHaveBeenCalled();
    expect(tlsConnect).not.toHaveBeenCalled();
  });
});

describe('redactUrl', () => {
  it('removes credentials and masks query values', () => {
    expect(redactUrl('https://bob:pw@shop.example/export.csv?key=abc&format=csv#x')).toBe(
      'https://shop.example/export.csv?key=***&format=***',
    );
    expect(redactUrl('https://shop.example/export.csv')).toBe('https://shop.example/export.csv');
  });
});
