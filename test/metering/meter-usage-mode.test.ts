import request from 'supertest';
import { dialects } from '../support/stores';
import { TEST_API_KEY, type Harness } from '../support/harness';
import type { ManualClock } from '../../src/platform/clock';
import { activeCustomer, meteringHarness, meterUsageProduct } from './metering-support';

const auth = { Authorization: `Bearer ${TEST_API_KEY}` };

describe.each(dialects('MeterUsage mode'))('MeterUsage mode (%s)', (dialect) => {
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
    const res = await request(h.app).post('/v1/usage').set(auth).send({
      records: [
        { customer: c.id, dimension: 'hosts', quantity: 4, timestamp: '2026-03-10T10:31:00Z', idempotencyKey: 'm1' },
        { customer: c.id, dimension: 'hosts', quantity: 6, timestamp: '2026-03-10T10:32:00Z', idempotencyKey: 'm2' },
      ],
    });
    expect(res.body.accepted).toBe(2);
    h.clock.set('2026-03-10T11:10:00Z');
    await h.container.emitter.runOnce();
    const billed = h.sim.billed({ productCode: meterUsageProduct.code });
    expect(billed.map((b) => [b.operation, b.dimension, b.hour, b.quantity])).toEqual([['MeterUsage', 'hosts', '2026-03-10T10:00:00.000Z', 6]]);
    // A resend after a crash is the same request (ClientToken = bucket id): no second record.
    await h.db.store.db.updateTable('meter_buckets').set({ state: 'sealed', next_attempt_at: h.clock.now().toISOString() }).execute();
    await h.container.emitter.runOnce();
    expect(h.sim.billed({ productCode: meterUsageProduct.code })).toHaveLength(1);
    expect(h.sim.meteringLog().filter((e) => e.outcome === 'DuplicateRequestException')).toEqual([]);
  });

  it('fail-closed after two hours of failures: readiness and the access check report it', async () => {
    await activeCustomer(h, meterUsageProduct);
    await h.container.emitter.start();
    h.sim.setFaults({ failNext: [{ operation: 'MeterUsage', error: 'InternalServiceErrorException', count: 100_000 }] });
    h.clock.set('2026-03-10T11:10:00Z');
    await h.container.emitter.runOnce();
    expect(h.container.emitter.meteringAccess()).toMatchObject({ allowed: true, degraded: false });
    expect((await request(h.app).get('/readyz')).status).toBe(200);
    h.clock.set('2026-03-10T13:11:00Z');
    await h.container.emitter.runOnce();
    expect(h.container.emitter.meteringAccess()).toMatchObject({ allowed: false, degraded: true, policy: 'closed' });
    const ready = await request(h.app).get('/readyz');
    expect(ready.status).toBe(503);
    expect(ready.body.checks.metering).toBe('failing');
    h.sim.setFaults({});
    h.clock.advance(5 * 60_000);
    await h.container.emitter.runOnce();
    expect(h.container.emitter.meteringAccess()).toMatchObject({ allowed: true, degraded: false });
  });
});
