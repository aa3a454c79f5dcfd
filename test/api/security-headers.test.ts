import request from 'supertest';
import { fixedSecurityHeaders, isMachinePath } from '../../src/app';
import { startHarness, TEST_API_KEY, type Harness } from '../support/harness';

/**
 * Machine routes carry helmet's protections as fixed headers with a policy that allows nothing;
 * pages carry helmet's policy with a fresh script nonce per response.
 */
describe('security headers', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => h.close());

  it('names the machine routes by their root, not by a look-alike prefix', () => {
    for (const path of [
      '/v1/access',
      '/v1',
      '/healthz',
      '/readyz',
      '/metrics',
      '/marketplace/sns',
      '/.well-known/jwks.json',
      '/openapi.yaml',
    ])
      expect([path, isMachinePath(path)]).toEqual([path, true]);
    for (const path of [
      '/',
      '/v10',
      '/v1x/access',
      '/healthzz',
      '/marketplace/register',
      '/marketplace/onboarding',
      '/admin',
      '/marketplace/snsx',
    ])
      expect([path, isMachinePath(path)]).toEqual([path, false]);
  });

  it('computes helmet’s headers once for machine routes, with a policy that allows nothing', () => {
    const headers = new Map(fixedSecurityHeaders().map(([n, v]) => [n.toLowerCase(), v]));
    expect(headers.get('content-security-policy')).toBe("default-src 'none';frame-ancestors 'none'");
    expect(headers.get('x-content-type-options')).toBe('nosniff');
    expect(headers.get('referrer-policy')).toBe('no-referrer');
    expect(headers.get('strict-transport-security')).toMatch(/max-age=\d+/);
    expect(headers.has('x-powered-by')).toBe(false);
  });

  it('answers API and ops routes with the fixed headers and no nonce', async () => {
    for (const res of [
      await request(h.app).get('/healthz'),
      await request(h.app).get('/v1/customers').set('Authorization', `Bearer ${TEST_API_KEY}`),
      await request(h.app).get('/v1/customers'),
    ]) {
      expect(res.headers['content-security-policy']).toBe("default-src 'none';frame-ancestors 'none'");
      expect(res.headers['x-content-type-options']).toBe('nosniff');
      expect(res.headers['strict-transport-security']).toBeDefined();
      expect(res.headers['x-powered-by']).toBeUndefined();
    }
  });

  it('answers pages with a per-response nonce in the policy', async () => {
    const a = await request(h.app).get('/marketplace/onboarding');
    const b = await request(h.app).get('/marketplace/onboarding');
    const nonceOf = (csp: unknown) => /'nonce-([^']+)'/.exec(String(csp))?.[1];
    expect(nonceOf(a.headers['content-security-policy'])).toBeDefined();
    expect(nonceOf(a.headers['content-security-policy'])).not.toBe(nonceOf(b.headers['content-security-policy']));
    expect(String(a.headers['content-security-policy'])).toContain("frame-ancestors 'none'");
    expect(a.headers['x-content-type-options']).toBe('nosniff');
  });

  it('sends no ETag, so a conditional GET never turns a fresh answer into 304 Not Modified (the spec declares none)', async () => {
    const auth = { Authorization: `Bearer ${TEST_API_KEY}` };
    for (const path of ['/v1/customers', '/openapi.yaml', '/assets/console.css', '/']) {
      const first = await request(h.app).get(path).set(auth);
      expect([path, first.status, first.headers.etag]).toEqual([path, 200, undefined]);
      const again = await request(h.app)
        .get(path)
        .set(auth)
        .set('If-None-Match', String(first.headers.etag ?? '"0-0"'));
      expect([path, again.status]).toEqual([path, 200]);
      // Nor does a wildcard or a date: without validators nothing is ever "not modified".
      for (const [name, value] of [
        ['If-None-Match', '*'],
        ['If-Modified-Since', new Date(Date.now() + 86_400_000).toUTCString()],
      ] as const) {
        const conditional = await request(h.app).get(path).set(auth).set(name, value);
        expect([path, name, conditional.status]).toEqual([path, name, 200]);
      }
    }
  });
});
