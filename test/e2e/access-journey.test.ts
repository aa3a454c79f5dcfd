import request from 'supertest';
import { NotificationQueueConsumer } from '../../handlers/queue-notification.consumer';
import { legacySubscription, licenseContract, startHarness, TEST_API_KEY, type Harness } from '../support/harness';
import { until } from '../support/until';

/**
 * The access check follows the buyer's journey as AWS drives it: the simulator's notifications
 * travel through its SQS queues to the real consumers, and the SaaS product asks /v1/access.
 */

describe('access checks along the buyer journey (simulator SQS, real consumers)', () => {
  let h: Harness;
  let consumers: NotificationQueueConsumer[] = [];
  beforeEach(async () => {
    h = await startHarness({ simulator: { confirmDelayMs: 50, unsubscribeDelayMs: 300 } });
    consumers = ['subscription', 'entitlement', 'eventbridge'].map(
      (name) =>
        new NotificationQueueConsumer({
          name,
          queueUrl: h.sim.queueUrl(`marketplace-${name}`),
          sqs: h.aws.sqs,
          processor: h.container.eventProcessor,
          logger: h.logger,
          waitTimeSeconds: 1,
        }),
    );
    for (const c of consumers) c.start();
  });
  afterEach(async () => {
    for (const c of consumers) await c.stop();
    await h.close();
  });

  const access = async (query: Record<string, string | number>) => {
    const res = await request(h.app).get('/v1/access').query(query).set('Authorization', `Bearer ${TEST_API_KEY}`);
    expect(res.status).toBe(200);
    return res.body as { allowed: boolean; reason: string; overage: number };
  };
  const reasonBecomes = (query: Record<string, string | number>, reason: string) =>
    until(`access ${reason}`, async () => (await access(query)).reason === reason);

  it('legacy subscription: refused until subscribe-success, allowed, refused from unsubscribe-pending on', async () => {
    const sub = await h.sim.subscribe({ productCode: legacySubscription.code, confirmation: 'manual' });
    expect(
      (await request(h.app).post('/marketplace/register').type('form').send({ 'x-amzn-marketplace-token': sub.registrationToken })).status,
    ).toBe(303);
    const query = { customer: sub.customerIdentifier!, dimension: 'api_calls', quantity: 3 };
    expect(await access(query)).toMatchObject({ allowed: false, reason: 'awaiting_confirmation' });
    await h.sim.confirm(sub.id);
    await reasonBecomes(query, 'billed_per_use');
    await h.sim.cancel(sub.id, { endAfterMs: 1_000 });
    await reasonBecomes(query, 'subscription_ending');
    expect((await access(query)).allowed).toBe(false);
    await reasonBecomes(query, 'subscription_ended');
  });

  it('contract by licence: the entitled quantity follows entitlement changes; above it is billed as overage', async () => {
    const sub = await h.sim.subscribe({
      productCode: licenseContract.code,
      confirmation: 'manual',
      entitlements: [{ dimension: 'seats', integerValue: 3 }],
    });
    await request(h.app).post('/marketplace/register').type('form').send({ 'x-amzn-marketplace-token': sub.registrationToken });
    await h.sim.confirm(sub.id);
    await h.sim.flushNotifications();
    const seats = { customer: sub.licenseArn!, dimension: 'seats', quantity: 5 };
    await reasonBecomes(seats, 'billed_as_overage');
    expect((await access(seats)).overage).toBe(2);
    expect(await access({ customer: sub.licenseArn!, dimension: 'sso' })).toMatchObject({ allowed: false, reason: 'not_entitled' });
    await h.sim.setEntitlements(sub.id, [{ dimension: 'seats', integerValue: 9 }]);
    await h.sim.flushNotifications();
    await reasonBecomes(seats, 'within_entitlement');
  });
});
