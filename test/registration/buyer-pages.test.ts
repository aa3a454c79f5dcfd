import { createLocalJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import request from 'supertest';
import { applyTransition, type SubscriptionState, type TransitionKind } from '../../src/customers/subscription-state';
import { HANDOFF_TOKEN_TYPE } from '../../src/handoff/handoff.service';
import { ManualClock } from '../../src/platform/clock';
import { legacySubscription, licenseContract, startHarness, TEST_API_KEY, type Harness } from '../support/harness';

function cookieFrom(res: request.Response): string {
  const raw = res.headers['set-cookie'] as unknown as string[] | undefined;
  return raw!.find((c) => c.startsWith('mb_session='))!.split(';')[0]!;
}
const csrfFrom = (page: string) => /name="csrf" value="([^"]+)"/.exec(page)![1]!;
const tokenFrom = (location: string) => new URL(location).searchParams.get('handoff_token')!;

/** The buyer's pages, finished: ended contracts, the waiting page, first visits, free trials, the hand-off. */
describe('buyer pages', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => h.close());

  async function registered(productCode = legacySubscription.code, extra: Record<string, string> = {}) {
    const sub = await h.sim.subscribe({ productCode, confirmation: 'manual', entitlements: [{ dimension: 'seats', integerValue: 4 }] });
    const res = await request(h.app)
      .post('/marketplace/register')
      .type('form')
      .send({ 'x-amzn-marketplace-token': sub.registrationToken, ...extra });
    expect(res.status).toBe(303);
    const cookie = cookieFrom(res);
    const customer = (
      await h.container.customers.findByReference(productCode === legacySubscription.code ? sub.customerIdentifier! : sub.licenseArn!)
    )[0]!;
    return { sub, cookie, customer };
  }

  async function move(customerId: string, ...kinds: TransitionKind[]): Promise<void> {
    let state: SubscriptionState = (await h.container.customers.findById(customerId))!.subscription;
    let t = Date.parse('2026-12-01T10:00:00Z');
    for (const kind of kinds) {
      const r = applyTransition(state, { kind, eventTime: new Date((t += 60_000)) });
      if (r.outcome !== 'applied') throw new Error(`${kind} not applied`);
      state = r.state;
    }
    await h.db.store.db.transaction().execute((tx) => h.container.customers.saveSubscriptionState(tx, customerId, state, h.clock.now()));
  }

  it('after the contract ends the page says so and what to do, the form is locked and a post is refused', async () => {
    const { cookie, customer } = await registered(licenseContract.code);
    await move(customer.id, 'license-updated', 'agreement-ended', 'license-deprovisioned');
    const page = await request(h.app).get('/marketplace/onboarding').set('Cookie', cookie);
    expect(page.status).toBe(200);
    expect(page.text).toContain('Your subscription has ended.');
    expect(page.text).toContain('subscribe on AWS Marketplace');
    expect(page.text).toContain('help@seller.example');
    expect(page.text).toMatch(/<fieldset disabled>/);
    expect(page.text).not.toMatch(/<button type="submit">(Create account|Update details)/);
    expect(page.text).toContain('Your contract has ended');
    expect(page.text).not.toContain('<td>Seats</td>');
    const post = await request(h.app)
      .post('/marketplace/onboarding')
      .set('Cookie', cookie)
      .type('form')
      .send({ csrf: csrfFrom(page.text), email: 'late@buyer.example', company: 'Late', contactName: 'L' });
    expect(post.status).toBe(409);
    expect(post.text).toContain('subscribe on AWS Marketplace');
    expect((await h.container.customers.findById(customer.id))!.onboarding.email).toBeNull();
    const onwards = await request(h.app)
      .post('/marketplace/continue')
      .set('Cookie', cookie)
      .type('form')
      .send({ csrf: csrfFrom(page.text) });
    expect(onwards.status).toBe(409);
  });

  it('the waiting page refreshes itself within the CSP: a nonce-bound script polls the status, a meta refresh without scripts', async () => {
    const { cookie, customer } = await registered();
    const page = await request(h.app).get('/marketplace/onboarding').set('Cookie', cookie);
    const csp = String(page.headers['content-security-policy']);
    const nonce = /script-src 'self' 'nonce-([^']+)'/.exec(csp)?.[1];
    expect(nonce).toBeDefined();
    const scripts = [...page.text.matchAll(/<script([^>]*)>/g)].map((m) => m[1]);
    expect(scripts).toEqual([` nonce="${nonce}"`]);
    expect(page.text).toContain('/marketplace/onboarding/status');
    expect(page.text).toMatch(/<noscript><meta http-equiv="refresh" content="30"><\/noscript>/);
    expect(page.text).toContain('this page updates by itself');
    // Every response has its own nonce.
    const again = await request(h.app).get('/marketplace/onboarding').set('Cookie', cookie);
    expect(String(again.headers['content-security-policy'])).not.toContain(nonce!);

    const status = await request(h.app).get('/marketplace/onboarding/status').set('Cookie', cookie);
    expect(status.status).toBe(200);
    expect(status.body).toMatchObject({ status: 'pending', css: 'pending' });
    await move(customer.id, 'subscribe-success');
    expect((await request(h.app).get('/marketplace/onboarding/status').set('Cookie', cookie)).body).toMatchObject({
      status: 'active',
      text: 'Your subscription is active.',
    });
    // Once active there is nothing to wait for: no poller.
    expect((await request(h.app).get('/marketplace/onboarding').set('Cookie', cookie)).text).not.toContain('<script');
    const none = await request(h.app).get('/marketplace/onboarding/status');
    expect(none.status).toBe(401);
    expect(none.body.code).toBe('no_session');
  });

  it('a first visit without a session is told where the page comes from; an expired session is told it expired', async () => {
    const first = await request(h.app).get('/marketplace/onboarding');
    expect(first.status).toBe(401);
    expect(first.text).toContain('Open this page from AWS Marketplace');
    expect(first.text).not.toMatch(/expired/i);
    const stale = await request(h.app).get('/marketplace/onboarding').set('Cookie', 'mb_session=garbage.value');
    expect(stale.status).toBe(401);
    expect(stale.text).toContain('Your session has expired');
  });

  it('says "free trial" while a free trial waits for AWS, and once it is active', async () => {
    const { cookie, customer } = await registered(legacySubscription.code, { 'x-amzn-marketplace-offer-type': 'free-trial' });
    const page = await request(h.app).get('/marketplace/onboarding').set('Cookie', cookie);
    expect(page.text).toContain('waiting for AWS Marketplace to confirm your free trial');
    await move(customer.id, 'subscribe-success');
    expect((await request(h.app).get('/marketplace/onboarding').set('Cookie', cookie)).text).toContain('Your free trial is active.');
  });

  it('hands the buyer to LOGIN_URL with a signed 5-minute token the app verifies with the JWKS and redeems once', async () => {
    const { cookie, customer, sub } = await registered();
    const page = await request(h.app).get('/marketplace/onboarding').set('Cookie', cookie);
    expect(String(page.headers['content-security-policy'])).toMatch(/form-action 'self' https:\/\/app\.seller\.example/);
    const saved = await request(h.app)
      .post('/marketplace/onboarding')
      .set('Cookie', cookie)
      .type('form')
      .send({ csrf: csrfFrom(page.text), email: 'ops@acme.example', company: 'Acme', contactName: 'Dana' });
    expect(saved.status).toBe(303);
    expect(saved.headers.location).toMatch(/^https:\/\/app\.seller\.example\/login\?handoff_token=/);
    const token = tokenFrom(saved.headers.location!);

    const jwks = await request(h.app).get('/.well-known/jwks.json');
    expect(jwks.status).toBe(200);
    expect(jwks.body.keys).toHaveLength(1);
    expect(jwks.body.keys[0]).toMatchObject({ kty: 'EC', crv: 'P-256', alg: 'ES256', use: 'sig' });
    expect(jwks.body.keys[0].d).toBeUndefined();
    expect(decodeProtectedHeader(token)).toMatchObject({ alg: 'ES256', typ: HANDOFF_TOKEN_TYPE, kid: jwks.body.keys[0].kid });
    const { payload } = await jwtVerify(token, createLocalJWKSet(jwks.body), {
      audience: 'https://app.seller.example',
      issuer: h.config.http.publicUrl,
      typ: HANDOFF_TOKEN_TYPE,
    });
    expect(payload).toMatchObject({
      sub: customer.id,
      productCode: legacySubscription.code,
      identity: { customerIdentifier: sub.customerIdentifier },
      email: 'ops@acme.example',
      company: 'Acme',
      status: 'pending',
    });
    expect(payload.exp! - payload.iat!).toBe(300);
    // Another audience does not accept it.
    await expect(jwtVerify(token, createLocalJWKSet(jwks.body), { audience: 'https://other.example' })).rejects.toThrow();

    const auth = { Authorization: `Bearer ${TEST_API_KEY}` };
    const redeemed = await request(h.app).post('/v1/handoffs/redeem').set(auth).send({ token });
    expect(redeemed.status).toBe(200);
    expect(redeemed.body).toMatchObject({ jti: payload.jti, customer: { id: customer.id, onboarding: { email: 'ops@acme.example' } } });
    const twice = await request(h.app).post('/v1/handoffs/redeem').set(auth).send({ token });
    expect(twice.status).toBe(409);
    expect(twice.body.code).toBe('handoff_token_used');
    const forged = await request(h.app)
      .post('/v1/handoffs/redeem')
      .set(auth)
      .send({ token: `${token.slice(0, -4)}AAAA` });
    expect(forged.status).toBe(400);
    expect(forged.body.code).toBe('invalid_handoff_token');

    // Coming back later: the button mints a fresh token at the click.
    const back = await request(h.app).get('/marketplace/onboarding').set('Cookie', cookie);
    expect(back.text).toContain('action="/marketplace/continue"');
    const onwards = await request(h.app)
      .post('/marketplace/continue')
      .set('Cookie', cookie)
      .type('form')
      .send({ csrf: csrfFrom(back.text) });
    expect(onwards.status).toBe(303);
    expect(tokenFrom(onwards.headers.location!)).not.toBe(token);
    expect((await request(h.app).post('/marketplace/continue').set('Cookie', cookie).type('form').send({ csrf: 'nope' })).status).toBe(403);
  });
});

describe('hand-off tokens and time', () => {
  let h: Harness;
  const clock = new ManualClock(Math.floor(Date.now() / 1000) * 1000);
  beforeAll(async () => {
    h = await startHarness({ clock });
  });
  afterAll(async () => h.close());

  it('refuses a token redeemed after its 5 minutes', async () => {
    const c = await h.container.customers.upsert({ productCode: legacySubscription.code, customerIdentifier: 'late-buyer' }, clock.now(), {
      registered: true,
    });
    const { token } = await h.container.handoff.issue(c);
    clock.advance(306_000);
    const res = await request(h.app).post('/v1/handoffs/redeem').set('Authorization', `Bearer ${TEST_API_KEY}`).send({ token });
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('handoff_token_expired');
  });
});

describe('buyer pages without the sign-up form', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ env: { ONBOARDING_FORM: 'false' } });
  });
  afterAll(async () => h.close());

  it('the registration goes straight to LOGIN_URL with a token; the page shows the status and a continue button only', async () => {
    const sub = await h.sim.subscribe({ productCode: legacySubscription.code, confirmation: 'manual' });
    const res = await request(h.app).post('/marketplace/register').type('form').send({ 'x-amzn-marketplace-token': sub.registrationToken });
    expect(res.status).toBe(303);
    expect(res.headers.location).toMatch(/^https:\/\/app\.seller\.example\/login\?handoff_token=/);
    const page = await request(h.app).get('/marketplace/onboarding').set('Cookie', cookieFrom(res));
    expect(page.text).toContain('Subscription status:');
    expect(page.text).not.toContain('name="email"');
    expect(page.text).toContain('action="/marketplace/continue"');
  });
});
