import request from 'supertest';
import type { ManualClock } from '../../src/platform/clock';
import { TEST_API_KEY, type Harness } from '../support/harness';
import { activeCustomer, meteringHarness, sumProduct } from '../metering/metering-support';
import { pageCsrf, signIn } from './console-support';
import { describeDialects } from '../support/stores';

const auth = { Authorization: `Bearer ${TEST_API_KEY}` };

/**
 * What the support report needs is kept for every call that leaves a record unbilled: the
 * operation, AWS's request id, the HTTP status and the time (migration 0010), through the real SDK
 * client against the simulator.
 */
describeDialects('failed metering calls keep their operation, AWS request id, HTTP status and time (%s)', (dialect) => {
  let h: Harness & { clock: ManualClock };
  beforeAll(async () => {
    h = await meteringHarness({ dialect });
  });
  afterAll(async () => h.close());

  const row = (customerId: string) =>
    h.db.store.db
      .selectFrom('meter_buckets')
      .selectAll()
      .where('customer_id', '=', customerId)
      .where('dimension', '=', 'api_calls')
      .executeTakeFirstOrThrow();

  const usage = (customer: string, key: string) =>
    request(h.app)
      .post('/v1/usage')
      .set(auth)
      .send({ records: [{ customer, dimension: 'api_calls', quantity: 3, timestamp: h.clock.now().toISOString(), idempotencyKey: key }] });

  it('a 5xx answer: the record waits for its retry with HTTP 500 and the request id', async () => {
    h.clock.set('2026-03-10T10:30:00.000Z');
    const c = await activeCustomer(h, sumProduct);
    expect((await usage(c.id, 'f1')).body.accepted).toBe(1);
    h.clock.set('2026-03-10T11:15:00.000Z');
    h.sim.setFaults({ failNext: [{ operation: 'BatchMeterUsage', error: 'InternalServiceErrorException', count: 10 }] });
    await h.container.emitter.runOnce();
    h.sim.setFaults({});
    const b = await row(c.id);
    expect(b.state).toBe('sealed');
    expect(b.last_error).toMatch(/InternalServiceError/);
    expect(b.aws_request_id).toEqual(expect.any(String));
    expect({ op: b.aws_operation, status: Number(b.aws_http_status) }).toEqual({ op: 'BatchMeterUsage', status: 500 });
    expect(new Date(b.last_error_at!).toISOString()).toBe('2026-03-10T11:15:00.000Z');
  });

  it('CustomerNotSubscribed: the record, its support report and the retry on the problems page', async () => {
    h.clock.set('2026-03-10T12:30:00.000Z');
    const c = await activeCustomer(h, sumProduct);
    expect((await usage(c.id, 'f2')).body.accepted).toBe(1);
    // AWS ends the subscription; this service has not heard yet (no queue is polled here).
    await h.sim.endNow(c.simId);
    h.clock.set('2026-03-10T13:15:00.000Z');
    await h.container.emitter.runOnce();
    const b = await row(c.id);
    expect(b.state).toBe('not_subscribed');
    expect(b.aws_request_id).toEqual(expect.any(String));
    expect({ op: b.aws_operation, status: Number(b.aws_http_status) }).toEqual({ op: 'BatchMeterUsage', status: 200 });

    const cookie = await signIn(h.app, { apiKey: TEST_API_KEY });
    const page = await request(h.app).get('/admin/problems?state=not_subscribed').set('Cookie', cookie);
    expect(page.text).toContain(`AWS request id: ${b.aws_request_id}`);
    expect(page.text).toContain('HTTP status: 200');
    expect(page.text).toContain('Error: CustomerNotSubscribed');
    const csrf = await pageCsrf(h.app, cookie, '/admin/problems');
    const retry = await request(h.app).post(`/admin/problems/${b.id}/retry`).set('Cookie', cookie).type('form').send({ csrf });
    expect(retry.status).toBe(303);
    expect((await row(c.id)).state).toBe('sealed');
  });
});
