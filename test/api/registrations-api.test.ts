import request from 'supertest';
import { legacySubscription, licenseContract, startHarness, TEST_API_KEY, type Harness } from '../support/harness';

describe('POST /v1/registrations', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => h.close());

  const auth = { Authorization: `Bearer ${TEST_API_KEY}` };

  it('needs an API key: none, malformed or wrong → 401 problem+json', async () => {
    for (const header of [undefined, 'Basic abc', `Bearer ${TEST_API_KEY}x`, 'Bearer ']) {
      const req = request(h.app).post('/v1/registrations').send({ token: 't' });
      if (header !== undefined) req.set('Authorization', header);
      const res = await req;
      expect(res.status).toBe(401);
      expect(res.type).toBe('application/problem+json');
      expect(res.body).toMatchObject({ status: 401, code: 'unauthorized' });
    }
  });

  it('checks the key before anything else: garbage bodies and unknown /v1 paths without a key get 401, not validation details', async () => {
    const cases = [
      request(h.app).post('/v1/registrations').send({ nope: 1 }),
      request(h.app).post('/v1/registrations').set('content-type', 'application/json').send('{not json'),
      request(h.app).get('/v1/nothing-here'),
      request(h.app)
        .post('/v1/usage')
        .send({ records: 'x'.repeat(10_000) }),
    ];
    for (const res of await Promise.all(cases)) {
      expect(res.status).toBe(401);
      expect(res.headers['www-authenticate']).toBe('Bearer');
      expect(res.body).toEqual(expect.objectContaining({ code: 'unauthorized' }));
      expect(JSON.stringify(res.body)).not.toMatch(/nope|token|records/);
    }
  });

  it('redeems a token and answers the customer with its contract', async () => {
    const sub = await h.sim.subscribe({
      productCode: licenseContract.code,
      confirmation: 'manual',
      entitlements: [{ dimension: 'seats', integerValue: 12 }],
    });
    const res = await request(h.app).post('/v1/registrations').set(auth).send({ token: sub.registrationToken });
    expect(res.status).toBe(200);
    expect(res.body.entitlementsStatus).toBe('current');
    expect(res.body.customer).toMatchObject({
      productCode: licenseContract.code,
      customerAWSAccountId: sub.customerAWSAccountId,
      licenseArn: sub.licenseArn,
      status: 'pending',
      entitlements: [{ dimension: 'seats', valueType: 'integer', value: 12, expirationDate: null }],
    });
  });

  it('answers a subscription product without a contract read', async () => {
    const sub = await h.sim.subscribe({ productCode: legacySubscription.code, confirmation: 'manual', freeTrial: true });
    const res = await request(h.app).post('/v1/registrations').set(auth).send({ token: sub.registrationToken, offerType: 'free-trial' });
    expect(res.status).toBe(200);
    expect(res.body.entitlementsStatus).toBe('not-applicable');
    expect(res.body.customer.customerIdentifier).toBe(sub.customerIdentifier);
    expect(res.body.customer.freeTrial).toBe(true);
  });

  it('maps AWS errors to stable problem codes', async () => {
    const invalid = await request(h.app).post('/v1/registrations').set(auth).send({ token: 'bogus' });
    expect(invalid.status).toBe(400);
    expect(invalid.body.code).toBe('invalid_registration_token');
    h.sim.createProduct({ productCode: 'not-ours', pricingModel: 'subscription', identity: 'license', dimensions: [{ name: 'x' }] });
    const foreign = await h.sim.subscribe({ productCode: 'not-ours', confirmation: 'manual' });
    const forbidden = await request(h.app).post('/v1/registrations').set(auth).send({ token: foreign.registrationToken });
    expect(forbidden.status).toBe(403);
    expect(forbidden.body).toMatchObject({ code: 'unknown_product', productCode: 'not-ours' });
    const sub = await h.sim.subscribe({ productCode: legacySubscription.code, confirmation: 'manual' });
    h.sim.setFaults({ failNext: [{ operation: 'ResolveCustomer', error: 'ThrottlingException', count: 3 }] });
    const busy = await request(h.app).post('/v1/registrations').set(auth).send({ token: sub.registrationToken });
    h.sim.setFaults({});
    expect(busy.status).toBe(503);
    expect(busy.body.code).toBe('marketplace_unavailable');
    expect(busy.headers['retry-after']).toBe('30');
  });

  it('validates the body against the spec: garbage gets a 4xx problem, never a 500', async () => {
    const cases: Array<[string, string]> = [
      ['application/json', '{"token": 42}'],
      ['application/json', '{}'],
      ['application/json', '{"token":"a","extra":1}'],
      ['application/json', '{not json'],
      ['text/plain', 'token=abc'],
    ];
    for (const [type, body] of cases) {
      const res = await request(h.app).post('/v1/registrations').set(auth).set('Content-Type', type).send(body);
      expect(res.status).toBeGreaterThanOrEqual(400);
      expect(res.status).toBeLessThan(500);
      expect(res.type).toBe('application/problem+json');
    }
  });

  it('health and readiness answer as the spec says; unknown routes are a 404 problem', async () => {
    expect((await request(h.app).get('/healthz')).body).toEqual({ status: 'ok' });
    expect((await request(h.app).get('/readyz')).body).toEqual({ status: 'ready', checks: { store: 'ok', notifications: 'ok' } });
    const missing = await request(h.app).get('/v1/nothing-here').set(auth);
    expect(missing.status).toBe(404);
    expect(missing.type).toBe('application/problem+json');
  });
});
