import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import request from 'supertest';
import { ManualClock } from '../../src/platform/clock';
import { ALL_SCOPES } from '../../src/platform/api-keys';
import { parsePasswordHash, verifyPassword } from '../../src/console/admin-credentials';
import { startHarness, TEST_API_KEY, type Harness } from '../support/harness';
import { ADMIN_PASSWORD, cookieValue, loginForm, pageCsrf, passwordHash, setCookieLine, signIn } from './console-support';

const ADMIN_KEY = 'console-admin-key-0123456789abcdef';
const USAGE_KEY = 'console-usage-key-0123456789abcdef';

describe('console sign-in, sessions and CSRF', () => {
  let h: Harness;
  const clock = new ManualClock('2026-03-10T10:30:00.000Z');

  beforeAll(async () => {
    h = await startHarness({
      clock,
      env: {
        ADMIN_PASSWORD_HASH: passwordHash(),
        ADMIN_SESSION_TTL_SECONDS: '600',
        RATE_LIMIT_ADMIN_LOGIN_PER_MINUTE: '0',
        API_KEYS: `tests(${ALL_SCOPES.join(' ')})=${TEST_API_KEY},console(admin)=${ADMIN_KEY},app(usage:write)=${USAGE_KEY}`,
      },
    });
  });
  afterAll(async () => h.close());

  it('sends anonymous page requests to the sign-in page (303) and refuses anonymous actions (401 problem+json)', async () => {
    for (const path of ['/admin', '/admin/customers', '/admin/customers/x', '/admin/problems', '/admin/notifications']) {
      const res = await request(h.app).get(path);
      expect({ path, status: res.status, location: res.headers.location }).toEqual({ path, status: 303, location: '/admin/login' });
    }
    for (const path of ['/admin/logout', '/admin/problems/x/retry', '/admin/notifications/1/replay']) {
      const res = await request(h.app).post(path).type('form').send({ csrf: 'x' });
      expect({ path, status: res.status, type: res.type }).toEqual({ path, status: 401, type: 'application/problem+json' });
    }
  });

  it('refuses a forged or foreign cookie as if there were none', async () => {
    const buyerLike = `mb_admin=${'A'.repeat(40)}.${'B'.repeat(43)}`;
    expect((await request(h.app).get('/admin').set('Cookie', buyerLike)).status).toBe(303);
    const form = await loginForm(h.app);
    // The sign-in form's own sealed value is not a console session.
    expect((await request(h.app).get('/admin').set('Cookie', form.cookie.replace('mb_admin_login', 'mb_admin'))).status).toBe(303);
  });

  it('refuses sign-in without the form token, or with a wrong one (403), before looking at the password', async () => {
    const form = await loginForm(h.app);
    const none = await request(h.app).post('/admin/login').set('Cookie', form.cookie).type('form').send({ password: ADMIN_PASSWORD });
    expect(none.status).toBe(403);
    expect(cookieValue(none.headers['set-cookie'], 'mb_admin')).toBeUndefined();
    const wrong = await request(h.app)
      .post('/admin/login')
      .set('Cookie', form.cookie)
      .type('form')
      .send({ csrf: `${form.csrf}x`, password: ADMIN_PASSWORD });
    expect(wrong.status).toBe(403);
    const noCookie = await request(h.app).post('/admin/login').type('form').send({ csrf: form.csrf, password: ADMIN_PASSWORD });
    expect(noCookie.status).toBe(403);
  });

  it('refuses a bad password and a key without the admin scope (401, the page again)', async () => {
    for (const fields of [{ password: 'wrong' }, { password: '' }, { apiKey: USAGE_KEY }, { apiKey: 'not-a-key-at-all-000000000' }]) {
      const form = await loginForm(h.app);
      const res = await request(h.app)
        .post('/admin/login')
        .set('Cookie', form.cookie)
        .type('form')
        .send({ csrf: form.csrf, ...fields });
      expect({ fields, status: res.status }).toEqual({ fields, status: 401 });
      expect(res.text).toContain('not valid for the console');
      expect(cookieValue(res.headers['set-cookie'], 'mb_admin')).toBeUndefined();
    }
  });

  it('signs in with the password: an HttpOnly, SameSite=Strict, Secure cookie with the configured TTL', async () => {
    const form = await loginForm(h.app);
    const res = await request(h.app)
      .post('/admin/login')
      .set('Cookie', form.cookie)
      .type('form')
      .send({ csrf: form.csrf, password: ADMIN_PASSWORD });
    expect(res.status).toBe(303);
    expect(res.headers.location).toBe('/admin');
    const line = setCookieLine(res.headers['set-cookie'], 'mb_admin')!;
    expect(line).toMatch(/HttpOnly/);
    expect(line).toMatch(/SameSite=Strict/);
    expect(line).toMatch(/Secure/);
    expect(line).toMatch(/Max-Age=600/);
    expect(line).toMatch(/Path=\/admin/);
    const page = await request(h.app).get('/admin').set('Cookie', cookieValue(res.headers['set-cookie'], 'mb_admin')!);
    expect(page.status).toBe(200);
    expect(page.text).toContain('Overview');
  });

  it('exchanges an API key with the admin scope for a session', async () => {
    const cookie = await signIn(h.app, { apiKey: ADMIN_KEY });
    expect((await request(h.app).get('/admin/customers').set('Cookie', cookie)).status).toBe(200);
  });

  it('ends the session after ADMIN_SESSION_TTL_SECONDS', async () => {
    const cookie = await signIn(h.app, { password: ADMIN_PASSWORD });
    clock.advance(599_000);
    expect((await request(h.app).get('/admin').set('Cookie', cookie)).status).toBe(200);
    clock.advance(2_000);
    const res = await request(h.app).get('/admin').set('Cookie', cookie);
    expect(res.status).toBe(303);
    expect((await request(h.app).post('/admin/logout').set('Cookie', cookie).type('form').send({ csrf: 'x' })).status).toBe(401);
  });

  it('refuses actions whose CSRF token is missing, wrong or from another session (403), and accepts the right one', async () => {
    const cookie = await signIn(h.app, { password: ADMIN_PASSWORD });
    const other = await signIn(h.app, { password: ADMIN_PASSWORD });
    const otherCsrf = await pageCsrf(h.app, other);
    const csrf = await pageCsrf(h.app, cookie);
    for (const body of [{}, { csrf: 'wrong' }, { csrf: otherCsrf }]) {
      const res = await request(h.app).post('/admin/logout').set('Cookie', cookie).type('form').send(body);
      expect({ body, status: res.status, type: res.type, code: res.body?.code }).toEqual({
        body,
        status: 403,
        type: 'application/problem+json',
        code: 'csrf_failed',
      });
    }
    const retry = await request(h.app).post('/admin/problems/nope/retry').set('Cookie', cookie).type('form').send({ csrf: otherCsrf });
    expect(retry.status).toBe(403);
    const out = await request(h.app).post('/admin/logout').set('Cookie', cookie).type('form').send({ csrf });
    expect(out.status).toBe(303);
    expect(setCookieLine(out.headers['set-cookie'], 'mb_admin')).toMatch(/Max-Age=0/);
  });

  it('answers garbage with 4xx, never 5xx', async () => {
    const cookie = await signIn(h.app, { password: ADMIN_PASSWORD });
    const csrf = await pageCsrf(h.app, cookie);
    const cases = [
      request(h.app).post('/admin/login').set('Content-Type', 'application/json').send('{"password":'),
      request(h.app)
        .post('/admin/login')
        .type('form')
        .send(`password=${'x'.repeat(20_000)}`),
      request(h.app).post('/admin/login').type('form').send('csrf[]=a&csrf[]=b'),
      request(h.app).post('/admin/logout').set('Cookie', cookie).set('Content-Type', 'text/plain').send('hello'),
      request(h.app).post('/admin/problems/x/retry').set('Cookie', cookie).type('form').send({ csrf, extra: 'y' }),
      request(h.app).post('/admin/notifications/abc/replay').set('Cookie', cookie).type('form').send({ csrf }),
      request(h.app).post('/admin/notifications/99999/replay').set('Cookie', cookie).type('form').send({ csrf }),
      request(h.app).get('/admin/customers?status=bogus').set('Cookie', cookie),
      request(h.app).get('/admin/customers?after=nobody').set('Cookie', cookie),
      request(h.app).get('/admin/customers?unknown=1').set('Cookie', cookie),
      request(h.app).get('/admin/problems?state=%00').set('Cookie', cookie),
      request(h.app)
        .get(`/admin/customers/${'x'.repeat(300)}`)
        .set('Cookie', cookie),
    ];
    for (const [i, r] of cases.entries()) {
      const res = await r;
      expect({ i, status: res.status >= 400 && res.status < 500 }).toEqual({ i, status: true });
    }
  });

  it('serves the stylesheet and script as files, and its pages run no inline script (CSP)', async () => {
    const css = await request(h.app).get('/assets/console.css');
    expect(css.status).toBe(200);
    expect(css.type).toBe('text/css');
    const js = await request(h.app).get('/assets/console.js');
    expect(js.type).toBe('text/javascript');
    const page = await request(h.app).get('/admin/login');
    expect(page.headers['content-security-policy']).toMatch(/script-src 'self' 'nonce-/);
    expect(page.text).not.toMatch(/<script(?![^>]*\ssrc=)/);
    expect(page.text).not.toMatch(/\son[a-z]+=/);
  });
});

describe('README "Console": the ADMIN_PASSWORD_HASH one-liner', () => {
  it('makes a hash the service accepts for that password, and for no other', () => {
    const readme = readFileSync(join(__dirname, '..', '..', 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('## Console'), readme.indexOf('## Configuration'));
    const line = /```sh\n(node -e '[^\n]+' )'your password'\n```/.exec(section)?.[1];
    expect(line).toBeDefined();
    const script = /^node -e '(.*)' $/.exec(line!)![1]!;
    const out = execFileSync(process.execPath, ['-e', script, 'my secret words'], { encoding: 'utf8' }).trim();
    const hash = parsePasswordHash(out);
    if (typeof hash === 'string') throw new Error(hash);
    expect(verifyPassword(hash, 'my secret words')).toBe(true);
    expect(verifyPassword(hash, 'my secret word')).toBe(false);
    for (const bad of [
      'scrypt$1$8$1$AAAAAAAAAAA=$AAAAAAAAAAAAAAAAAAAAAA==',
      'argon2$x',
      `scrypt$16384$8$1$${'A'.repeat(4)}$${'A'.repeat(44)}`,
    ])
      expect(typeof parsePasswordHash(bad)).toBe('string');
  });
});

describe('console sign-in rate limit', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ env: { RATE_LIMIT_ADMIN_LOGIN_PER_MINUTE: '3' } });
  });
  afterAll(async () => h.close());

  it('refuses the attempt past RATE_LIMIT_ADMIN_LOGIN_PER_MINUTE from one address with 429 and Retry-After, and leaves the page itself open', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) {
      const form = await loginForm(h.app);
      const res = await request(h.app)
        .post('/admin/login')
        .set('Cookie', form.cookie)
        .type('form')
        .send({ csrf: form.csrf, apiKey: `wrong-key-${i}-000000000000000` });
      statuses.push(res.status);
      if (res.status === 429) {
        expect(res.type).toBe('application/problem+json');
        expect(res.headers['retry-after']).toBeDefined();
      }
    }
    expect(statuses).toEqual([401, 401, 401, 429]);
    expect((await request(h.app).get('/admin/login')).status).toBe(200);
    // Even the right key waits: the limit counts attempts, not failures.
    const form = await loginForm(h.app);
    const res = await request(h.app)
      .post('/admin/login')
      .set('Cookie', form.cookie)
      .type('form')
      .send({ csrf: form.csrf, apiKey: TEST_API_KEY });
    expect(res.status).toBe(429);
  });
});
