import { GetQueueAttributesCommand, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import request from 'supertest';
import { NotificationQueueConsumer } from '../../handlers/queue-notification.consumer';
import { SdkEntitlementReader } from '../../src/aws/entitlement-reader.gateway';
import { CustomerRepository } from '../../src/customers/customer.repository';
import { EventRepository } from '../../src/events/event.repository';
import { EventProcessor as RealEventProcessor, type EventProcessor } from '../../src/events/event-processor';
import { legacySubscription, licenseContract, startHarness, type Harness } from '../support/harness';
import { until } from '../support/until';

describe('notification queues through the simulator SQS, with the real SDK and sqs-consumer', () => {
  let h: Harness;
  let consumers: NotificationQueueConsumer[];

  function startConsumers(processor: EventProcessor, opts: { visibilityTimeout?: number; heartbeatInterval?: number | null } = {}) {
    consumers = ['subscription', 'entitlement', 'eventbridge'].map(
      (name) =>
        new NotificationQueueConsumer({
          name,
          queueUrl: h.sim.queueUrl(`marketplace-${name}`),
          sqs: h.aws.sqs,
          processor,
          logger: h.logger,
          waitTimeSeconds: 1,
          visibilityTimeout: opts.visibilityTimeout ?? 30,
          heartbeatInterval: opts.heartbeatInterval === undefined ? 10 : opts.heartbeatInterval,
        }),
    );
    for (const c of consumers) c.start();
  }

  beforeEach(async () => {
    h = await startHarness({ simulator: { confirmDelayMs: 50, unsubscribeDelayMs: 300 } });
  });
  afterEach(async () => {
    for (const c of consumers ?? []) await c.stop();
    await h.close();
  });

  it('legacy SNS buyer journey: buyer page → registration → subscribe-success → active → cancel → final window → ended', async () => {
    startConsumers(h.container.eventProcessor);
    const sub = await h.sim.subscribe({ productCode: legacySubscription.code, confirmation: 'manual' });
    // The buyer page auto-posts the token to the registration URL, as AWS Marketplace does.
    const buyerPage = await fetch(sub.buyerPageUrl).then((r) => r.text());
    const token = /name="x-amzn-marketplace-token" value="([^"]+)"/.exec(buyerPage)?.[1];
    expect(token).toEqual(expect.stringMatching(/.{16,}/));
    const registered = await request(h.app).post('/marketplace/register').type('form').send({ 'x-amzn-marketplace-token': token });
    expect(registered.status).toBe(303);
    const cookie = (registered.headers['set-cookie'] as unknown as string[])[0]!.split(';')[0]!;

    await h.sim.confirm(sub.id);
    const find = () =>
      h.container.customers.findByIdentity({ productCode: legacySubscription.code, customerIdentifier: sub.customerIdentifier });
    await until('active', async () => (await find())?.subscription.status === 'active');
    const page = await request(h.app).get('/marketplace/onboarding').set('Cookie', cookie);
    expect(page.text).toContain('Your subscription is active.');

    await h.sim.cancel(sub.id, { endAfterMs: 300 });
    await until('ended', async () => (await find())?.subscription.status === 'unsubscribed');
    const ended = await find();
    expect(ended?.subscription.endedAt).not.toBeNull();
    const kinds = (await h.container.events.list({ customerId: ended!.id })).map((e) => `${e.kind}:${e.outcome}`).sort();
    expect(kinds).toEqual(['subscribe-success:applied', 'unsubscribe-pending:applied', 'unsubscribe-success:applied']);
  });

  it('EventBridge licence journey with duplicated, reordered delivery ends in the same state', async () => {
    h.sim.setFaults({ duplicateRate: 1, reorderWindowMs: 100, seed: 7 });
    startConsumers(h.container.eventProcessor);
    const sub = await h.sim.subscribe({
      productCode: licenseContract.code,
      confirmation: 'manual',
      entitlements: [{ dimension: 'seats', integerValue: 3 }],
    });
    await request(h.app).post('/marketplace/register').type('form').send({ 'x-amzn-marketplace-token': sub.registrationToken });
    await h.sim.confirm(sub.id);
    await h.sim.flushNotifications();
    const find = () => h.container.customers.findByIdentity({ licenseArn: sub.licenseArn });
    await until('active', async () => (await find())?.subscription.status === 'active');
    await h.sim.setEntitlements(sub.id, [{ dimension: 'seats', integerValue: 9 }]);
    await h.sim.flushNotifications();
    await until('entitlements updated', async () => {
      const c = await find();
      const list = c ? await h.container.customers.listEntitlements(c.id) : [];
      return list[0]?.value.type === 'integer' && list[0].value.value === 9;
    });
    const outcomes = await until('duplicates recorded', async () => {
      const counts = consumers.reduce<Record<string, number>>((acc, c) => {
        for (const [k, v] of Object.entries(c.outcomeCounts())) acc[k] = (acc[k] ?? 0) + v;
        return acc;
      }, {});
      return (counts.duplicate ?? 0) > 0 ? counts : undefined;
    });
    expect(outcomes.applied).toBeGreaterThan(0);
    expect((await find())?.subscription.status).toBe('active');
  });

  it('stop() waits for the notification in flight: it is committed and deleted before stop() returns', async () => {
    const real = h.container.eventProcessor;
    let started = 0;
    let finished = 0;
    const slow = {
      handleBatch: async (...args: Parameters<EventProcessor['handleBatch']>) => {
        started++;
        await new Promise((r) => setTimeout(r, 700));
        const result = await real.handleBatch(...args);
        finished++;
        return result;
      },
    } as unknown as EventProcessor;
    startConsumers(slow);
    const sub = await h.sim.subscribe({ productCode: legacySubscription.code, confirmation: 'manual' });
    await h.sim.confirm(sub.id);
    await until('handler started', async () => started > 0);
    const stopping = Date.now();
    for (const c of consumers) await c.stop();
    expect(finished).toBe(started);
    // The handler takes 0.7 s; stop() must not hold the event loop while the delete is on the wire.
    expect(Date.now() - stopping).toBeLessThan(3_000);
    expect(
      (await h.container.customers.findByIdentity({ productCode: legacySubscription.code, customerIdentifier: sub.customerIdentifier }))
        ?.subscription.status,
    ).toBe('active');
    const left = await h.aws.sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl: h.sim.queueUrl('marketplace-subscription'),
        AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
      }),
    );
    expect(left.Attributes).toMatchObject({ ApproximateNumberOfMessages: '0', ApproximateNumberOfMessagesNotVisible: '0' });
  });

  it('garbage is recorded as rejected and deleted, and the consumer keeps going', async () => {
    startConsumers(h.container.eventProcessor);
    for (const body of [
      'not json at all',
      '{"Type":"Notification","MessageId":"g1","Message":"{\\"action\\":\\"bogus\\"}"}',
      '[]',
      '{"source":"aws.other","detail-type":"x","id":"g3","time":"2026-01-01T00:00:00Z","detail":{}}',
    ]) {
      await h.sim.publishRaw('marketplace-subscription', body);
    }
    const sub = await h.sim.subscribe({ productCode: legacySubscription.code, confirmation: 'manual' });
    await h.sim.confirm(sub.id);
    await until(
      'valid message applied after garbage',
      async () =>
        (await h.container.customers.findByIdentity({ productCode: legacySubscription.code, customerIdentifier: sub.customerIdentifier }))
          ?.subscription.status === 'active',
    );
    const rejected = await until('4 rejected', async () => {
      const list = await h.container.events.list({ outcome: 'rejected' });
      return list.length === 4 ? list : undefined;
    });
    expect(rejected.every((e) => typeof e.reason === 'string' && e.reason.length > 0)).toBe(true);
    const left = await h.aws.sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl: h.sim.queueUrl('marketplace-subscription'),
        AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
      }),
    );
    expect(left.Attributes).toMatchObject({ ApproximateNumberOfMessages: '0', ApproximateNumberOfMessagesNotVisible: '0' });
  });

  it('while the store is down nothing is acknowledged; after recovery the message is applied; a permanent failure is dead-lettered', async () => {
    // The real processor and repositories over a store whose connection fails while `down` is set.
    let down = true;
    const storeDb = h.db.store.db;
    const flakyDb = new Proxy(storeDb, {
      get(target, prop, receiver) {
        if (down && ['selectFrom', 'transaction', 'insertInto', 'updateTable', 'deleteFrom'].includes(String(prop))) {
          return () => {
            throw Object.assign(new Error('connection refused'), { code: 'ECONNREFUSED' });
          };
        }
        const value: unknown = Reflect.get(target, prop, receiver);
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
    const flaky = new RealEventProcessor({
      db: flakyDb,
      customers: new CustomerRepository(flakyDb),
      events: new EventRepository(flakyDb),
      entitlements: new SdkEntitlementReader(h.aws.entitlement),
      catalog: h.container.catalog,
      bus: h.container.bus,
      clock: h.clock,
      logger: h.logger,
    });
    startConsumers(flaky, { visibilityTimeout: 1, heartbeatInterval: null });
    const sub = await h.sim.subscribe({ productCode: legacySubscription.code, confirmation: 'manual' });
    await h.sim.confirm(sub.id);
    await new Promise((r) => setTimeout(r, 2500));
    const find = () =>
      h.container.customers.findByIdentity({ productCode: legacySubscription.code, customerIdentifier: sub.customerIdentifier });
    expect(await find()).toBeUndefined();
    expect(await h.container.events.list()).toEqual([]);
    down = false;
    await until('applied after recovery', async () => (await find())?.subscription.status === 'active');
    const c = await find();
    // Applied once, by the redelivery, and then deleted from the queue.
    expect((await h.container.events.list({ customerId: c!.id })).map((e) => `${e.kind}:${e.outcome}`)).toEqual([
      'subscribe-success:applied',
    ]);
    await until('queue drained after recovery', async () => {
      const a = await h.aws.sqs.send(
        new GetQueueAttributesCommand({
          QueueUrl: h.sim.queueUrl('marketplace-subscription'),
          AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
        }),
      );
      return a.Attributes?.ApproximateNumberOfMessages === '0' && a.Attributes?.ApproximateNumberOfMessagesNotVisible === '0';
    });

    // A message that always fails goes to the dead-letter queue after maxReceiveCount (5) receives.
    down = true;
    await h.sim.publishRaw('marketplace-subscription', JSON.stringify({ poison: true }));
    const dlqUrl = h.sim.queueUrl('marketplace-subscription-dlq');
    const dead = await until(
      'dead-lettered',
      async () => {
        const r = await h.aws.sqs.send(
          new ReceiveMessageCommand({ QueueUrl: dlqUrl, WaitTimeSeconds: 0, MessageSystemAttributeNames: ['ApproximateReceiveCount'] }),
        );
        return r.Messages?.[0];
      },
      { timeoutMs: 20_000 },
    );
    expect(JSON.parse(dead.Body!)).toEqual({ poison: true });
  }, 40_000);
});
