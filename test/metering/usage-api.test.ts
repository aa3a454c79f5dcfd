import request from 'supertest';
import { describeDialects } from '../support/stores';
import { TEST_API_KEY, type Harness } from '../support/harness';
import type { ManualClock } from '../../src/platform/clock';
import { activeCustomer, licenseProduct, meteringHarness, setState, sumProduct } from './metering-support';

const auth = { Authorization: `Bearer ${TEST_API_KEY}` };

describeDialects('POST /v1/usage (%s)', (dialect) => {
  let h: Harness & { clock: ManualClock };
  beforeAll(async () => {
    h = await meteringHarness({ dialect });
  });
  afterAll(async () => h.close());

  const post = (records: unknown[]) => request(h.app).post('/v1/usage').set(auth).send({ records });

  it('records a batch durably, aggregated per customer, dimension and hour', async () => {
    const c = await activeCustomer(h, sumProduct);
    const res = await post([
      {
        customer: c.id,
        dimension: 'api_calls',
        quantity: 5,
        timestamp: '2026-03-10T10:31:00Z',
        idempotencyKey: 'a1',
        tags: { team: 'red' },
      },
      { customer: c.customerIdentifier, dimension: 'api_calls', quantity: 7, timestamp: '2026-03-10T10:32:00Z', idempotencyKey: 'a2' },
      { customer: c.id, dimension: 'peak_hosts', quantity: 3, timestamp: '2026-03-10T10:33:00Z', idempotencyKey: 'a3' },
      { customer: c.id, dimension: 'peak_hosts', quantity: 9, timestamp: '2026-03-10T10:34:00Z', idempotencyKey: 'a4' },
      { customer: c.id, dimension: 'users', distinctId: 'u1', timestamp: '2026-03-10T10:34:00Z', idempotencyKey: 'a5' },
      { customer: c.id, dimension: 'users', distinctId: 'u1', timestamp: '2026-03-10T10:35:00Z', idempotencyKey: 'a6' },
    ]);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ accepted: 6, rejected: 0 });
    expect(res.body.results[0]).toMatchObject({
      index: 0,
      status: 'accepted',
      replayed: false,
      customerId: c.id,
      hour: '2026-03-10T10:00:00.000Z',
      rolledForward: false,
    });
    const rows = await h.container.meterBuckets.list({ customerId: c.id });
    const byDim = Object.fromEntries(rows.map((b) => [b.dimension, b]));
    expect(byDim.api_calls!.aggregate).toMatchObject({ mode: 'sum', total: 12 });
    expect(byDim.peak_hosts!.aggregate).toMatchObject({ mode: 'max', pick: { quantity: 9 } });
    // A distinct bucket stores its ids as rows and their count in the aggregate.
    expect(byDim.users!.aggregate).toMatchObject({ mode: 'distinct', count: 1 });
    expect(rows.every((b) => b.state === 'open' && b.hour.toISOString() === '2026-03-10T10:00:00.000Z')).toBe(true);
  });

  it('replays the same idempotency key without counting twice; a different body is a 409 that records nothing', async () => {
    const c = await activeCustomer(h, sumProduct);
    const rec = { customer: c.id, dimension: 'api_calls', quantity: 4, timestamp: '2026-03-10T10:33:00Z', idempotencyKey: 'k1' };
    const first = await post([rec]);
    const again = await post([rec, { ...rec }]);
    expect(first.body.results[0]).toMatchObject({ status: 'accepted', replayed: false });
    expect(again.status).toBe(200);
    expect(again.body.results.map((r: { replayed: boolean }) => r.replayed)).toEqual([true, true]);
    const conflict = await post([
      { ...rec, idempotencyKey: 'k2' },
      { ...rec, quantity: 5 },
    ]);
    expect(conflict.status).toBe(409);
    expect(conflict.type).toBe('application/problem+json');
    expect(conflict.body).toMatchObject({ code: 'idempotency_conflict', conflicts: [{ index: 1, idempotencyKey: 'k1' }] });
    const inBatch = await post([
      { ...rec, idempotencyKey: 'k3' },
      { ...rec, idempotencyKey: 'k3', quantity: 6 },
    ]);
    expect(inBatch.status).toBe(409);
    const [bucket] = await h.container.meterBuckets.list({ customerId: c.id });
    expect(bucket!.aggregate).toMatchObject({ total: 4 });
    expect(bucket!.usageCount).toBe(1);
  });

  it('rejects bad records one by one with clear reasons and keeps the good ones', async () => {
    const c = await activeCustomer(h, sumProduct);
    const pending = await h.container.customers.upsert(
      { productCode: sumProduct.code, customerIdentifier: 'never-activated' },
      h.clock.now(),
    );
    const ok = { customer: c.id, dimension: 'api_calls', quantity: 1, timestamp: '2026-03-10T10:34:00Z' };
    const res = await post([
      { ...ok, idempotencyKey: 'r0' },
      { ...ok, quantity: -1, idempotencyKey: 'r1' },
      { ...ok, quantity: 1.5, idempotencyKey: 'r2' },
      { ...ok, dimension: 'nope', idempotencyKey: 'r3' },
      { ...ok, timestamp: '2026-03-10T11:30:00Z', idempotencyKey: 'r4' },
      { ...ok, timestamp: '2026-03-08T10:00:00Z', idempotencyKey: 'r5' },
      { ...ok, tags: { 'bad#key': 'x' }, idempotencyKey: 'r6' },
      { ...ok, customer: 'who-is-this', idempotencyKey: 'r7' },
      { ...ok, customer: pending.id, idempotencyKey: 'r8' },
      { ...ok, dimension: 'users', idempotencyKey: 'r9' },
    ]);
    expect(res.status).toBe(200);
    expect(res.body.accepted).toBe(1);
    const codes = res.body.results.map((r: { status: string; code?: string }) => r.code ?? r.status);
    expect(codes).toEqual([
      'accepted',
      'invalid_usage',
      'invalid_usage',
      'invalid_usage',
      'invalid_usage',
      'invalid_usage',
      'invalid_usage',
      'unknown_customer',
      'customer_not_active',
      'invalid_usage',
    ]);
    expect(res.body.results[1].errors[0]).toMatchObject({ field: 'quantity' });
    expect(res.body.results[4].message).toMatch(/future/);
    expect(res.body.results[5].message).toMatch(/too old/);
  });

  it('validates the request shape: empty, too many, wrong types → 400 problem+json', async () => {
    for (const body of [{ records: [] }, { records: Array.from({ length: 1001 }, () => ({})) }, { records: [{ customer: 1 }] }, {}]) {
      const res = await request(h.app).post('/v1/usage').set(auth).send(body);
      expect(res.status).toBe(400);
      expect(res.type).toBe('application/problem+json');
    }
  });

  it('puts late usage for a sealed hour into the current open hour', async () => {
    const c = await activeCustomer(h, licenseProduct);
    expect(
      (await post([{ customer: c.licenseArn, dimension: 'gb', quantity: 2, timestamp: '2026-03-10T10:34:00Z', idempotencyKey: 'l1' }])).body
        .accepted,
    ).toBe(1);
    h.clock.set('2026-03-10T11:15:00Z');
    await h.container.emitter.runOnce();
    const late = await post([{ customer: c.id, dimension: 'gb', quantity: 3, timestamp: '2026-03-10T10:35:00Z', idempotencyKey: 'l2' }]);
    expect(late.body.results[0]).toMatchObject({ status: 'accepted', hour: '2026-03-10T11:00:00.000Z', rolledForward: true });
    const rows = await h.container.meterBuckets.list({ customerId: c.id });
    const gb = rows.filter((b) => b.dimension === 'gb');
    expect(
      gb.map((b) => [b.hour.toISOString(), b.state === 'open' ? 'open' : 'done', b.quantity ?? (b.aggregate as { total: number }).total]),
    ).toEqual([
      ['2026-03-10T10:00:00.000Z', 'done', 2],
      ['2026-03-10T11:00:00.000Z', 'open', 3],
    ]);
  });

  it('refuses usage after the final flush, with a clear code', async () => {
    h.clock.set('2026-03-10T12:20:00Z');
    const c = await activeCustomer(h, sumProduct);
    const now = h.clock.now();
    await setState(h, c.id, {
      status: 'unsubscribe_pending',
      statusEventTime: now,
      activatedAt: now,
      finalWindowOpenedAt: now,
      endedAt: null,
    });
    const before = await post([
      { customer: c.id, dimension: 'api_calls', quantity: 1, timestamp: '2026-03-10T12:20:00Z', idempotencyKey: 'f1' },
    ]);
    expect(before.body.accepted).toBe(1);
    h.clock.set('2026-03-10T13:06:00Z');
    await h.container.emitter.runOnce();
    const after = await post([
      { customer: c.id, dimension: 'api_calls', quantity: 1, timestamp: '2026-03-10T13:06:00Z', idempotencyKey: 'f2' },
    ]);
    expect(after.body.results[0]).toMatchObject({ status: 'rejected', code: 'final_metering_done' });
  });
});
