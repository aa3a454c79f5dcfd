import request from 'supertest';
import type { NotificationQueueConsumer } from '../../handlers/queue-notification.consumer';
import { TEST_API_KEY, startQueueConsumer, type Harness } from '../support/harness';
import { until } from '../support/until';
import { licenseProduct, meteringHarness } from '../metering/metering-support';
import type { ManualClock } from '../../src/platform/clock';

const auth = { Authorization: `Bearer ${TEST_API_KEY}` };

/**
 * The 2026 agreement model through the simulator (facts §1.6, §5.4): one buyer account with two
 * live agreements of one product is two customers, metered on their own licences for the same
 * hours; a renewal starts a new agreement with a new LicenseArn whose customer keeps the app's
 * tenant link. Events come through the simulator's EventBridge queue to the real consumer, and
 * usage is billed by the real BatchMeterUsage client.
 */
describe('concurrent agreements and renewals through the simulator', () => {
  let h: Harness & { clock: ManualClock };
  let consumer: NotificationQueueConsumer;

  beforeEach(async () => {
    h = await meteringHarness({ simulator: { unsubscribeDelayMs: 60_000 } });
    consumer = startQueueConsumer(h, 'marketplace-eventbridge');
  });
  afterEach(async () => {
    await consumer.stop();
    await h.close();
  });

  const seats = [{ dimension: 'seats', integerValue: 5 }];
  async function activeLicence(sub: { id: string; licenseArn: string; agreementId: string }) {
    await h.sim.confirm(sub.id);
    await h.sim.flushNotifications();
    return until(`licence ${sub.licenseArn} active`, async () => {
      const c = await h.container.customers.findByIdentity({ licenseArn: sub.licenseArn });
      return c?.subscription.status === 'active' && c.agreementId === sub.agreementId ? c : undefined;
    });
  }
  const report = (customer: string, quantity: number, key: string) =>
    request(h.app)
      .post('/v1/usage')
      .set(auth)
      .send({ records: [{ customer, dimension: 'gb', quantity, timestamp: h.clock.now().toISOString(), idempotencyKey: key }] });

  it('two agreements of one account are metered independently for the same hour', async () => {
    const account = '123456789012';
    const a = await h.sim.subscribe({
      productCode: licenseProduct.code,
      awsAccountId: account,
      confirmation: 'manual',
      entitlements: seats,
    });
    const b = await h.sim.subscribe({
      productCode: licenseProduct.code,
      awsAccountId: account,
      confirmation: 'manual',
      entitlements: seats,
    });
    expect(a.licenseArn).not.toBe(b.licenseArn);
    const ca = await activeLicence(a);
    const cb = await activeLicence(b);
    expect(ca.id).not.toBe(cb.id);
    expect([ca.customerAWSAccountId, cb.customerAWSAccountId]).toEqual([account, account]);
    expect((await report(ca.id, 3, 'a-1')).body.accepted).toBe(1);
    expect((await report(cb.id, 11, 'b-1')).body.accepted).toBe(1);
    expect((await report(ca.licenseArn!, 4, 'a-2')).body.accepted).toBe(1);
    // The account alone is ambiguous between the two agreements: listed per licence.
    const listed = await request(h.app).get(`/v1/customers?awsAccountId=${account}`).set(auth);
    expect(listed.body.customers.map((c: { licenseArn: string }) => c.licenseArn).sort()).toEqual([a.licenseArn, b.licenseArn].sort());

    h.clock.set(new Date(h.clock.now().getTime() + 60 * 60_000).toISOString());
    await h.container.emitter.runOnce();
    const gb = h.sim
      .billed({ productCode: licenseProduct.code })
      .filter((r) => r.dimension === 'gb' && r.quantity > 0)
      .map((r) => ({ licenseArn: r.licenseArn, account: r.customerAWSAccountId, hour: r.hour, quantity: r.quantity }))
      .sort((x, y) => x.quantity - y.quantity);
    expect(gb).toEqual([
      { licenseArn: a.licenseArn, account, hour: '2026-03-10T10:00:00.000Z', quantity: 7 },
      { licenseArn: b.licenseArn, account, hour: '2026-03-10T10:00:00.000Z', quantity: 11 },
    ]);
  });

  it('a renewal with a new LicenseArn keeps the tenant link: previousCustomerId, and the externalId moves', async () => {
    const first = await h.sim.subscribe({ productCode: licenseProduct.code, confirmation: 'manual', entitlements: seats });
    const c1 = await activeLicence(first);
    expect((await request(h.app).patch(`/v1/customers/${c1.id}`).set(auth).send({ externalId: 'tenant-renews' })).status).toBe(200);

    const renewed = await h.sim.renew(first.id, { confirmation: 'manual' });
    expect(renewed.licenseArn).not.toBe(first.licenseArn);
    const c2 = await activeLicence(renewed);
    const linked = await until('linked', async () => {
      const res = await request(h.app).get(`/v1/customers/${c2.id}`).set(auth);
      return res.body.previousCustomerId === c1.id ? res.body : undefined;
    });
    expect(linked).toMatchObject({ externalId: 'tenant-renews', licenseArn: renewed.licenseArn, agreementId: renewed.agreementId });
    expect((await request(h.app).get(`/v1/customers/${c1.id}`).set(auth)).body).toMatchObject({
      externalId: null,
      previousCustomerId: null,
    });
    // The app's tenant id now names the live customer, so its usage goes to the new licence.
    expect((await report('tenant-renews', 5, 'renewed-1')).body.results[0]).toMatchObject({ status: 'accepted', customerId: c2.id });
  });
});
