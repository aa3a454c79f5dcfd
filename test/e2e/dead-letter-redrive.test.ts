import {
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import request from 'supertest';
import { createContainer } from '../../src/container';
import { NotificationQueueConsumer } from '../../handlers/queue-notification.consumer';
import { meteringHarness } from '../metering/metering-support';
import { legacySubscription, type Harness } from '../support/harness';
import { behind, StoreSwitch } from '../support/store-switch';
import { describeDialects } from '../support/stores';
import { until } from '../support/until';
import type { ManualClock } from '../../src/platform/clock';

const QUEUE = 'marketplace-subscription';
const BUYERS = 4;

async function depth(sqs: SQSClient, url: string): Promise<number> {
  const r = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['ApproximateNumberOfMessages'] }));
  return Number(r.Attributes?.ApproximateNumberOfMessages ?? 0);
}

async function inFlight(sqs: SQSClient, url: string): Promise<number> {
  const r = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['ApproximateNumberOfMessagesNotVisible'] }));
  return Number(r.Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0);
}

/**
 * A store outage longer than the consumer's visibility timeout × the queue's maxReceiveCount: every
 * notification received meanwhile fails each time and SQS moves it to the dead-letter queue, where
 * it waits (the deployment kit alarms on it). Once the store is back, the operator redrives the
 * dead-letter queue to its source queue (README, "Deploying to AWS"): each message is sent again,
 * under a new SQS message id, and the service applies it as if it had never failed. Nothing is lost,
 * nothing is applied twice.
 */
describeDialects('notifications dead-lettered by a long store outage, then redriven (%s)', (dialect) => {
  let h: Harness & { clock: ManualClock };
  let consumer: NotificationQueueConsumer | undefined;
  afterEach(async () => {
    await consumer?.stop();
    await h?.close();
  });

  it('are applied once each after the redrive, whatever their new message ids', async () => {
    h = await meteringHarness({ dialect, products: [legacySubscription], start: '2026-03-10T10:00:00.000Z' });
    const source = h.sim.queueUrl(QUEUE);
    const dlq = h.sim.queueUrl(`${QUEUE}-dlq`);
    // The consuming instance reaches the store through a switch the test turns off and on.
    const outage = new StoreSwitch();
    const instance = createContainer({ config: h.config, store: behind(h.db.store, outage), aws: h.aws, clock: h.clock, logger: h.logger });
    const buyers: string[] = [];
    for (let i = 0; i < BUYERS; i++) {
      const sub = await h.sim.subscribe({ productCode: legacySubscription.code, confirmation: 'manual' });
      const res = await request(h.app)
        .post('/marketplace/register')
        .type('form')
        .send({ 'x-amzn-marketplace-token': sub.registrationToken });
      expect(res.status).toBe(303);
      buyers.push(sub.id);
    }
    const statuses = async () =>
      (await h.db.store.db.selectFrom('customers').select(['customer_identifier', 'status']).orderBy('customer_identifier').execute()).map(
        (r) => r.status,
      );
    expect(await statuses()).toEqual(Array.from({ length: BUYERS }, () => 'pending'));

    outage.down = true;
    consumer = new NotificationQueueConsumer({
      name: 'subscription',
      queueUrl: source,
      sqs: h.aws.sqs,
      processor: instance.eventProcessor,
      logger: h.logger,
      waitTimeSeconds: 1,
    });
    consumer.start();
    for (const id of buyers) await h.sim.confirm(id);
    await h.sim.flushNotifications();
    // Each failed receive leaves the message to come back after the visibility timeout; after
    // maxReceiveCount receives SQS moves it to the dead-letter queue.
    await until(
      'every notification to be dead-lettered',
      async () => {
        h.clock.advance(61_000);
        return (await depth(h.aws.sqs, dlq)) === BUYERS && (await depth(h.aws.sqs, source)) === 0 ? true : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 1_200 },
    );
    outage.down = false;
    expect(await statuses()).toEqual(Array.from({ length: BUYERS }, () => 'pending'));

    // The redrive: every dead-lettered message sent again to its source queue, then deleted.
    const bodies: string[] = [];
    for (;;) {
      const r = await h.aws.sqs.send(new ReceiveMessageCommand({ QueueUrl: dlq, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }));
      if (!r.Messages?.length) break;
      for (const m of r.Messages) {
        await h.aws.sqs.send(new SendMessageCommand({ QueueUrl: source, MessageBody: m.Body! }));
        await h.aws.sqs.send(new DeleteMessageCommand({ QueueUrl: dlq, ReceiptHandle: m.ReceiptHandle! }));
        bodies.push(m.Body!);
      }
    }
    expect(bodies).toHaveLength(BUYERS);
    await until(
      'the redriven notifications to be applied',
      async () => ((await statuses()).every((s) => s === 'active') ? true : undefined),
      {
        timeoutMs: 30_000,
        intervalMs: 200,
      },
    );
    const drained = async () => ((await depth(h.aws.sqs, source)) === 0 && (await inFlight(h.aws.sqs, source)) === 0 ? true : undefined);
    await until('the source queue to be drained', drained, { timeoutMs: 30_000, intervalMs: 200 });

    // The same redrive again (an operator running it twice): nothing changes.
    const snapshot = async () => ({
      customers: await h.db.store.db.selectFrom('customers').selectAll().orderBy('id').execute(),
      events: (await h.db.store.db.selectFrom('events').select(['customer_id', 'kind']).orderBy('customer_id').orderBy('kind').execute())
        .length,
      changes: (await h.db.store.db.selectFrom('customer_changes').select('customer_id').execute()).length,
    });
    const before = await snapshot();
    expect(before.events).toBeGreaterThanOrEqual(BUYERS);
    for (const body of bodies) await h.aws.sqs.send(new SendMessageCommand({ QueueUrl: source, MessageBody: body }));
    await until('the second redrive to be consumed', drained, { timeoutMs: 30_000, intervalMs: 200 });
    expect(await snapshot()).toEqual(before);
    expect(await depth(h.aws.sqs, dlq)).toBe(0);
  });
});
