import request from 'supertest';
import { startHarness, TEST_API_KEY, type Harness } from '../support/harness';

/**
 * Garbage at every entry point gets a clear 4xx in the form the route speaks (a page for the
 * buyer's browser, problem+json for machines), never a 500; and every answer is one openapi.yaml
 * declares (the harness fails the suite on any that is not).
 */
describe('garbage requests', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => h.close());
  const auth = { Authorization: `Bearer ${TEST_API_KEY}` };

  it.each([
    [
      'oversized registration form',
      () =>
        request(h.app)
          .post('/marketplace/register')
          .type('form')
          .send(`x-amzn-marketplace-token=${'a'.repeat(20_000)}`),
      413,
      'text/html',
    ],
    ['JSON to the registration URL', () => request(h.app).post('/marketplace/register').type('json').send('{"a":1}'), 415, 'text/html'],
    [
      'token too long for the spec',
      () =>
        request(h.app)
          .post('/marketplace/register')
          .type('form')
          .send(`x-amzn-marketplace-token=${'a'.repeat(5000)}`),
      400,
      'text/html',
    ],
    ['sign-up form without a session', () => request(h.app).post('/marketplace/onboarding').type('form').send('csrf=1'), 401, 'text/html'],
    ['plain text to the sign-up form', () => request(h.app).post('/marketplace/onboarding').type('text').send('hello'), 415, 'text/html'],
    [
      'a 3 MB registration body',
      () =>
        request(h.app)
          .post('/v1/registrations')
          .set(auth)
          .type('json')
          .send(JSON.stringify({ token: 'x'.repeat(3_000_000) })),
      413,
      'application/problem+json',
    ],
    [
      'a form to a JSON route',
      () => request(h.app).post('/v1/registrations').set(auth).type('form').send('token=1'),
      415,
      'application/problem+json',
    ],
    ['broken JSON usage', () => request(h.app).post('/v1/usage').set(auth).type('json').send('{bad'), 400, 'application/problem+json'],
    [
      'usage records of the wrong type',
      () => request(h.app).post('/v1/usage').set(auth).send({ records: 'all of them' }),
      400,
      'application/problem+json',
    ],
    ['an unknown record state', () => request(h.app).get('/v1/metering/records?state=nope').set(auth), 400, 'application/problem+json'],
    ...['1e400', 'Infinity', '-1', '0', '1.5', 'abc', '501', '%00'].map(
      (limit) =>
        [
          `limit=${limit} on the records list`,
          () => request(h.app).get(`/v1/metering/records?limit=${limit}`).set(auth),
          400,
          'application/problem+json',
        ] as const,
    ),
    [
      'retrying a record that does not exist',
      () => request(h.app).post('/v1/metering/records/nope/retry').set(auth),
      404,
      'application/problem+json',
    ],
    [
      'an SNS body that is not JSON',
      () => request(h.app).post('/marketplace/sns').type('text').send('garbage'),
      400,
      'application/problem+json',
    ],
  ] as const)('%s', async (_name, send, status, type) => {
    const res = await send();
    expect(res.status).toBe(status);
    expect(res.type).toBe(type);
  });
});

describe('garbage at a registration URL configured outside /marketplace', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ env: { REGISTRATION_PATH: '/aws/landing' } });
  });
  afterAll(async () => h.close());

  it('still answers the buyer with a page, and a real registration still works there', async () => {
    const bad = await request(h.app).post('/aws/landing').type('json').send('{"a":1}');
    expect(bad.status).toBe(415);
    expect(bad.type).toBe('text/html');
    const sub = await h.sim.subscribe({ productCode: 'legacy-sub-product', confirmation: 'manual' });
    const ok = await request(h.app).post('/aws/landing').type('form').send({ 'x-amzn-marketplace-token': sub.registrationToken });
    expect(ok.status).toBe(303);
  });
});
