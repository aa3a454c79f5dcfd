import request from 'supertest';
import { ALL_SCOPES } from '../../src/platform/api-keys';
import { startHarness, type Harness } from '../support/harness';

const KEY_A = 'rate-key-a-0123456789abcdef';
const KEY_B = 'rate-key-b-0123456789abcdef';

describe('rate limits', () => {
  const harnesses: Harness[] = [];
  const start = async (env: Record<string, string>) => {
    const h = await startHarness({
      env: {
        API_KEYS: `a(${ALL_SCOPES.join(' ')})=${KEY_A},b(${ALL_SCOPES.join(' ')})=${KEY_B}`,
        RATE_LIMIT_REGISTRATION_PER_MINUTE: '2',
        RATE_LIMIT_SNS_PER_MINUTE: '2',
        RATE_LIMIT_API_PER_MINUTE: '3',
        ...env,
      },
    });
    harnesses.push(h);
    return h;
  };
  afterAll(async () => {
    for (const h of harnesses) await h.close();
  });

  it('the registration URL: per client IP, then a buyer page with Retry-After', async () => {
    const h = await start({});
    const post = () => request(h.app).post('/marketplace/register').type('form').send('x-amzn-marketplace-token=');
    expect((await post()).status).toBe(400);
    expect((await post()).status).toBe(400);
    const limited = await post();
    expect(limited.status).toBe(429);
    expect(limited.type).toBe('text/html');
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    expect(limited.text).toMatch(/Too many sign-up attempts/);
    // The onboarding page is not limited by it.
    expect((await request(h.app).get('/marketplace/onboarding')).status).not.toBe(429);
  });

  it('honours X-Forwarded-For only when TRUST_PROXY says so', async () => {
    const trusting = await start({ TRUST_PROXY: '1' });
    const from = (h: Harness, ip: string) =>
      request(h.app).post('/marketplace/register').set('X-Forwarded-For', ip).type('form').send('x-amzn-marketplace-token=');
    for (let i = 0; i < 2; i++) expect((await from(trusting, '203.0.113.7')).status).toBe(400);
    expect((await from(trusting, '203.0.113.7')).status).toBe(429);
    expect((await from(trusting, '203.0.113.8')).status).toBe(400);

    const plain = await start({});
    for (let i = 0; i < 2; i++) expect((await from(plain, `198.51.100.${i}`)).status).toBe(400);
    // Without TRUST_PROXY a client cannot pick a fresh address with a header.
    expect((await from(plain, '198.51.100.99')).status).toBe(429);
  });

  it('POST /marketplace/sns: per client IP, problem+json', async () => {
    const h = await start({});
    const post = () => request(h.app).post('/marketplace/sns').set('Content-Type', 'text/plain').send('{}');
    expect((await post()).status).toBe(403);
    expect((await post()).status).toBe(403);
    const limited = await post();
    expect(limited.status).toBe(429);
    expect(limited.type).toBe('application/problem+json');
    expect(limited.body).toMatchObject({ code: 'rate_limited' });
    expect(limited.headers['retry-after']).toBeDefined();
  });

  it('/v1: per API key, so one busy key does not slow another', async () => {
    const h = await start({});
    const get = (key: string) => request(h.app).get('/v1/access').query({ customer: 'nobody' }).set('Authorization', `Bearer ${key}`);
    for (let i = 0; i < 3; i++) expect((await get(KEY_A)).status).toBe(404);
    const limited = await get(KEY_A);
    expect(limited.status).toBe(429);
    expect(limited.type).toBe('application/problem+json');
    expect(limited.body.detail).toMatch(/"a"/);
    expect(limited.body.detail).not.toContain(KEY_A);
    expect((await get(KEY_B)).status).toBe(404);
    // An unknown key is refused (401) before it could use anyone's budget.
    expect((await get('unknown-key-000000000000000')).status).toBe(401);
  });
});
