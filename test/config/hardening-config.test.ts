import { ConfigError, loadConfig } from '../../src/config';
import { ALL_SCOPES, DEFAULT_SCOPES, parseApiKeys } from '../../src/platform/api-keys';

const product = { code: 'prod-code-1', name: 'P', pricingModel: 'subscription', dimensions: [{ name: 'calls' }] };
const aws = {
  MARKETPLACE_MODE: 'aws',
  SESSION_SECRET: 'x'.repeat(40),
  SUPPORT_EMAIL: 'help@seller.example',
  API_KEYS: 'app=0123456789abcdef0123',
  MARKETPLACE_PRODUCTS: JSON.stringify([product]),
};

function problemsOf(env: Record<string, string>): string {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems.join('\n');
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('config: the hardened edges', () => {
  it('aws mode sets Secure cookies whatever NODE_ENV says, and refuses COOKIE_SECURE=false', () => {
    expect(loadConfig({ ...aws, NODE_ENV: 'development' }).registration.secureCookies).toBe(true);
    expect(loadConfig({ ...aws, NODE_ENV: 'test' }).registration.secureCookies).toBe(true);
    expect(problemsOf({ ...aws, COOKIE_SECURE: 'false' })).toMatch(/COOKIE_SECURE: cookies are always Secure/);
    expect(loadConfig({}).registration.secureCookies).toBe(false);
  });

  it('refuses simulator mode under NODE_ENV=production unless explicitly allowed', () => {
    expect(problemsOf({ NODE_ENV: 'production', MARKETPLACE_MODE: 'simulator' })).toMatch(
      /MARKETPLACE_MODE: simulator mode with NODE_ENV=production/,
    );
    expect(loadConfig({ NODE_ENV: 'production', MARKETPLACE_MODE: 'simulator', ALLOW_SIMULATOR_IN_PRODUCTION: 'true' }).mode).toBe(
      'simulator',
    );
  });

  it('reads TRUST_PROXY as a boolean, a hop count or a list of proxies, and refuses anything else', () => {
    expect(loadConfig({ TRUST_PROXY: 'true' }).http.trustProxy).toBe(true);
    expect(loadConfig({ TRUST_PROXY: '1' }).http.trustProxy).toBe(1);
    expect(loadConfig({ TRUST_PROXY: '10.0.0.0/8, 192.168.1.1' }).http.trustProxy).toEqual(['10.0.0.0/8', '192.168.1.1']);
    expect(loadConfig({}).http.trustProxy).toBe(false);
    expect(problemsOf({ TRUST_PROXY: 'yes please' })).toMatch(/TRUST_PROXY/);
  });

  it('has bounded HTTP timeouts, a connection cap and rate limits, each configurable and checked', () => {
    const c = loadConfig({});
    expect(c.http).toMatchObject({ headersTimeoutMs: 15_000, requestTimeoutMs: 60_000, keepAliveTimeoutMs: 5_000, maxConnections: 2048 });
    expect(c.rateLimits).toEqual({ registrationPerMinute: 30, snsPerMinute: 600, apiPerMinute: 6000 });
    const text = problemsOf({
      HTTP_HEADERS_TIMEOUT_SECONDS: '0',
      HTTP_MAX_CONNECTIONS: 'many',
      RATE_LIMIT_API_PER_MINUTE: '-5',
      RATE_LIMIT_REGISTRATION_PER_MINUTE: '1.5',
    });
    for (const name of [
      'HTTP_HEADERS_TIMEOUT_SECONDS',
      'HTTP_MAX_CONNECTIONS',
      'RATE_LIMIT_API_PER_MINUTE',
      'RATE_LIMIT_REGISTRATION_PER_MINUTE',
    ]) {
      expect(text).toContain(name);
    }
  });

  it('gives the local simulator-mode key every scope', () => {
    expect([...loadConfig({}).apiKeys[0]!.scopes].sort()).toEqual([...ALL_SCOPES].sort());
  });
});

describe('API key scopes', () => {
  it('reads name(scope scope)=key, defaults to the app scopes, and keeps only digests', () => {
    const { keys, problems } = parseApiKeys(
      'app=0123456789abcdef0123, console(admin metrics)=abcdefabcdefabcdefabcdef, ci(usage:write+access:read)=cccccccccccccccccccccccc',
      'API_KEYS',
    );
    expect(problems).toEqual([]);
    expect(keys.map((k) => [k.name, [...k.scopes].sort()])).toEqual([
      ['app', [...DEFAULT_SCOPES].sort()],
      ['console', ['admin', 'metrics']],
      ['ci', ['access:read', 'usage:write']],
    ]);
    expect(JSON.stringify(keys)).not.toContain('0123456789abcdef0123');
  });

  it('refuses unknown scopes, empty scope lists, duplicate names and bad entries without echoing the key', () => {
    const { problems } = parseApiKeys(
      'a(usage:write root)=0123456789abcdef0123,b()=0123456789abcdef0124,a=0123456789abcdef0125,c(admin)=short-secret,(x)=nameless',
      'API_KEYS',
    );
    const text = problems.join('\n');
    expect(text).toMatch(/unknown scope\(s\) "root"/);
    expect(text).toMatch(/\("b"\) grants no scope/);
    expect(text).toMatch(/the name "a" is used twice/);
    expect(text).toMatch(/\("c"\) is too short/);
    expect(text).toMatch(/entry 5 is not name=key/);
    expect(text).not.toContain('short-secret');
    expect(text).not.toContain('0123456789abcdef');
  });

  it('reads hashed keys with scopes', () => {
    const { keys, problems } = parseApiKeys(`ops(metrics)=${'ab'.repeat(32)}`, 'API_KEY_SHA256');
    expect(problems).toEqual([]);
    expect(keys[0]).toMatchObject({ name: 'ops' });
    expect([...keys[0]!.scopes]).toEqual(['metrics']);
    expect(parseApiKeys('ops=nothex', 'API_KEY_SHA256').problems.join()).toMatch(/not a SHA-256/);
  });

  it('reports scope problems through loadConfig too', () => {
    expect(problemsOf({ ...aws, API_KEYS: 'app(everything)=0123456789abcdef0123' })).toMatch(
      /API_KEYS: entry 1 \("app"\) has unknown scope/,
    );
  });

  it('reads METERING_SENDER_LEASE_SECONDS as whole seconds from 5 to 600, and refuses anything else', () => {
    expect(loadConfig({ ...aws }).metering.senderLeaseSeconds).toBe(30);
    expect(loadConfig({ ...aws, METERING_SENDER_LEASE_SECONDS: '5' }).metering.senderLeaseSeconds).toBe(5);
    expect(loadConfig({ ...aws, METERING_SENDER_LEASE_SECONDS: '600' }).metering.senderLeaseSeconds).toBe(600);
    for (const garbage of ['4', '601', '0', '-30', '2.5', 'thirty', '1e9', '30s', ' ', 'NaN', 'Infinity'])
      expect([garbage, problemsOf({ ...aws, METERING_SENDER_LEASE_SECONDS: garbage })]).toEqual([
        garbage,
        expect.stringMatching(/METERING_SENDER_LEASE_SECONDS/),
      ]);
  });
});
