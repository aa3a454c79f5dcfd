import request from 'supertest';
import { MarketplaceAgreementClient } from '@aws-sdk/client-marketplace-agreement';
import type { NotificationQueueConsumer } from '../../handlers/queue-notification.consumer';
import { SdkAgreementReader } from '../../src/aws/agreement-reader.gateway';
import { AgreementDetailsRepository } from '../../src/customers/agreement-details.repository';
import { AwsCallError } from '../../src/aws/sdk-errors';
import { TEST_API_KEY, startQueueConsumer, type Harness } from '../support/harness';
import { until } from '../support/until';
import { licenseProduct, meteringHarness } from '../metering/metering-support';
import type { ManualClock } from '../../src/platform/clock';

const auth = { Authorization: `Bearer ${TEST_API_KEY}` };

/**
 * Agreement API enrichment (facts §5.5) through the simulator with the real
 * `@aws-sdk/client-marketplace-agreement` client: on Purchase Agreement Created the service reads
 * DescribeAgreement and GetAgreementTerms; the free-trial flag comes from the terms, and the
 * registration form (posted by the buyer's browser) is not believed against it.
 */
describe('Agreement API enrichment through the simulator', () => {
  let h: Harness & { clock: ManualClock };
  let consumer: NotificationQueueConsumer;

  beforeEach(async () => {
    h = await meteringHarness();
    consumer = startQueueConsumer(h, 'marketplace-eventbridge');
  });
  afterEach(async () => {
    await consumer.stop();
    await h.close();
  });

  const seats = [{ dimension: 'seats', integerValue: 5 }];
  const register = (token: string, offerType?: string) =>
    request(h.app)
      .post('/marketplace/register')
      .type('form')
      .send({ 'x-amzn-marketplace-token': token, ...(offerType ? { 'x-amzn-marketplace-offer-type': offerType } : {}) });

  it('the gateway reads end time, end-time behaviour, value and the free-trial term; an unknown agreement is a permanent error', async () => {
    const reader = new SdkAgreementReader(h.aws.agreement);
    const trial = await h.sim.subscribe({ productCode: licenseProduct.code, freeTrial: true, confirmation: 'manual', entitlements: seats });
    const details = await reader.readAgreement(trial.agreementId);
    expect(details).toMatchObject({ agreementId: trial.agreementId, status: 'ACTIVE', freeTrial: true, endTimeBehavior: 'RENEW' });
    expect(details.endTime!.getTime()).toBeGreaterThan(details.startTime!.getTime());
    const paid = await h.sim.subscribe({ productCode: licenseProduct.code, autoRenew: false, confirmation: 'manual', entitlements: seats });
    expect(await reader.readAgreement(paid.agreementId)).toMatchObject({ freeTrial: false, endTimeBehavior: 'EXPIRE' });
    const missing = await reader.readAgreement('agmt-doesnotexist').catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(AwsCallError);
    expect((missing as AwsCallError).retryable).toBe(false);
  });

  it('paces its calls under the quota: a burst of reads is spread at most 4 per second per operation', async () => {
    const client = new MarketplaceAgreementClient({
      endpoint: h.sim.url,
      region: 'us-east-1',
      credentials: { accessKeyId: 't', secretAccessKey: 't' },
    });
    const reader = new SdkAgreementReader(client);
    const sub = await h.sim.subscribe({ productCode: licenseProduct.code, confirmation: 'manual', entitlements: seats });
    const started = performance.now();
    await Promise.all(Array.from({ length: 6 }, () => reader.readAgreement(sub.agreementId)));
    // Six DescribeAgreement calls at 4/s: the last leaves no earlier than 1.25 s after the first.
    expect(performance.now() - started).toBeGreaterThanOrEqual(1200);
    client.destroy();
  });

  it('a free trial is confirmed from GetAgreementTerms, and a form that lies about it is not believed', async () => {
    const trial = await h.sim.subscribe({ productCode: licenseProduct.code, freeTrial: true, confirmation: 'manual', entitlements: seats });
    const paid = await h.sim.subscribe({ productCode: licenseProduct.code, confirmation: 'manual', entitlements: seats });
    // The paid buyer's browser claims a free trial before AWS said anything: only a hint.
    expect((await register(paid.registrationToken, 'free-trial')).status).toBe(303);
    const hinted = await h.container.customers.findByIdentity({ licenseArn: paid.licenseArn });
    expect(hinted?.freeTrial).toBe(true);
    for (const s of [trial, paid]) await h.sim.confirm(s.id);
    await h.sim.flushNotifications();
    const find = (licenseArn: string) => h.container.customers.findByIdentity({ licenseArn });
    await until(
      'both active',
      async () =>
        (await find(trial.licenseArn))?.subscription.status === 'active' && (await find(paid.licenseArn))?.subscription.status === 'active',
    );
    const details = new AgreementDetailsRepository(h.db.store.db);
    await until('terms read', async () => (await details.find(trial.agreementId)) && (await details.find(paid.agreementId)));
    expect((await find(trial.licenseArn))?.freeTrial).toBe(true);
    expect((await find(paid.licenseArn))?.freeTrial).toBe(false);
    // The form again, still lying: AWS's answer stands.
    await register(paid.registrationToken, 'free-trial');
    const c = (await find(paid.licenseArn))!;
    expect(c.freeTrial).toBe(false);
    expect((await request(h.app).get(`/v1/customers/${c.id}`).set(auth)).body.freeTrial).toBe(false);
  });

  it('a contract that expires gets customer.contract_ending_soon from its Agreement API end time; one that renews does not', async () => {
    const expiring = await h.sim.subscribe({
      productCode: licenseProduct.code,
      autoRenew: false,
      confirmation: 'manual',
      entitlements: seats,
    });
    const renewing = await h.sim.subscribe({
      productCode: licenseProduct.code,
      autoRenew: true,
      confirmation: 'manual',
      entitlements: seats,
    });
    for (const s of [expiring, renewing]) await h.sim.confirm(s.id);
    await h.sim.flushNotifications();
    const details = new AgreementDetailsRepository(h.db.store.db);
    const ends = await until('terms read', async () => {
      const a = await details.find(expiring.agreementId);
      const b = await details.find(renewing.agreementId);
      const ca = await h.container.customers.findByIdentity({ licenseArn: expiring.licenseArn });
      return a && b && ca?.subscription.status === 'active' ? { a, b, customerId: ca.id } : undefined;
    });
    expect(ends.a.endTimeBehavior).toBe('EXPIRE');
    expect(ends.b.endTimeBehavior).toBe('RENEW');
    // 29 days before the end: the 60- and 30-day thresholds are reached; one message, for 30.
    h.clock.set(new Date(ends.a.endTime!.getTime() - 29 * 86_400_000));
    expect(await h.container.contractEndWatch.runOnce()).toBe(1);
    expect(await h.container.contractEndWatch.runOnce()).toBe(0);
    const hooks = await h.db.store.db
      .selectFrom('webhook_events')
      .select(['customer_id', 'payload'])
      .where('type', '=', 'customer.contract_ending_soon')
      .execute();
    expect(hooks.map((x) => x.customer_id)).toEqual([ends.customerId]);
    expect(JSON.parse(hooks[0]!.payload).data.contract).toEqual({
      agreementId: expiring.agreementId,
      endTime: ends.a.endTime!.toISOString(),
      daysBefore: 30,
      endTimeBehavior: 'EXPIRE',
    });
  });
});
