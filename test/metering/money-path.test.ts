import request from 'supertest';
import { serializeRequest } from '../../src/metering/record-batching';
import type { ManualClock } from '../../src/platform/clock';
import { describeDialects } from '../support/stores';
import { TEST_API_KEY, type Harness } from '../support/harness';
import { activeCustomer, drain, licenseProduct, meteringHarness, setState, spyEmitter, sumProduct, T0 } from './metering-support';

const auth = { Authorization: `Bearer ${TEST_API_KEY}` };
type H = Harness & { clock: ManualClock };

function usage(h: H, records: unknown[]) {
  return request(h.app).post('/v1/usage').set(auth).send({ records });
}

const seat = (c: { id: string }, quantity: number, at: string, key: string) => ({
  customer: c.id,
  dimension: 'seats',
  quantity,
  timestamp: at,
  idempotencyKey: key,
});
const storage = (c: { id: string }, quantity: number, at: string, key: string) => ({
  customer: c.id,
  dimension: 'storage_gb',
  quantity,
  timestamp: at,
  idempotencyKey: key,
});

describeDialects('metering money path (%s)', (dialect) => {
  let h: H;
  beforeEach(async () => {
    h = await meteringHarness({ dialect });
  });
  afterEach(async () => h.close());

  const billedOf = (licenseArn: string | null | undefined, dimension: string) =>
    h.sim
      .billed({ productCode: licenseProduct.code })
      .filter((b) => b.licenseArn === licenseArn && b.dimension === dimension)
      .map((b) => [b.hour, b.quantity])
      .sort();

  it('overage of a peak dimension: each hour bills its peak above the entitlement', async () => {
    const c = await activeCustomer(h, licenseProduct, { entitlements: [{ dimension: 'seats', integerValue: 10 }] });
    h.clock.set('2026-03-10T10:50:00Z');
    expect((await usage(h, [seat(c, 12, '2026-03-10T10:31:00Z', 's1'), seat(c, 8, '2026-03-10T10:40:00Z', 's2')])).body.accepted).toBe(2);
    h.clock.set('2026-03-10T11:10:00Z');
    await drain(h);
    h.clock.set('2026-03-10T11:25:00Z');
    expect((await usage(h, [seat(c, 9, '2026-03-10T11:20:00Z', 's3'), seat(c, 11, '2026-03-10T11:21:00Z', 's4')])).body.accepted).toBe(2);
    h.clock.set('2026-03-10T12:10:00Z');
    await drain(h);
    expect(billedOf(c.licenseArn, 'seats')).toEqual([
      ['2026-03-10T10:00:00.000Z', 2],
      ['2026-03-10T11:00:00.000Z', 1],
    ]);
  });

  it('overage of a cumulative dimension: only the running total above the entitlement of the period is billed, once', async () => {
    const c = await activeCustomer(h, licenseProduct, { entitlements: [{ dimension: 'storage_gb', integerValue: 100 }] });
    await usage(h, [storage(c, 60, '2026-03-10T10:31:00Z', 'g1')]);
    h.clock.set('2026-03-10T11:10:00Z');
    await drain(h);
    h.clock.set('2026-03-10T11:35:00Z');
    await usage(h, [storage(c, 30, '2026-03-10T11:20:00Z', 'g2'), storage(c, 40, '2026-03-10T11:30:00Z', 'g3')]);
    h.clock.set('2026-03-10T12:10:00Z');
    await drain(h);
    h.clock.set('2026-03-10T12:25:00Z');
    await usage(h, [storage(c, 20, '2026-03-10T12:20:00Z', 'g4')]);
    h.clock.set('2026-03-10T13:10:00Z');
    await drain(h);
    await h.container.emitter.runOnce(); // a further pass changes nothing
    expect(billedOf(c.licenseArn, 'storage_gb')).toEqual([
      ['2026-03-10T10:00:00.000Z', 0],
      ['2026-03-10T11:00:00.000Z', 30],
      ['2026-03-10T12:00:00.000Z', 20],
    ]);
  });

  it('overage without a usable entitlement is held (never billed as if nothing were included), then billed once it is known', async () => {
    const c = await activeCustomer(h, licenseProduct);
    const other = await activeCustomer(h, licenseProduct, { entitlements: [{ dimension: 'seats', integerValue: 2 }] });
    await h.container.customers.replaceEntitlements(
      other.id,
      [{ dimension: 'seats', value: { type: 'double', value: 2.5 }, expirationDate: null }],
      h.clock.now(),
    );
    await usage(h, [seat(c, 7, '2026-03-10T10:31:00Z', 'n1'), seat(other, 7, '2026-03-10T10:31:00Z', 'n2')]);
    h.clock.set('2026-03-10T11:10:00Z');
    await h.container.emitter.runOnce();
    expect(h.sim.billed({ productCode: licenseProduct.code }).filter((b) => b.dimension === 'seats' && b.quantity > 0)).toEqual([]);
    const held = (await h.container.meterBuckets.list({ state: 'held', limit: 50 })).filter(
      (b) => b.dimension === 'seats' && b.hour.toISOString() === '2026-03-10T10:00:00.000Z',
    );
    expect(held.map((b) => b.customerId).sort()).toEqual([c.id, other.id].sort());
    for (const b of held) {
      expect(b.quantity).toBeNull();
      expect(b.holdReason).toMatch(/entitlement/i);
    }
    await h.container.customers.replaceEntitlements(
      c.id,
      [{ dimension: 'seats', value: { type: 'integer', value: 5 }, expirationDate: null }],
      h.clock.now(),
    );
    h.clock.advance(10 * 60_000);
    await h.container.emitter.runOnce();
    expect(billedOf(c.licenseArn, 'seats')).toEqual([['2026-03-10T10:00:00.000Z', 2]]);
    // The one whose entitlement stays unusable expires at the AWS window, like any other record.
    h.clock.set('2026-03-11T10:00:00Z');
    await h.container.emitter.runOnce();
    await h.container.emitter.runOnce();
    const after = await h.container.meterBuckets.list({ customerId: other.id, limit: 50 });
    expect(after.find((b) => b.dimension === 'seats' && b.hour.toISOString() === '2026-03-10T10:00:00.000Z')!.state).toBe('expired');
    expect(billedOf(other.licenseArn, 'seats').filter(([, q]) => q !== 0)).toEqual([]);
  });

  it('a bucket sealed before the customer has a metering identity waits for it and is then sent; operator retry works too', async () => {
    const sub = await h.sim.subscribe({ productCode: licenseProduct.code, confirmation: 'manual' });
    await h.sim.confirm(sub.id);
    const s = h.sim.subscription(sub.id);
    const c = await h.container.customers.upsert(
      { productCode: licenseProduct.code, customerIdentifier: s.customerIdentifier },
      h.clock.now(),
    );
    await setState(h, c.id, {
      status: 'active',
      statusEventTime: h.clock.now(),
      activatedAt: h.clock.now(),
      finalWindowOpenedAt: null,
      endedAt: null,
    });
    h.clock.set('2026-03-10T10:50:00Z');
    expect(
      (await usage(h, [{ customer: c.id, dimension: 'gb', quantity: 5, timestamp: '2026-03-10T10:40:00Z', idempotencyKey: 'i1' }])).body
        .accepted,
    ).toBe(1);
    h.clock.set('2026-03-10T11:10:00Z');
    await h.container.emitter.runOnce();
    const [gb] = await h.container.meterBuckets
      .list({ customerId: c.id, state: 'held', limit: 10 })
      .then((l) => l.filter((b) => b.dimension === 'gb'));
    expect(gb).toMatchObject({ quantity: 5 });
    expect(gb!.holdReason).toMatch(/identity/i);
    await h.db.store.db
      .updateTable('customers')
      .set({ customer_aws_account_id: s.customerAWSAccountId, license_arn: s.licenseArn })
      .where('id', '=', c.id)
      .execute();
    h.clock.advance(10 * 60_000);
    await h.container.emitter.runOnce();
    expect(billedOf(s.licenseArn, 'gb')).toEqual([['2026-03-10T10:00:00.000Z', 5]]);
    expect((await h.container.meterBuckets.findById(gb!.id))!.state).toBe('accepted');

    // A record left `failed` without quantity or identity (older releases did this) is recoverable.
    const [seats] = (await h.container.meterBuckets.list({ customerId: c.id, limit: 10 })).filter((b) => b.dimension === 'seats');
    await h.db.store.db
      .updateTable('meter_buckets')
      .set({ state: 'failed', quantity: null, identity_kind: null, customer_aws_account_id: null, license_arn: null })
      .where('id', '=', seats!.id)
      .execute();
    const retry = await request(h.app).post(`/v1/metering/records/${seats!.id}/retry`).set(auth);
    expect(retry.status).toBe(200);
    await drain(h);
    expect((await h.container.meterBuckets.findById(seats!.id))!).toMatchObject({ state: 'accepted', quantity: 0 });
  });

  it('License Deprovisioned: usage from before the end is accepted until the final flush, then refused; after the end always', async () => {
    const c = await activeCustomer(h, sumProduct);
    h.clock.set('2026-03-10T10:45:00Z');
    const end = new Date('2026-03-10T10:40:00Z');
    await setState(h, c.id, {
      status: 'unsubscribed',
      statusEventTime: end,
      activatedAt: new Date(T0),
      finalWindowOpenedAt: end,
      endedAt: end,
    });
    const before = await usage(h, [
      { customer: c.id, dimension: 'api_calls', quantity: 4, timestamp: '2026-03-10T10:39:00Z', idempotencyKey: 'd1' },
    ]);
    expect(before.body.results[0]).toMatchObject({ status: 'accepted', hour: '2026-03-10T10:00:00.000Z' });
    const afterEnd = await usage(h, [
      { customer: c.id, dimension: 'api_calls', quantity: 1, timestamp: '2026-03-10T10:41:00Z', idempotencyKey: 'd2' },
    ]);
    expect(afterEnd.body.results[0]).toMatchObject({ status: 'rejected', code: 'customer_not_active' });
    await h.container.emitter.runOnce(); // final flush
    const late = await usage(h, [
      { customer: c.id, dimension: 'api_calls', quantity: 1, timestamp: '2026-03-10T10:38:00Z', idempotencyKey: 'd3' },
    ]);
    expect(late.body.results[0]).toMatchObject({ status: 'rejected', code: 'final_metering_done' });
    expect(
      h.sim
        .billed({ productCode: sumProduct.code })
        .filter((b) => b.dimension === 'api_calls')
        .map((b) => [b.hour, b.quantity]),
    ).toEqual([['2026-03-10T10:00:00.000Z', 4]]);
  });

  it('late usage for an hour the emitter has completed goes to the current open hour even when that hour has no bucket', async () => {
    await h.close();
    h = await meteringHarness({ dialect, env: { METERING_HEARTBEAT: 'false' } });
    const c = await activeCustomer(h, sumProduct);
    h.clock.set('2026-03-10T11:10:00Z');
    await h.container.emitter.runOnce(); // hour 10 completed
    h.clock.set('2026-03-10T11:20:00Z');
    const res = await usage(h, [
      { customer: c.id, dimension: 'users', distinctId: 'u1', timestamp: '2026-03-10T10:50:00Z', idempotencyKey: 'l1' },
    ]);
    expect(res.body.results[0]).toMatchObject({ status: 'accepted', hour: '2026-03-10T11:00:00.000Z', rolledForward: true });
    h.clock.set('2026-03-10T12:10:00Z');
    await drain(h);
    expect(h.sim.billed({ productCode: sumProduct.code }).map((b) => [b.dimension, b.hour, b.quantity])).toEqual([
      ['users', '2026-03-10T11:00:00.000Z', 1],
    ]);
  });

  it('the activation hour is stamped with the activation time, frozen: a resend is byte-identical', async () => {
    const c = await activeCustomer(h, sumProduct); // activated 10:30
    await usage(h, [{ customer: c.id, dimension: 'api_calls', quantity: 3, timestamp: '2026-03-10T10:31:00Z', idempotencyKey: 'a1' }]);
    const bodies: string[] = [];
    const emitter = spyEmitter(h, { onBatch: (b) => void bodies.push(serializeRequest(b.productCode, b.records)) });
    h.clock.set('2026-03-10T11:10:00Z');
    await emitter.runOnce();
    h.clock.set('2026-03-10T12:10:00Z');
    await emitter.runOnce();
    const stamps = bodies.flatMap((b) =>
      (JSON.parse(b) as { UsageRecords: Array<{ Timestamp: number; Dimension: string }> }).UsageRecords.map((r) => [
        r.Dimension,
        new Date(r.Timestamp * 1000).toISOString(),
      ]),
    );
    expect(stamps.sort()).toEqual([
      ['api_calls', '2026-03-10T10:30:00.000Z'],
      ['api_calls', '2026-03-10T11:00:00.000Z'],
      ['peak_hosts', '2026-03-10T10:30:00.000Z'],
      ['peak_hosts', '2026-03-10T11:00:00.000Z'],
    ]);
    // Resend after a crash: the activation moved (a late, earlier event) but the record is frozen.
    const first = bodies.find((b) => b.includes('api_calls') && b.includes(String(Date.parse('2026-03-10T10:30:00Z') / 1000)))!;
    await setState(h, c.id, {
      status: 'active',
      statusEventTime: new Date('2026-03-10T10:10:00Z'),
      activatedAt: new Date('2026-03-10T10:10:00Z'),
      finalWindowOpenedAt: null,
      endedAt: null,
    });
    await h.db.store.db
      .updateTable('meter_buckets')
      .set({ state: 'sealed', next_attempt_at: h.clock.now().toISOString() })
      .where('hour', '=', '2026-03-10T10:00:00.000Z')
      .execute();
    bodies.length = 0;
    await emitter.runOnce();
    expect(bodies).toEqual([first]);
  });

  it('a pass longer than the lease re-reads the clock at every claim: no claim is born expired', async () => {
    for (let i = 0; i < 50; i++) await activeCustomer(h, sumProduct);
    const expiredAtCall: string[] = [];
    const emitter = spyEmitter(
      h,
      {
        async onBatch(batch) {
          const rows = await h.db.store.db
            .selectFrom('meter_buckets')
            .select(['id', 'lease_until'])
            .where(
              'id',
              'in',
              batch.records.map((r) => r.bucketId),
            )
            .execute();
          for (const r of rows)
            if (!r.lease_until || new Date(r.lease_until).getTime() <= h.clock.now().getTime()) expiredAtCall.push(r.id);
          h.clock.advance(50_000); // a slow call: four of them outlast the 120 s lease
        },
      },
      { leaseMs: 120_000, claimSize: 25, concurrency: 1 },
    );
    h.clock.set('2026-03-10T11:10:00Z');
    const run = await emitter.runOnce();
    expect(run.send.calls).toBe(4);
    expect(expiredAtCall).toEqual([]);
    const accepted = await h.container.meterBuckets.list({ state: 'accepted', limit: 500 });
    expect(accepted).toHaveLength(100);
    // Results are written at the time they arrive, not at the start of the pass.
    expect(Math.max(...accepted.map((b) => b.completedAt!.getTime()))).toBeGreaterThan(Date.parse('2026-03-10T11:12:00Z'));
  });
});
