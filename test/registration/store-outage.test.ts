import request from 'supertest';
import { legacySubscription, startHarness, TEST_API_KEY, type Harness } from '../support/harness';

/** A database that cannot be reached is a retryable 503 at every route, never a 500 or a lost buyer. */
describe('registration while the store is unreachable', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => h.close());
  afterEach(() => jest.restoreAllMocks());

  const refused = () => Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });

  it('the registration URL answers a 503 page with Retry-After, then works once the store is back', async () => {
    const sub = await h.sim.subscribe({ productCode: legacySubscription.code, confirmation: 'manual' });
    const spy = jest.spyOn(h.container.customers, 'upsert').mockRejectedValue(refused());
    const res = await request(h.app).post('/marketplace/register').type('form').send({ 'x-amzn-marketplace-token': sub.registrationToken });
    expect(res.status).toBe(503);
    expect(res.type).toBe('text/html');
    expect(res.headers['retry-after']).toBe('30');
    expect(res.text).toContain('choose &quot;Set up your account&quot; again');
    expect(res.text).not.toContain('ECONNREFUSED');
    spy.mockRestore();
    const again = await h.sim.subscribe({ productCode: legacySubscription.code, confirmation: 'manual' });
    expect(
      (await request(h.app).post('/marketplace/register').type('form').send({ 'x-amzn-marketplace-token': again.registrationToken }))
        .status,
    ).toBe(303);
  });

  it('the JSON registration answers 503 store_unavailable as problem+json', async () => {
    const sub = await h.sim.subscribe({ productCode: legacySubscription.code, confirmation: 'manual' });
    jest.spyOn(h.container.customers, 'upsert').mockRejectedValue(refused());
    const res = await request(h.app)
      .post('/v1/registrations')
      .set('Authorization', `Bearer ${TEST_API_KEY}`)
      .send({ token: sub.registrationToken });
    expect(res.status).toBe(503);
    expect(res.type).toBe('application/problem+json');
    expect(res.headers['retry-after']).toBe('30');
    expect(res.body).toMatchObject({ status: 503, code: 'store_unavailable' });
  });

  it('the onboarding page answers a 503 page', async () => {
    const sub = await h.sim.subscribe({ productCode: legacySubscription.code, confirmation: 'manual' });
    const reg = await request(h.app).post('/marketplace/register').type('form').send({ 'x-amzn-marketplace-token': sub.registrationToken });
    const cookie = (reg.headers['set-cookie'] as unknown as string[]).map((c) => c.split(';')[0]).join('; ');
    jest.spyOn(h.container.customers, 'findById').mockRejectedValue(Object.assign(new Error('Connection terminated unexpectedly'), {}));
    const page = await request(h.app).get('/marketplace/onboarding').set('Cookie', cookie);
    expect(page.status).toBe(503);
    expect(page.type).toBe('text/html');
  });
});
