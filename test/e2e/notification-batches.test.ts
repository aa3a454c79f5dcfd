import { DeleteMessageBatchCommand, GetQueueAttributesCommand, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { NotificationQueueConsumer } from '../../handlers/queue-notification.consumer';
import { SdkEntitlementReader } from '../../src/aws/entitlement-reader.gateway';
import type { SQSClient } from '../../src/aws/clients';
import { CustomerRepository, type CustomerFacts } from '../../src/customers/customer.repository';
import { EventRepository } from '../../src/events/event.repository';
import { EventProcessor } from '../../src/events/event-processor';
import { snsBody } from '../events/processor-support';
import { legacySubscription, startHarness, type Harness } from '../support/harness';
import { describeDialects } from '../support/stores';
import { until } from '../support/until';

/** Fails the upsert of one customer identifier, always: a message that can never be applied. */
class PoisonedCustomers extends CustomerRepository {
  override async upsertIn(...args: Parameters<CustomerRepository['upsertIn']>): ReturnType<CustomerRepository['upsertIn']> {
    const facts: CustomerFacts = args[1];
    if (facts.customerIdentifier === 'CUST-POISON') throw new Error('poison message');
    return super.upsertIn(...args);
  }
}

/**
 * The consumer commits one receive together and deletes only what committed: through the
 * simulator's SQS with the real SDK and sqs-consumer, on one receive holding every message.
 */
describeDialects('notification queue consumer: one receive, one transaction, only the committed deleted (%s)', (dialect) => {
  let h: Harness;
  let consumer: NotificationQueueConsumer | undefined;
  const queue = 'marketplace-subscription';
  const outcomes: string[] = [];

  beforeEach(async () => {
    h = await startHarness({ dialect });
    outcomes.length = 0;
  });
  afterEach(async () => {
    await consumer?.stop();
    await h.close();
  });

  function start(processor: EventProcessor, sqs: SQSClient = h.aws.sqs) {
    consumer = new NotificationQueueConsumer({
      name: 'subscription',
      queueUrl: h.sim.queueUrl(queue),
      sqs,
      processor,
      logger: h.logger,
      waitTimeSeconds: 1,
      visibilityTimeout: 1,
      heartbeatInterval: null,
      onOutcome: (o) => outcomes.push(o),
    });
    consumer.start();
  }

  function processorWith(customers: CustomerRepository): EventProcessor {
    const db = h.db.store.db;
    return new EventProcessor({
      db,
      customers,
      events: new EventRepository(db),
      entitlements: new SdkEntitlementReader(h.aws.entitlement),
      catalog: h.container.catalog,
      bus: h.container.bus,
      clock: h.clock,
      logger: h.logger,
    });
  }

  /** Published before the consumer starts, so that its first receive holds all of them. */
  async function publish(identifiers: string[]): Promise<void> {
    const at = new Date(h.clock.now().getTime() - 60_000);
    for (const who of identifiers)
      await h.sim.publishRaw(
        queue,
        snsBody(`sns-${who}`, 'subscribe-success', at, { 'customer-identifier': who, 'product-code': legacySubscription.code }),
      );
  }

  const status = async (who: string) =>
    (await h.container.customers.findByIdentity({ productCode: legacySubscription.code, customerIdentifier: who }))?.subscription.status;

  async function queueDepth(url = h.sim.queueUrl(queue)): Promise<{ visible: number; inFlight: number }> {
    const a = await h.aws.sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl: url,
        AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
      }),
    );
    return {
      visible: Number(a.Attributes?.ApproximateNumberOfMessages),
      inFlight: Number(a.Attributes?.ApproximateNumberOfMessagesNotVisible),
    };
  }

  it('a poison message among good ones: the good ones are committed once and deleted, the poison alone is retried and dead-lettered', async () => {
    const good = ['CUST-1', 'CUST-2', 'CUST-3', 'CUST-4'];
    await publish(['CUST-1', 'CUST-2', 'CUST-POISON', 'CUST-3', 'CUST-4']);
    start(processorWith(new PoisonedCustomers(h.db.store.db)));
    await until('good ones applied', async () => (await Promise.all(good.map(status))).every((s) => s === 'active'));
    const dead = await until(
      'poison dead-lettered',
      async () => {
        const r = await h.aws.sqs.send(new ReceiveMessageCommand({ QueueUrl: h.sim.queueUrl(`${queue}-dlq`), WaitTimeSeconds: 0 }));
        return r.Messages?.[0];
      },
      { timeoutMs: 20_000 },
    );
    expect(dead.Body).toContain('CUST-POISON');
    // Each good message was applied, acknowledged and never seen again; the poison was never stored.
    expect(outcomes).toEqual(['applied', 'applied', 'applied', 'applied']);
    const events = await h.container.events.list();
    expect(events.map((e) => e.outcome).sort()).toEqual(['applied', 'applied', 'applied', 'applied']);
    expect(events.some((e) => JSON.stringify(e.payload).includes('CUST-POISON'))).toBe(false);
    expect(await queueDepth()).toEqual({ visible: 0, inFlight: 0 });
  }, 30_000);

  it('a crash between commit and delete: the receive comes back, is a no-op (duplicates) and is then deleted', async () => {
    const who = ['CUST-1', 'CUST-2', 'CUST-3'];
    await publish(who);
    // The first DeleteMessageBatch is lost, as if the process died right after the commit.
    let deletesToLose = 1;
    const sqs = new Proxy(h.aws.sqs, {
      get(target, prop) {
        if (prop === 'send')
          return (command: unknown, ...rest: unknown[]) => {
            if (command instanceof DeleteMessageBatchCommand && deletesToLose > 0) {
              deletesToLose--;
              return Promise.reject(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }));
            }
            return (target.send as (...a: unknown[]) => Promise<unknown>)(command, ...rest);
          };
        const value: unknown = Reflect.get(target, prop, target);
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
    start(h.container.eventProcessor, sqs);
    await until('redelivered and deleted', async () => outcomes.length === 6 && (await queueDepth()).inFlight === 0, { timeoutMs: 15_000 });
    expect(deletesToLose).toBe(0);
    expect(outcomes).toEqual(['applied', 'applied', 'applied', 'duplicate', 'duplicate', 'duplicate']);
    expect(await queueDepth()).toEqual({ visible: 0, inFlight: 0 });
    for (const w of who) {
      expect(await status(w)).toBe('active');
      const c = await h.container.customers.findByIdentity({ productCode: legacySubscription.code, customerIdentifier: w });
      expect((await h.container.events.list({ customerId: c!.id })).map((e) => `${e.kind}:${e.outcome}`)).toEqual([
        'subscribe-success:applied',
      ]);
    }
  }, 30_000);
});
