import request from 'supertest';
import { describeDialects } from '../support/stores';
import { TEST_API_KEY, type Harness } from '../support/harness';
import type { ManualClock } from '../../src/platform/clock';
import { activeCustomer, meteringHarness, meterUsageProduct, spyEmitter } from './metering-support';

const auth = { Authorization: `Bearer ${TEST_API_KEY}` };

describeDialects('MeterUsage mode (%s)', (dialect) => {
  let h: Harness & { clock: ManualClock };
  beforeEach(async () => {
    h = await meteringHarness({ dialect, products: [meterUsageProduct], env: { METER_USAGE_FAIL_POLICY: 'closed' } });
  });
  afterEach(async () => h.close());

  it('refuses to start when the DryRun check fails with a non-throttling error (facts §1.7)', async () => {
    // No buyer is entitled yet: the simulator answers CustomerNotEntitledException.
    await expect(h.container.emitter.start()).rejects.toMatchObject({ code: 'meter_usage_dry_run_failed' });
  });

  it('sends one MeterUsage record per dimension and hour, after a passing DryRun', async () => {
    const c = await activeCustomer(h, meterUsageProduct);
    await h.container.emitter.start();
    const res = await request(h.app)
      .post('/v1/usage')
      .set(auth)
      .send({
        records: [
          { customer: c.id, dimension: 'hosts', quantity: 4, timestamp: '2026-03-10T10:31:00Z', idempotencyKey: 'm1' },
          { customer: c.id, dimension: 'hosts', quantity: 6, timestamp: '2026-03-10T10:32:00Z', idempotencyKey: 'm2' },
        ],
      });
    expect(res.body.accepted).toBe(2);
    h.clock.set('2026-03-10T11:10:00Z');
    await h.container.emitter.runOnce();
    const billed = h.sim.billed({ productCode: meterUsageProduct.code });
    expect(billed.map((b) => [b.operation, b.dimension, b.hour, b.quantity])).toEqual([
      ['MeterUsage', 'hosts', '2026-03-10T10:00:00.000Z', 6],
    ]);
    expect(h.sim.meteringLog().filter((e) => e.outcome === 'DuplicateRequestException')).toEqual([]);
  });

  it('ClientToken makes a resend idempotent: every send of a record carries the same token, and AWS holds it to the same parameters', async () => {
    const c = await activeCustomer(h, meterUsageProduct);
    const tokens: Array<[string, string | undefined]> = [];
    const emitter = spyEmitter(h, { onMeterUsage: (r, o) => void (o.dryRun ? undefined : tokens.push([r.bucketId, o.clientToken])) });
    await request(h.app)
      .post('/v1/usage')
      .set(auth)
      .send({ records: [{ customer: c.id, dimension: 'hosts', quantity: 4, timestamp: '2026-03-10T10:31:00Z', idempotencyKey: 't1' }] });
    h.clock.set('2026-03-10T11:10:00Z');
    await emitter.runOnce();
    const [bucket] = await h.container.meterBuckets.list({ customerId: c.id, state: 'accepted' });
    // A resend after a crash is the same request: same token, same answer, no second record.
    await h.db.store.db
      .updateTable('meter_buckets')
      .set({ state: 'sealed', next_attempt_at: h.clock.now().toISOString() })
      .where('id', '=', bucket!.id)
      .execute();
    await emitter.runOnce();
    expect(tokens).toEqual([
      [bucket!.id, bucket!.id],
      [bucket!.id, bucket!.id],
    ]);
    expect((await h.container.meterBuckets.findById(bucket!.id))!.meteringRecordId).toBe(bucket!.meteringRecordId);
    expect(h.sim.billed({ productCode: meterUsageProduct.code })).toHaveLength(1);
    // Proof that the token reaches AWS: the same token with different parameters is refused as such.
    await h.db.store.db
      .updateTable('meter_buckets')
      .set({ state: 'sealed', quantity: 5, next_attempt_at: h.clock.now().toISOString() })
      .where('id', '=', bucket!.id)
      .execute();
    await emitter.runOnce();
    expect(h.sim.meteringLog().map((e) => e.outcome)).not.toContain('DuplicateRequestException');
    expect((await h.container.meterBuckets.findById(bucket!.id))!.lastError).toMatch(/IdempotencyConflict/);
  });

  it('a second customer of the same MeterUsage product is refused per record, so one product/dimension/hour never gets two records', async () => {
    const a = await activeCustomer(h, meterUsageProduct);
    const b = await activeCustomer(h, meterUsageProduct);
    await h.container.emitter.start();
    // Through the ledger: openapi.yaml lists the per-record codes the route may answer.
    const results = await h.container.ledger.record([
      { customer: a.id, dimension: 'hosts', quantity: 4, timestamp: '2026-03-10T10:31:00Z', idempotencyKey: 'a1' },
      { customer: b.id, dimension: 'hosts', quantity: 7, timestamp: '2026-03-10T10:32:00Z', idempotencyKey: 'b1' },
    ]);
    expect(results[0]).toMatchObject({ status: 'accepted' });
    expect(results[1]).toMatchObject({ status: 'rejected', code: 'meter_usage_customer_conflict' });
    expect(
      (
        await h.container.ledger.record([
          { customer: b.id, dimension: 'hosts', quantity: 1, timestamp: '2026-03-10T10:33:00Z', idempotencyKey: 'b2' },
        ])
      )[0],
    ).toMatchObject({ code: 'meter_usage_customer_conflict' });
    h.clock.set('2026-03-10T11:10:00Z');
    await h.container.emitter.runOnce();
    h.clock.set('2026-03-10T12:10:00Z');
    await h.container.emitter.runOnce();
    const billed = h.sim.billed({ productCode: meterUsageProduct.code }).map((x) => [x.hour, x.quantity]);
    expect(billed).toEqual([
      ['2026-03-10T10:00:00.000Z', 4],
      ['2026-03-10T11:00:00.000Z', 0],
    ]);
    expect(h.sim.meteringLog().filter((e) => e.outcome === 'DuplicateRequestException')).toEqual([]);
    const rows = await h.db.store.db
      .selectFrom('meter_buckets')
      .select(['customer_id', 'hour'])
      .where('product_code', '=', meterUsageProduct.code)
      .execute();
    expect(rows.every((r) => r.customer_id === a.id)).toBe(true);
  });

  it('the two-hour failure clock survives a restart and counts non-throttling failures too', async () => {
    const c = await activeCustomer(h, meterUsageProduct);
    await h.container.emitter.start();
    await h.sim.endNow(c.simId); // from now on AWS answers CustomerNotEntitledException
    h.clock.set('2026-03-10T11:10:00Z');
    await h.container.emitter.runOnce();
    expect(h.container.emitter.meteringAccess()).toMatchObject({ allowed: true, degraded: false });
    expect(h.container.emitter.meteringAccess().failingSince).not.toBeNull();
    // A new process (same database) keeps the clock running.
    const restarted = spyEmitter(h, {}, { meterUsageFailPolicy: 'closed' });
    h.clock.set('2026-03-10T13:11:00Z');
    await restarted.runOnce();
    expect(restarted.meteringAccess()).toMatchObject({ allowed: false, degraded: true, failingSince: new Date('2026-03-10T11:10:00Z') });
  });

  it('fail-closed after two hours of failures: readiness and the access check report it', async () => {
    const c = await activeCustomer(h, meterUsageProduct);
    const access = async () =>
      (await request(h.app).get('/v1/access').query({ customer: c.id, dimension: 'hosts', quantity: 2 }).set(auth)).body;
    await h.container.emitter.start();
    h.sim.setFaults({ failNext: [{ operation: 'MeterUsage', error: 'InternalServiceErrorException', count: 100_000 }] });
    h.clock.set('2026-03-10T11:10:00Z');
    await h.container.emitter.runOnce();
    expect(h.container.emitter.meteringAccess()).toMatchObject({ allowed: true, degraded: false });
    expect((await request(h.app).get('/readyz')).status).toBe(200);
    expect(await access()).toMatchObject({ allowed: true, reason: 'billed_per_use' });
    h.clock.set('2026-03-10T13:11:00Z');
    await h.container.emitter.runOnce();
    expect(h.container.emitter.meteringAccess()).toMatchObject({ allowed: false, degraded: true, policy: 'closed' });
    const ready = await request(h.app).get('/readyz');
    expect(ready.status).toBe(503);
    expect(ready.body.checks.metering).toBe('failing');
    expect(await access()).toMatchObject({ allowed: false, reason: 'metering_unavailable' });
    h.sim.setFaults({});
    h.clock.advance(5 * 60_000);
    await h.container.emitter.runOnce();
    expect(h.container.emitter.meteringAccess()).toMatchObject({ allowed: true, degraded: false });
    expect(await access()).toMatchObject({ allowed: true });
  });
});
