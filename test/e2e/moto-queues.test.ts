import { EventBridgeClient, PutEventsCommand, PutRuleCommand, PutTargetsCommand } from '@aws-sdk/client-eventbridge';
import { CreateTopicCommand, PublishCommand, SNSClient, SubscribeCommand } from '@aws-sdk/client-sns';
import {
  CreateQueueCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { NotificationQueueConsumer } from '../../handlers/queue-notification.consumer';
import type { EventProcessor } from '../../src/events/event-processor';
import { legacySubscription, licenseContract, startHarness, type Harness } from '../support/harness';
import { motoAvailable, startMoto, type MotoServer } from '../support/moto';
import { until as untilDone } from '../support/until';

const run = motoAvailable('queue handlers against moto (SNS→SQS, EventBridge→SQS)') ? describe : describe.skip;

/** moto answers more slowly than the simulator: poll less often, wait longer. */
const until = (what: string, probe: () => Promise<unknown>) => untilDone(what, probe, { timeoutMs: 20_000, intervalMs: 100 });

run('queue handlers against moto: envelopes from an implementation we did not write', () => {
  let moto: MotoServer;
  let h: Harness;
  let sqs: SQSClient;
  let sns: SNSClient;
  let events: EventBridgeClient;
  let subscriptionQueue: string;
  let eventBridgeQueue: string;
  let topicArn: string;
  let consumers: NotificationQueueConsumer[] = [];

  const clientConfig = () => ({ region: 'us-east-1', endpoint: moto.url, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });

  async function queueArn(url: string): Promise<string> {
    const a = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['QueueArn'] }));
    return a.Attributes!.QueueArn!;
  }

  function startConsumers(processor: EventProcessor, opts: { visibilityTimeout?: number } = {}) {
    consumers = [
      ['subscription', subscriptionQueue],
      ['eventbridge', eventBridgeQueue],
    ].map(
      ([name, url]) =>
        new NotificationQueueConsumer({
          name: name!,
          queueUrl: url!,
          sqs,
          processor,
          logger: h.logger,
          waitTimeSeconds: 1,
          visibilityTimeout: opts.visibilityTimeout ?? 30,
          heartbeatInterval: null,
        }),
    );
    for (const c of consumers) c.start();
  }

  beforeAll(async () => {
    moto = await startMoto();
    sqs = new SQSClient(clientConfig());
    sns = new SNSClient(clientConfig());
    events = new EventBridgeClient(clientConfig());
  }, 30_000);
  afterAll(async () => {
    sqs?.destroy();
    sns?.destroy();
    events?.destroy();
    await moto?.stop();
  });

  beforeEach(async () => {
    h = await startHarness();
    const suffix = Math.random().toString(36).slice(2, 8);
    const dlq = (await sqs.send(new CreateQueueCommand({ QueueName: `sub-dlq-${suffix}` }))).QueueUrl!;
    subscriptionQueue = (
      await sqs.send(
        new CreateQueueCommand({
          QueueName: `sub-${suffix}`,
          Attributes: { RedrivePolicy: JSON.stringify({ deadLetterTargetArn: await queueArn(dlq), maxReceiveCount: 2 }) },
        }),
      )
    ).QueueUrl!;
    eventBridgeQueue = (await sqs.send(new CreateQueueCommand({ QueueName: `eb-${suffix}` }))).QueueUrl!;
    topicArn = (await sns.send(new CreateTopicCommand({ Name: `aws-mp-subscription-notification-${suffix}` }))).TopicArn!;
    await sns.send(new SubscribeCommand({ TopicArn: topicArn, Protocol: 'sqs', Endpoint: await queueArn(subscriptionQueue) }));
    await events.send(
      new PutRuleCommand({ Name: `mp-${suffix}`, EventPattern: JSON.stringify({ source: ['aws.agreement-marketplace'] }) }),
    );
    await events.send(new PutTargetsCommand({ Rule: `mp-${suffix}`, Targets: [{ Id: 'q', Arn: await queueArn(eventBridgeQueue) }] }));
  });
  afterEach(async () => {
    for (const c of consumers) await c.stop();
    consumers = [];
    await h.close();
  });

  async function publish(action: string, customerIdentifier: string): Promise<void> {
    const message = {
      action,
      'customer-identifier': customerIdentifier,
      'product-code': legacySubscription.code,
      'offer-identifier': 'offer-1',
      isFreeTrialTermPresent: 'false',
    };
    await sns.send(new PublishCommand({ TopicArn: topicArn, Message: JSON.stringify(message) }));
    await new Promise((r) => setTimeout(r, 5)); // distinct envelope timestamps
  }

  it('SNS→SQS envelopes: every action applied; redelivered copies and any order give the same final state', async () => {
    const sub = await h.sim.subscribe({ productCode: legacySubscription.code, confirmation: 'manual' });
    const id = sub.customerIdentifier!;
    await publish('subscribe-success', id);
    await publish('unsubscribe-pending', id);
    await publish('subscribe-success', id); // the re-subscribe race: active again
    // Take moto's envelopes off the queue and put them back shuffled, each twice, as an
    // at-least-once, unordered delivery would.
    const bodies: string[] = [];
    for (let tries = 0; bodies.length < 3 && tries < 10; tries++) {
      const got = await sqs.send(
        new ReceiveMessageCommand({ QueueUrl: subscriptionQueue, MaxNumberOfMessages: 10, VisibilityTimeout: 60, WaitTimeSeconds: 1 }),
      );
      for (const m of got.Messages ?? []) {
        bodies.push(m.Body!);
        await sqs.send(new DeleteMessageCommand({ QueueUrl: subscriptionQueue, ReceiptHandle: m.ReceiptHandle! }));
      }
    }
    expect(bodies).toHaveLength(3);
    for (const body of bodies) {
      const envelope = JSON.parse(body) as Record<string, unknown>;
      expect(envelope).toMatchObject({ Type: 'Notification', TopicArn: topicArn });
      expect(typeof envelope.Message).toBe('string');
    }
    const deliveries = [...bodies, ...bodies];
    const seed = Math.floor(Math.random() * 2 ** 31);
    let r = seed;
    for (let i = deliveries.length - 1; i > 0; i--) {
      r = (r * 1103515245 + 12345) & 0x7fffffff;
      const j = r % (i + 1);
      [deliveries[i], deliveries[j]] = [deliveries[j]!, deliveries[i]!];
    }
    h.logger.info({ seed }, 'moto SNS delivery order seed');
    for (const body of deliveries) await sqs.send(new SendMessageCommand({ QueueUrl: subscriptionQueue, MessageBody: body }));
    startConsumers(h.container.eventProcessor);
    const find = () => h.container.customers.findByIdentity({ productCode: legacySubscription.code, customerIdentifier: id });
    await until('three applied events', async () => {
      const c = await find();
      return c && (await h.container.events.list({ customerId: c.id })).length >= 3;
    });
    await until('queue drained', async () => {
      const a = await sqs.send(
        new GetQueueAttributesCommand({
          QueueUrl: subscriptionQueue,
          AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
        }),
      );
      return a.Attributes?.ApproximateNumberOfMessages === '0' && a.Attributes?.ApproximateNumberOfMessagesNotVisible === '0';
    });
    expect((await find())?.subscription.status).toBe('active');
    const outcomes = consumers[0]!.outcomeCounts();
    expect(outcomes.duplicate).toBeGreaterThan(0);

    await publish('unsubscribe-success', id);
    await until('unsubscribed', async () => (await find())?.subscription.status === 'unsubscribed');
  });

  it('EventBridge→SQS: License Updated activates with the licence; Agreement Ended opens the window; Deprovisioned ends', async () => {
    startConsumers(h.container.eventProcessor);
    const sub = await h.sim.subscribe({
      productCode: licenseContract.code,
      confirmation: 'manual',
      entitlements: [{ dimension: 'seats', integerValue: 7 }],
    });
    const base = Date.now() - 60_000;
    const put = (detailType: string, offsetMs: number, detail: Record<string, unknown>) =>
      events.send(
        new PutEventsCommand({
          Entries: [
            {
              Source: 'aws.agreement-marketplace',
              DetailType: detailType,
              Time: new Date(base + offsetMs),
              Detail: JSON.stringify({ requestId: `r-${detailType}-${offsetMs}`, ...detail }),
            },
          ],
        }),
      );
    const who = { acceptor: { accountId: sub.customerAWSAccountId }, agreement: { id: sub.agreementId } };
    await put('License Updated - Manufacturer', 1000, {
      ...who,
      product: { id: sub.productId, code: licenseContract.code },
      license: { arn: sub.licenseArn },
    });
    const find = () => h.container.customers.findByIdentity({ licenseArn: sub.licenseArn });
    await until('active', async () => (await find())?.subscription.status === 'active');
    const c = await find();
    expect(await h.container.customers.listEntitlements(c!.id)).toEqual([
      { dimension: 'seats', value: { type: 'integer', value: 7 }, expirationDate: null },
    ]);
    await put('Purchase Agreement Ended - Proposer', 2000, { ...who, agreement: { id: sub.agreementId, status: 'CANCELLED' } });
    await until('final window', async () => (await find())?.subscription.status === 'unsubscribe_pending');
    await put('License Deprovisioned - Manufacturer', 3000, {
      ...who,
      product: { id: sub.productId, code: licenseContract.code },
      license: { arn: sub.licenseArn },
    });
    await until('ended', async () => (await find())?.subscription.status === 'unsubscribed');
  });

  it('garbage is rejected and acknowledged; a message that keeps failing is dead-lettered by moto', async () => {
    let down = true;
    const real = h.container.eventProcessor;
    const flaky = {
      handleBatch: (...a: Parameters<EventProcessor['handleBatch']>) =>
        down
          ? Promise.resolve(a[0].map((): PromiseSettledResult<never> => ({ status: 'rejected', reason: new Error('store unreachable') })))
          : real.handleBatch(...a),
    } as unknown as EventProcessor;
    startConsumers(flaky, { visibilityTimeout: 1 });
    await sqs.send(new SendMessageCommand({ QueueUrl: subscriptionQueue, MessageBody: '{"poison":' }));
    const dlqUrl = subscriptionQueue.replace(/sub-([a-z0-9]+)$/, 'sub-dlq-$1');
    await until('dead-lettered', async () => {
      const a = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: dlqUrl, AttributeNames: ['ApproximateNumberOfMessages'] }));
      return Number(a.Attributes?.ApproximateNumberOfMessages) > 0;
    });
    down = false;
    await sqs.send(new SendMessageCommand({ QueueUrl: subscriptionQueue, MessageBody: 'still not json' }));
    await until('rejected and recorded', async () => (await h.container.events.list({ outcome: 'rejected' })).length === 1);
  }, 40_000);
});
