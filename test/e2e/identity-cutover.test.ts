import request from 'supertest';
import type { ProductConfig } from '../../src/products/product-config';
import { loadConfig, ConfigError } from '../../src/config';
import { TEST_API_KEY, type Harness } from '../support/harness';
import { activeCustomer, meteringHarness, sumProduct } from '../metering/metering-support';
import type { ManualClock } from '../../src/platform/clock';

const auth = { Authorization: `Bearer ${TEST_API_KEY}` };
const CUTOVER = '2026-03-10T12:00:00.000Z';

/** A live legacy listing moving to LicenseArn metering at noon (facts §1.6). */
const migrating: ProductConfig = { ...sumProduct, code: 'meter-cutover-product', identityCutoverAt: CUTOVER };

/**
 * Identity migration through the simulator with the real BatchMeterUsage client: usage on both
 * sides of a mid-day cut-over; every hour is billed under exactly one identity (CustomerIdentifier
 * + ProductCode before, CustomerAWSAccountId + LicenseArn from the cut-over hour), never both, never
 * neither, and the billed totals equal the reported ones.
 */
describe('identity cut-over of a live customer-identifier listing', () => {
  let h: Harness & { clock: ManualClock };
  beforeEach(async () => {
    h = await meteringHarness({ products: [migrating], start: '2026-03-10T10:30:00Z' });
  });
  afterEach(async () => h.close());

  const report = (customer: string, quantity: number, at: string, key: string) =>
    request(h.app)
      .post('/v1/usage')
      .set(auth)
      .send({ records: [{ customer, dimension: 'api_calls', quantity, timestamp: at, idempotencyKey: key }] });

  it('hours before the cut-over bill by CustomerIdentifier, hours from it by LicenseArn; totals match; no hour twice', async () => {
    const c = await activeCustomer(h, migrating);
    const sim = h.sim.subscription(c.simId);
    // The licence arrives as AWS's licence events give it (License Updated names the account and licence).
    await h.container.customers.upsert(
      {
        productCode: migrating.code,
        customerIdentifier: c.customerIdentifier,
        customerAWSAccountId: sim.customerAWSAccountId,
        licenseArn: sim.licenseArn,
      },
      h.clock.now(),
    );
    const reported: Record<string, number> = {};
    const usage: Array<[string, number]> = [
      ['2026-03-10T10:40:00Z', 5],
      ['2026-03-10T11:10:00Z', 7],
      ['2026-03-10T11:59:59Z', 1],
      ['2026-03-10T12:00:00Z', 11],
      ['2026-03-10T13:20:00Z', 13],
    ];
    for (const [i, [at, q]] of usage.entries()) {
      h.clock.set(at);
      expect((await report(c.id, q, at, `u-${i}`)).body.accepted).toBe(1);
      const hour = new Date(Math.floor(Date.parse(at) / 3_600_000) * 3_600_000).toISOString();
      reported[hour] = (reported[hour] ?? 0) + q;
    }
    h.clock.set('2026-03-10T14:15:00Z');
    await h.container.emitter.runOnce();
    const billed = h.sim.billed({ productCode: migrating.code }).filter((b) => b.dimension === 'api_calls');
    const perHour = new Map<string, Array<{ style: string; quantity: number }>>();
    for (const b of billed) {
      const style =
        b.licenseArn && b.customerAWSAccountId && !b.customerIdentifier
          ? 'license'
          : b.customerIdentifier && !b.licenseArn
            ? 'customer-identifier'
            : 'mixed';
      perHour.set(b.hour, [...(perHour.get(b.hour) ?? []), { style, quantity: b.quantity }]);
    }
    // Every hour from the first to the last: exactly one record, in the style of its side of the cut-over.
    for (const hour of ['2026-03-10T10:00:00.000Z', '2026-03-10T11:00:00.000Z', '2026-03-10T12:00:00.000Z', '2026-03-10T13:00:00.000Z']) {
      const records = perHour.get(hour) ?? [];
      expect({ hour, records }).toEqual({
        hour,
        records: [{ style: hour < CUTOVER ? 'customer-identifier' : 'license', quantity: reported[hour] ?? 0 }],
      });
    }
    const total = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
    expect(total(billed.map((b) => b.quantity))).toBe(total(Object.values(reported)));
    expect(billed.filter((b) => b.licenseArn).every((b) => b.licenseArn === sim.licenseArn)).toBe(true);
  });

  it('after the cut-over a customer whose licence is not known yet is held, never billed the old way', async () => {
    const c = await activeCustomer(h, migrating);
    h.clock.set('2026-03-10T12:20:00Z');
    expect((await report(c.id, 9, '2026-03-10T12:20:00Z', 'late-1')).body.accepted).toBe(1);
    h.clock.set('2026-03-10T13:15:00Z');
    await h.container.emitter.runOnce();
    const billed = h.sim.billed({ productCode: migrating.code }).filter((b) => b.hour >= CUTOVER);
    expect(billed).toEqual([]);
    const held = await h.db.store.db
      .selectFrom('meter_buckets')
      .select(['state', 'hold_reason'])
      .where('customer_id', '=', c.id)
      .where('quantity', '>', 0)
      .execute();
    expect(held).toEqual([
      expect.objectContaining({ state: 'held', hold_reason: expect.stringMatching(/CustomerAWSAccountId and LicenseArn/) }),
    ]);
    // Its licence arrives: the held hour is billed by LicenseArn.
    const sim = h.sim.subscription(c.simId);
    await h.container.customers.upsert(
      {
        productCode: migrating.code,
        customerIdentifier: c.customerIdentifier,
        customerAWSAccountId: sim.customerAWSAccountId,
        licenseArn: sim.licenseArn,
      },
      h.clock.now(),
    );
    // Held records are looked at again on their next due time (within the AWS window).
    h.clock.set('2026-03-10T14:15:00Z');
    await h.container.emitter.runOnce();
    expect(h.sim.billed({ productCode: migrating.code }).filter((b) => b.hour >= CUTOVER && b.quantity > 0)).toEqual([
      expect.objectContaining({ hour: '2026-03-10T12:00:00.000Z', quantity: 9, licenseArn: sim.licenseArn }),
    ]);
  });

  it('refuses a cut-over that is not a whole hour, or on a licence listing', () => {
    const bad = (p: Record<string, unknown>) => {
      try {
        loadConfig({ MARKETPLACE_PRODUCTS: JSON.stringify([{ ...sumProduct, ...p }]) });
      } catch (error) {
        if (error instanceof ConfigError) return error.problems.join('\n');
        throw error;
      }
      return 'accepted';
    };
    expect(bad({ identityCutoverAt: '2026-03-10T12:30:00Z' })).toMatch(/whole UTC hour/);
    expect(bad({ identityCutoverAt: 'noon' })).toMatch(/identityCutoverAt/);
    expect(bad({ identity: 'license', identityCutoverAt: CUTOVER })).toMatch(/customer-identifier only/);
    expect(bad({ identityCutoverAt: CUTOVER })).toBe('accepted');
  });
});
