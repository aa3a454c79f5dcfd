import request from 'supertest';
import { legacySubscription, licenseContract, startHarness, type Harness } from '../support/harness';
import { describeDialects } from '../support/stores';

function cookieFrom(res: request.Response): string {
  const raw = res.headers['set-cookie'] as unknown as string[] | undefined;
  const session = raw?.find((c) => c.startsWith('mb_session='));
  if (!session) throw new Error('no session cookie');
  return session.split(';')[0]!;
}

function csrfFrom(page: string): string {
  const match = /name="csrf" value="([^"]+)"/.exec(page);
  if (!match?.[1]) throw new Error('no csrf field');
  return match[1];
}

describeDialects('registration URL (%s)', (dialect) => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness({ dialect });
  });
  afterAll(async () => h.close());

  async function register(token: string, extra: Record<string, string> = {}) {
    return request(h.app)
      .post('/marketplace/register')
      .type('form')
      .send({ 'x-amzn-marketplace-token': token, ...extra });
  }

  it('redeems the token, stores the legacy customer and redirects with a signed session only', async () => {
    const sub = await h.sim.subscribe({ productCode: legacySubscription.code, confirmation: 'manual' });
    const res = await register(sub.registrationToken);
    expect(res.status).toBe(303);
    expect(res.headers.location).toBe('/marketplace/onboarding');
    const setCookie = (res.headers['set-cookie'] as unknown as string[]).join('\n');
    expect(setCookie).toMatch(/HttpOnly/);
    expect(setCookie).toMatch(/SameSite=Lax/);
    expect(setCookie).not.toContain(sub.registrationToken);
    expect(res.headers.location).not.toContain(sub.registrationToken);

    const customer = await h.container.customers.findByIdentity({
      productCode: legacySubscription.code,
      customerIdentifier: sub.customerIdentifier,
    });
    expect(customer).toMatchObject({
      productCode: legacySubscription.code,
      customerIdentifier: sub.customerIdentifier,
      customerAWSAccountId: sub.customerAWSAccountId,
    });
    expect(customer?.subscription.status).toBe('pending');
    expect(customer?.registeredAt).not.toBeNull();

    const page = await request(h.app).get('/marketplace/onboarding').set('Cookie', cookieFrom(res));
    expect(page.status).toBe(200);
    expect(page.text).toContain('waiting for AWS Marketplace to confirm your subscription');
    expect(page.text).toContain('help@seller.example');
    expect(page.text).toContain('https://app.seller.example/login');
    expect(page.text).toContain('Legacy Subscription SaaS');
    expect(page.headers['content-security-policy']).toMatch(/form-action 'self'/);
    expect(page.headers['x-content-type-options']).toBe('nosniff');
    expect(page.headers['cache-control']).toBe('no-store');
    expect(page.text).toContain('"Segoe UI"'); // the stylesheet is markup, not escaped text
    // The token appears in no log line.
    expect(h.logs()).not.toContain(sub.registrationToken);
  });

  it('reads a contract with the licence identity and shows its dimensions and expiry', async () => {
    const sub = await h.sim.subscribe({
      productCode: licenseContract.code,
      confirmation: 'manual',
      entitlements: [
        { dimension: 'seats', integerValue: 40, expirationDate: new Date('2027-11-30T00:00:00Z') },
        { dimension: 'sso', booleanValue: true, expirationDate: new Date('2027-11-30T00:00:00Z') },
      ],
    });
    // Another buyer of the same product: its entitlements must not leak into this customer.
    await h.sim.subscribe({
      productCode: licenseContract.code,
      confirmation: 'manual',
      entitlements: [{ dimension: 'seats', integerValue: 999 }],
    });
    const res = await register(sub.registrationToken);
    expect(res.status).toBe(303);
    const customer = await h.container.customers.findByIdentity({ licenseArn: sub.licenseArn });
    expect(customer).toMatchObject({
      customerIdentifier: null,
      customerAWSAccountId: sub.customerAWSAccountId,
      licenseArn: sub.licenseArn,
    });
    const entitlements = await h.container.customers.listEntitlements(customer!.id);
    expect(entitlements).toEqual([
      { dimension: 'seats', value: { type: 'integer', value: 40 }, expirationDate: new Date('2027-11-30T00:00:00Z') },
      { dimension: 'sso', value: { type: 'boolean', value: true }, expirationDate: new Date('2027-11-30T00:00:00Z') },
    ]);
    const page = await request(h.app).get('/marketplace/onboarding').set('Cookie', cookieFrom(res));
    expect(page.text).toMatch(/<td>Seats<\/td>\s*<td>40<\/td>\s*<td>2027-11-30<\/td>/);
    expect(page.text).toMatch(/<td>Single sign-on<\/td>\s*<td>Included<\/td>/);
  });

  it('reads every page of a large contract', async () => {
    const dims = Array.from({ length: 60 }, (_, i) => ({ name: `d${i}` }));
    h.sim.createProduct({ productCode: 'unused-big', pricingModel: 'contract', identity: 'license', dimensions: dims });
    // The harness product has 2 dimensions; a configured product with many is checked at the gateway level.
    const { SdkEntitlementReader } = await import('../../src/aws/entitlement-reader.gateway');
    const sub = await h.sim.subscribe({
      productCode: 'unused-big',
      confirmation: 'manual',
      entitlements: dims.map((d, i) => ({ dimension: d.name, integerValue: i })),
    });
    const read = await new SdkEntitlementReader(h.aws.entitlement).readEntitlements('unused-big', {
      customerAWSAccountId: sub.customerAWSAccountId,
      licenseArn: sub.licenseArn,
    });
    expect(read).toHaveLength(60);
    expect(new Set(read.map((e) => e.dimension)).size).toBe(60);
  });

  it('a repeated or new registration of the same buyer reaches the same customer and keeps the sign-up', async () => {
    const sub = await h.sim.subscribe({ productCode: legacySubscription.code, confirmation: 'manual' });
    const first = await register(sub.registrationToken);
    const page = await request(h.app).get('/marketplace/onboarding').set('Cookie', cookieFrom(first));
    const saved = await request(h.app)
      .post('/marketplace/onboarding')
      .set('Cookie', cookieFrom(first))
      .type('form')
      .send({ csrf: csrfFrom(page.text), email: 'ops@buyer.example', company: 'Buyer Inc', contactName: 'Dana' });
    expect(saved.status).toBe(303);
    // LOGIN_URL is set: saved, the buyer goes on to the app's sign-in with a hand-off token.
    expect(saved.headers.location).toMatch(/^https:\/\/app\.seller\.example\/login\?handoff_token=[\w-]+\.[\w-]+\.[\w-]+$/);

    const again = await register(h.sim.newRegistrationToken(sub.id));
    expect(again.status).toBe(303);
    const page2 = await request(h.app).get('/marketplace/onboarding').set('Cookie', cookieFrom(again));
    expect(page2.text).toContain('value="ops@buyer.example"');
    expect(page2.text).toContain('Update details');
    const rows = await h.db.store.db
      .selectFrom('customers')
      .select('id')
      .where('customer_identifier', '=', sub.customerIdentifier!)
      .execute();
    expect(rows).toHaveLength(1);
  });

  it('shows field errors next to the fields, keeps the values, and accepts a second submission', async () => {
    const sub = await h.sim.subscribe({ productCode: legacySubscription.code, confirmation: 'manual' });
    const cookie = cookieFrom(await register(sub.registrationToken));
    const page = await request(h.app).get('/marketplace/onboarding').set('Cookie', cookie);
    const csrf = csrfFrom(page.text);
    const bad = await request(h.app)
      .post('/marketplace/onboarding')
      .set('Cookie', cookie)
      .type('form')
      .send({ csrf, email: 'not-an-email', company: '', contactName: '<script>x</script>' });
    // Post-redirect-get: the errors are shown by a GET, so Back never asks to re-post the form.
    expect(bad.status).toBe(303);
    expect(bad.headers.location).toBe('/marketplace/onboarding');
    const flash = (bad.headers['set-cookie'] as unknown as string[]).find((c) => c.startsWith('mb_flash='))!.split(';')[0]!;
    const shownBad = await request(h.app).get('/marketplace/onboarding').set('Cookie', `${cookie}; ${flash}`);
    expect(shownBad.status).toBe(200);
    expect(shownBad.text).toMatch(/id="field-email-error">Enter an email address/);
    expect(shownBad.text).toMatch(/id="field-company-error">Enter your company name/);
    expect(shownBad.text).not.toContain('<script>x</script>');
    expect(shownBad.text).toContain('&lt;script&gt;x&lt;/script&gt;');
    expect(shownBad.text).not.toMatch(/field-contactName-error/);
    // The errors are shown once: the cookie is cleared by that GET.
    expect(String(shownBad.headers['set-cookie'])).toMatch(/mb_flash=; .*Max-Age=0/);
    for (let i = 0; i < 2; i++) {
      const ok = await request(h.app)
        .post('/marketplace/onboarding')
        .set('Cookie', cookie)
        .type('form')
        .send({ csrf, email: `a${i}@b.example`, company: 'B', contactName: 'C' });
      expect(ok.status).toBe(303);
    }
    const shown = await request(h.app).get('/marketplace/onboarding?saved=1').set('Cookie', cookie);
    expect(shown.text).toContain('your account details are saved');
    expect(shown.text).toContain('value="a1@b.example"');
  });

  it('refuses a sign-up without the anti-forgery token, or with a forged or missing session', async () => {
    const sub = await h.sim.subscribe({ productCode: legacySubscription.code, confirmation: 'manual' });
    const cookie = cookieFrom(await register(sub.registrationToken));
    const noCsrf = await request(h.app)
      .post('/marketplace/onboarding')
      .set('Cookie', cookie)
      .type('form')
      .send({ email: 'a@b.example', company: 'B', contactName: 'C' });
    expect(noCsrf.status).toBe(403);
    const forged = `${cookie.slice(0, -3)}abc`;
    expect((await request(h.app).get('/marketplace/onboarding').set('Cookie', forged)).status).toBe(401);
    const none = await request(h.app).get('/marketplace/onboarding');
    expect(none.status).toBe(401);
    expect(none.text).toContain('Set up your account');
  });

  it('answers a missing or empty token with 400 and a page that says what to do', async () => {
    for (const body of [{}, { 'x-amzn-marketplace-token': '' }, { 'x-amzn-marketplace-token': '   ' }]) {
      const res = await request(h.app).post('/marketplace/register').type('form').send(body);
      expect(res.status).toBe(400);
      expect(res.type).toBe('text/html');
      expect(res.text).toContain('Set up your account');
    }
  });

  it('answers an invalid token with 400 and never logs it', async () => {
    const res = await register('not-a-real-token-zzz');
    expect(res.status).toBe(400);
    expect(res.text).toContain('choose &quot;Set up your account&quot; again');
    expect(h.logs()).not.toContain('not-a-real-token-zzz');
  });

  it('refuses a subscription to a product this service does not serve with 403', async () => {
    h.sim.createProduct({
      productCode: 'someone-elses-product',
      pricingModel: 'subscription',
      identity: 'license',
      dimensions: [{ name: 'x' }],
    });
    const sub = await h.sim.subscribe({ productCode: 'someone-elses-product', confirmation: 'manual' });
    const res = await register(sub.registrationToken);
    expect(res.status).toBe(403);
    expect(await h.container.customers.findByIdentity({ licenseArn: sub.licenseArn })).toBeUndefined();
  });

  it('answers 503 with Retry-After when AWS throttles or fails, and succeeds on a later try', async () => {
    const sub = await h.sim.subscribe({ productCode: legacySubscription.code, confirmation: 'manual' });
    h.sim.setFaults({ failNext: [{ operation: 'ResolveCustomer', error: 'ThrottlingException', count: 3 }] });
    const throttled = await register(sub.registrationToken);
    expect(throttled.status).toBe(503);
    expect(throttled.headers['retry-after']).toBe('30');
    h.sim.setFaults({ failNext: [{ operation: 'ResolveCustomer', error: 'InternalServiceErrorException', count: 3 }] });
    expect((await register(sub.registrationToken)).status).toBe(503);
    h.sim.setFaults({});
    expect((await register(sub.registrationToken)).status).toBe(303);
  });

  it('keeps the registration when GetEntitlements fails, and says the contract is not available yet', async () => {
    const sub = await h.sim.subscribe({
      productCode: licenseContract.code,
      confirmation: 'manual',
      entitlements: [{ dimension: 'seats', integerValue: 5 }],
    });
    h.sim.setFaults({ failNext: [{ operation: 'GetEntitlements', error: 'ThrottlingException', count: 3 }] });
    const res = await register(sub.registrationToken);
    h.sim.setFaults({});
    expect(res.status).toBe(303);
    const page = await request(h.app).get('/marketplace/onboarding').set('Cookie', cookieFrom(res));
    expect(page.text).toContain('Your contract details are not available yet');
    expect(await h.container.customers.findByIdentity({ licenseArn: sub.licenseArn })).toBeDefined();
  });

  it('rejects oversized and malformed form bodies with a 4xx, never a 500', async () => {
    const huge = await register('x'.repeat(5000));
    expect(huge.status).toBe(400);
    const garbage = await request(h.app)
      .post('/marketplace/register')
      .set('Content-Type', 'application/x-www-form-urlencoded')
      .send('%%%&&&=%zz');
    expect(garbage.status).toBeGreaterThanOrEqual(400);
    expect(garbage.status).toBeLessThan(500);
  });
});
