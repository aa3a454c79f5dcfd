import request from 'supertest';
import { ALL_SCOPES, type ApiScope } from '../../src/platform/api-keys';
import { startHarness, TEST_API_KEY, type Harness } from '../support/harness';
import { routedOperations, samplePath } from '../support/routes';

const KEYS = Object.fromEntries(ALL_SCOPES.map((s, i) => [s, `scoped-key-${i}-0123456789abcdef`])) as Record<ApiScope, string>;

/**
 * Every machine route refuses anonymous callers and keys without its scope. The routes come from
 * the Express router itself, not from a list kept by hand: a route added tomorrow is covered.
 */
describe('authentication and scopes of every machine route', () => {
  let h: Harness;
  let operations: Array<{ method: string; path: string }>;

  beforeAll(async () => {
    const scoped = ALL_SCOPES.map((s) => `only-${s.replace(':', '-')}(${s})=${KEYS[s]}`).join(',');
    h = await startHarness({ env: { API_KEYS: `tests(${ALL_SCOPES.join(' ')})=${TEST_API_KEY},${scoped}` } });
    operations = [...routedOperations(h.app)]
      .map((op) => ({ method: op.split(' ')[0]!, path: op.split(' ')[1]! }))
      .filter((op) => op.path.startsWith('/v1/') || op.path === '/metrics');
  });
  afterAll(async () => h.close());

  const send = (method: string, path: string, key?: string) => {
    const r = request(h.app)[method.toLowerCase() as 'get' | 'post' | 'patch' | 'delete'](samplePath(path));
    return key === undefined ? r : r.set('Authorization', `Bearer ${key}`);
  };

  it('finds the machine routes in the router', () => {
    expect(operations.length).toBeGreaterThanOrEqual(5);
  });

  it('refuses every machine route without a key, with a malformed header, and with an unknown key: 401', async () => {
    for (const { method, path } of operations) {
      for (const header of [undefined, 'Basic abc', 'Bearer', 'Bearer not-a-configured-key-0000000000']) {
        let r = request(h.app)[method.toLowerCase() as 'get'](samplePath(path));
        if (header !== undefined) r = r.set('Authorization', header);
        const res = await r;
        expect({ op: `${method} ${path}`, header, status: res.status, type: res.type }).toEqual({
          op: `${method} ${path}`,
          header,
          status: 401,
          type: 'application/problem+json',
        });
      }
    }
  });

  it('refuses every machine route to a key without its scope (403 insufficient_scope), and lets the scoped key past', async () => {
    for (const { method, path } of operations) {
      const passed: ApiScope[] = [];
      for (const scope of ALL_SCOPES) {
        const res = await send(method, path, KEYS[scope]);
        if (res.status === 403 && res.body?.code === 'insufficient_scope') {
          expect(res.headers['www-authenticate']).toMatch(/error="insufficient_scope", scope="[a-z:]+"/);
          continue;
        }
        expect([401, 403]).not.toContain(res.status);
        passed.push(scope);
      }
      expect({ op: `${method} ${path}`, passed: passed.length }).toEqual({ op: `${method} ${path}`, passed: 1 });
    }
  });

  it('logs the name of the key with the request, never the key', async () => {
    await send('GET', '/v1/access', KEYS['access:read']).query({ customer: 'nobody' });
    const line = h
      .logs()
      .split('\n')
      .find((l) => l.includes('"apiKey":"only-access-read"'));
    expect(line).toBeDefined();
    expect(h.logs()).not.toContain(KEYS['access:read']);
    expect(h.logs()).not.toContain(TEST_API_KEY);
  });
});

/**
 * Every console route refuses anonymous callers: pages send them to the sign-in page (303),
 * actions answer 401. The routes come from the router, so a console route added tomorrow is covered;
 * only the sign-in page itself (and its form) is open.
 */
describe('every /admin route refuses anonymous callers', () => {
  let h: Harness;
  let operations: Array<{ method: string; path: string }>;
  const OPEN = new Set(['GET /admin/login', 'POST /admin/login']);

  beforeAll(async () => {
    h = await startHarness();
    operations = [...routedOperations(h.app)]
      .filter((op) => !OPEN.has(op))
      .map((op) => ({ method: op.split(' ')[0]!, path: op.split(' ')[1]! }))
      .filter((op) => op.path === '/admin' || op.path.startsWith('/admin/'));
  });
  afterAll(async () => h.close());

  it('finds the console routes in the router', () => {
    expect(operations.length).toBeGreaterThanOrEqual(8);
    expect(operations.some((o) => o.method === 'POST')).toBe(true);
  });

  it('sends anonymous page requests to sign in (303) and refuses anonymous actions (401 problem+json), whatever the cookie or body', async () => {
    for (const { method, path } of operations) {
      for (const cookie of [undefined, 'mb_admin=', 'mb_admin=forged.value', 'mb_session=abc']) {
        let r = request(h.app)[method.toLowerCase() as 'get' | 'post'](samplePath(path));
        if (cookie !== undefined) r = r.set('Cookie', cookie);
        if (method === 'POST') r = r.set('Content-Type', 'application/json').send('{"garbage":');
        const res = await r;
        const expected = method === 'GET' ? { status: 303, location: '/admin/login' } : { status: 401, type: 'application/problem+json' };
        const got = method === 'GET' ? { status: res.status, location: res.headers.location } : { status: res.status, type: res.type };
        expect({ op: `${method} ${path}`, cookie, ...got }).toEqual({ op: `${method} ${path}`, cookie, ...expected });
      }
    }
  });
});
