import type { AddressInfo } from 'node:net';
import express from 'express';
import request from 'supertest';
import { requestLog } from '../../routes/support/request-log';
import { startHarness, TEST_API_KEY, type Harness } from '../support/harness';
import { captureLogger } from '../support/log-capture';
import { until } from '../support/until';

/** The completion lines in a log, parsed. */
const completions = (text: string) =>
  text
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .filter((l) => typeof l.reqId === 'number');

describe('the request log', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => h.close());

  it('writes one line per request: id, method, path without its query, status, key name, duration, and nothing else', async () => {
    const secret = 'arn:aws:license-manager::123456789012:license:l-query-value-never-logged';
    const before = completions(h.logs()).length;
    await request(h.app).get('/v1/access').query({ customer: secret, dimension: 'seats' }).set('Authorization', `Bearer ${TEST_API_KEY}`);
    await request(h.app).get('/v1/access').query({ customer: secret }).set('Authorization', 'Bearer not-a-key-0000000000000000');
    await until('two completion lines', async () => completions(h.logs()).length >= before + 2);
    const [known, unknown] = completions(h.logs()).slice(before);
    expect(known).toEqual({
      level: 30,
      time: expect.any(String),
      service: 'marketplace-bridge',
      reqId: expect.any(Number),
      method: 'GET',
      path: '/v1/access',
      statusCode: 404,
      apiKey: 'tests',
      responseTime: expect.any(Number),
      msg: 'request completed',
    });
    // No key name without a valid key; ids are distinct per request.
    expect(unknown).toMatchObject({ method: 'GET', path: '/v1/access', statusCode: 401, msg: 'request completed' });
    expect(unknown).not.toHaveProperty('apiKey');
    expect(unknown!.reqId).not.toBe(known!.reqId);
    expect(h.logs()).not.toContain('query-value-never-logged');
    expect(h.logs()).not.toContain(TEST_API_KEY);
    expect(h.logs()).not.toContain('not-a-key-0000000000000000');
  });

  it('never logs a request body (the registration form carries the Marketplace token) nor its cookies', async () => {
    const token = 'registration-token-never-logged-0123456789';
    const before = completions(h.logs()).length;
    await request(h.app)
      .post('/marketplace/register')
      .type('form')
      .set('Cookie', 'mb_session=cookie-value-never-logged')
      .send({ 'x-amzn-marketplace-token': token });
    await until('the completion line', async () => completions(h.logs()).length > before);
    const line = completions(h.logs())
      .slice(before)
      .find((l) => l.path === '/marketplace/register');
    expect(line).toMatchObject({ method: 'POST', path: '/marketplace/register', msg: 'request completed' });
    expect(h.logs()).not.toContain(token);
    expect(h.logs()).not.toContain('cookie-value-never-logged');
  });
});

describe('requestLog', () => {
  it('says "request errored" for a 5xx and "request aborted" when the client leaves before the answer', async () => {
    const { logger, text } = captureLogger();
    const app = express();
    app.use(requestLog(logger));
    app.get('/fails', (_req, res) => {
      res.status(503).send('later');
    });
    app.get('/hangs', () => undefined);
    await request(app).get('/fails?x=1');
    const server = app.listen(0, '127.0.0.1');
    await new Promise<void>((r) => server.once('listening', () => r()));
    try {
      const controller = new AbortController();
      const pending = fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/hangs`, { signal: controller.signal }).catch(
        () => undefined,
      );
      await new Promise((r) => setTimeout(r, 50));
      controller.abort();
      await pending;
      await until('two completion lines', async () => completions(text()).length >= 2);
    } finally {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    }
    const [failed, aborted] = completions(text());
    expect(failed).toMatchObject({ method: 'GET', path: '/fails', statusCode: 503, msg: 'request errored' });
    expect(aborted).toMatchObject({ method: 'GET', path: '/hangs', msg: 'request aborted' });
  });
});
