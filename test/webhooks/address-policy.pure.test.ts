import fc from 'fast-check';
import { parseIPv4, parseIPv6, refusalOf, STRICT_POLICY } from '../../src/webhooks/address-policy';
import { endpointUrlProblem } from '../../src/webhooks/webhook-endpoint';

const SIMULATOR = { allowLoopback: true, allowHttp: true };

describe('webhook address policy', () => {
  it.each([
    ['127.0.0.1', 'loopback'],
    ['127.255.0.9', 'loopback'],
    ['::1', 'loopback'],
    ['0.0.0.0', 'unspecified'],
    ['::', 'unspecified'],
    ['10.1.2.3', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.1.1', 'private'],
    ['100.64.0.1', 'shared'],
    ['100.127.255.254', 'shared'],
    ['169.254.169.254', 'link-local'],
    ['169.254.0.1', 'link-local'],
    ['fe80::1', 'link-local'],
    ['fd00:ec2::254', 'unique local'],
    ['fc00::1', 'unique local'],
    ['fec0::1', 'site-local'],
    ['224.0.0.1', 'multicast'],
    ['ff02::1', 'multicast'],
    ['255.255.255.255', 'broadcast'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:7f00:1', 'loopback'],
    ['::ffff:169.254.169.254', 'link-local'],
    ['::ffff:a9fe:a9fe', 'link-local'],
    ['::ffff:10.0.0.1', 'private'],
    ['::127.0.0.1', 'loopback'],
    ['64:ff9b::169.254.169.254', 'link-local'],
    ['2002:a9fe:a9fe::1', 'link-local'],
    ['2001:db8::1', 'documentation'],
    ['198.18.0.1', 'benchmarking'],
    ['[::1]', 'loopback'],
    ['fe80::1%eth0', 'link-local'],
  ])('refuses %s (%s)', (address, why) => {
    expect(refusalOf(address, STRICT_POLICY)).toContain(why);
  });

  it.each(['93.184.216.34', '8.8.8.8', '2606:4700:4700::1111', '::ffff:8.8.8.8', '172.32.0.1', '100.128.0.1', '2001:4860:4860::8888'])(
    'allows the public address %s',
    (address) => {
      expect(refusalOf(address, STRICT_POLICY)).toBeNull();
    },
  );

  it('allows loopback, and only loopback, in simulator mode', () => {
    expect(refusalOf('127.0.0.1', SIMULATOR)).toBeNull();
    expect(refusalOf('::1', SIMULATOR)).toBeNull();
    expect(refusalOf('::ffff:127.0.0.1', SIMULATOR)).toBeNull();
    expect(refusalOf('10.0.0.1', SIMULATOR)).not.toBeNull();
    expect(refusalOf('169.254.169.254', SIMULATOR)).not.toBeNull();
  });

  it('refuses what is not an address', () => {
    for (const text of ['', 'localhost', '1.2.3', '1.2.3.256', '::g', '1:2:3:4:5:6:7:8:9', '1::2::3'])
      expect(refusalOf(text, STRICT_POLICY)).not.toBeNull();
  });

  it('parses every IPv4 address, and the IPv6 forms of it, to the same number (property)', () => {
    fc.assert(
      fc.property(fc.ipV4(), (ip) => {
        const n = parseIPv4(ip)!;
        const g = parseIPv6(`::ffff:${ip}`)!;
        expect(((g[6]! << 16) | g[7]!) >>> 0).toBe(n);
        expect(refusalOf(`::ffff:${ip}`, STRICT_POLICY)).toBe(refusalOf(ip, STRICT_POLICY));
      }),
    );
    fc.assert(fc.property(fc.ipV6(), (ip) => expect(parseIPv6(ip)).toHaveLength(8)));
  });

  describe('endpoint URLs', () => {
    it.each([
      ['http://example.com/hooks', 'https'],
      ['ftp://example.com/', 'https'],
      ['https://user:pw@example.com/', 'password'],
      ['https://example.com/#x', 'fragment'],
      ['not a url', 'absolute URL'],
      ['https://localhost/hooks', 'localhost'],
      ['https://app.localhost/hooks', 'localhost'],
      // The URL parser rewrites every IPv4 notation to dotted decimal before the check.
      ['https://2130706433/', 'loopback'],
      ['https://0x7f.0.0.1/', 'loopback'],
      ['https://0177.0.0.1/', 'loopback'],
      ['https://127.1/', 'loopback'],
      ['https://0x7f000001/', 'loopback'],
      ['https://[::1]/', 'loopback'],
      ['https://[::ffff:127.0.0.1]/', 'loopback'],
      ['https://[0:0:0:0:0:ffff:7f00:1]/', 'loopback'],
      ['https://169.254.169.254/latest/meta-data/', 'link-local'],
      ['https://[fd00:ec2::254]/', 'unique local'],
      ['https://0/', 'unspecified'],
      ['https://100.64.1.1/', 'shared'],
      ['https://%31%32%37.0.0.1/', 'loopback'],
      [`https://example.com/${'a'.repeat(2100)}`, 'longer'],
    ])('refuses %s in aws mode', (url, why) => {
      expect(endpointUrlProblem(url, STRICT_POLICY)).toContain(why);
    });

    it('accepts https URLs on names and public addresses, and loopback http in simulator mode', () => {
      expect(endpointUrlProblem('https://app.example.com/webhooks/marketplace?x=1', STRICT_POLICY)).toBeNull();
      expect(endpointUrlProblem('https://93.184.216.34:8443/hooks', STRICT_POLICY)).toBeNull();
      expect(endpointUrlProblem('http://127.0.0.1:4000/hooks', SIMULATOR)).toBeNull();
      expect(endpointUrlProblem('http://localhost:4000/hooks', SIMULATOR)).toBeNull();
      expect(endpointUrlProblem('http://10.0.0.1/hooks', SIMULATOR)).toContain('private');
    });
  });
});
