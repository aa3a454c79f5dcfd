/**
 * Notifications processed per second, end to end: SNS envelopes in the simulator's SQS queue →
 * sqs-consumer (real SDK, long polling) → parse → one store transaction per receive → delete. The clock
 * stops when the queue is empty (every message deleted, none in flight).
 * Usage: node -r @swc-node/register bench/notifications.ts [messages=5000] [consumers=4] [sqlite|postgres|both]
 */
import { GetQueueAttributesCommand, SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import { Writable } from 'node:stream';
import { NotificationQueueConsumer } from '../handlers/queue-notification.consumer';
import { createAwsClients } from '../src/aws/clients';
import { SdkEntitlementReader } from '../src/aws/entitlement-reader.gateway';
import { CustomerRepository } from '../src/customers/customer.repository';
import { EventRepository } from '../src/events/event.repository';
import { EventProcessor } from '../src/events/event-processor';
import { systemClock } from '../src/platform/clock';
import { DomainEventBus } from '../src/platform/domain-events';
import { createLogger } from '../src/platform/logger';
import { ProductCatalog, type ProductConfig } from '../src/products/product-config';
import { startSimulator } from '../src/simulator';
import { openBenchStore } from './bench-store';
import { reportFigure } from './figures';

const product: ProductConfig = {
  code: 'bench-product',
  name: 'Bench',
  pricingModel: 'subscription',
  meteringApi: 'batch',
  identity: 'customer-identifier',
  dimensions: [],
};

function envelope(i: number, action: string, at: Date): string {
  return JSON.stringify({
    Type: 'Notification',
    MessageId: `bench-${i}-${action}`,
    TopicArn: 'arn:aws:sns:us-east-1:287250355862:aws-mp-subscription-notification-bench',
    Message: JSON.stringify({
      action,
      'customer-identifier': `cust-${i % 1000}`,
      'product-code': product.code,
      isFreeTrialTermPresent: 'false',
    }),
    Timestamp: at.toISOString(),
    SignatureVersion: '1',
    Signature: 'x',
    SigningCertURL: 'https://sns.us-east-1.amazonaws.com/SimpleNotificationService-0123456789abcdef0123456789abcdef.pem',
  });
}

export async function benchNotifications(
  total = 5000,
  consumerCount = 4,
  dialect: 'sqlite' | 'postgres' = 'sqlite',
): Promise<{ perSecond: number; seconds: number }> {
  const sim = await startSimulator({ quotas: { batchMeterUsage: 0, meterUsage: 0, getEntitlements: 0 } });
  // PostgreSQL: a schema of its own, created here and dropped at the end; nobody's tables are touched.
  const { store, dispose } = await openBenchStore(dialect);
  const aws = createAwsClients({
    region: 'us-east-1',
    endpoints: { metering: sim.url, entitlement: sim.url, sqs: sim.url },
    credentials: { accessKeyId: 'b', secretAccessKey: 'b' },
  });
  const logger = createLogger({ level: 'warn', destination: new Writable({ write: (_c, _e, done) => done() }) });
  // Every statement the processor sends (BEGIN and COMMIT are not plugin-visible and not counted), and its transactions.
  let statements = 0;
  let transactions = 0;
  const counted = store.db.withPlugin({
    transformQuery: ({ node }) => {
      statements++;
      return node;
    },
    transformResult: ({ result }) => Promise.resolve(result),
  });
  const db = new Proxy(counted, {
    get(target, prop) {
      if (prop === 'transaction') transactions++;
      const value: unknown = Reflect.get(target, prop, target);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
  const customers = new CustomerRepository(db);
  const processor = new EventProcessor({
    db,
    customers,
    events: new EventRepository(db),
    entitlements: new SdkEntitlementReader(aws.entitlement),
    catalog: new ProductCatalog([product]),
    bus: new DomainEventBus(),
    clock: systemClock,
    logger,
  });
  const queueUrl = sim.queueUrl('marketplace-subscription');

  // Fill the queue first, so the figure is processing speed, not publishing speed.
  const base = Date.now() - 3_600_000;
  for (let i = 0; i < total; i += 10) {
    const entries = Array.from({ length: Math.min(10, total - i) }, (_, k) => ({
      Id: String(k),
      MessageBody: envelope(i + k, (i + k) % 2 ? 'subscribe-success' : 'unsubscribe-pending', new Date(base + i + k)),
    }));
    await aws.sqs.send(new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: entries }));
  }
  const consumers = Array.from(
    { length: consumerCount },
    (_, n) => new NotificationQueueConsumer({ name: `bench-${n}`, queueUrl, sqs: aws.sqs, processor, logger, waitTimeSeconds: 1 }),
  );
  const memBefore = process.memoryUsage().rss;
  statements = 0;
  transactions = 0;
  const started = process.hrtime.bigint();
  for (const c of consumers) c.start();
  // A message counts once it is deleted: the run ends when the queue holds nothing, visible or in flight.
  for (;;) {
    const a = await aws.sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl: queueUrl,
        AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
      }),
    );
    if (Number(a.Attributes?.ApproximateNumberOfMessages) === 0 && Number(a.Attributes?.ApproximateNumberOfMessagesNotVisible) === 0) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  for (const c of consumers) await c.stop();
  const perMessage = statements / total;
  const messagesPerTransaction = total / Math.max(1, transactions);
  const applied = await store.db
    .selectFrom('events')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .executeTakeFirst();
  aws.destroy();
  await sim.stop();
  await dispose();
  const perSecond = total / seconds;
  console.log(
    `notifications: ${total} messages, ${consumerCount} consumers, ${dialect}: ${seconds.toFixed(2)} s, ${perSecond.toFixed(0)} messages/s, events stored ${Number(applied?.n)}, ${perMessage.toFixed(1)} statements/message besides BEGIN and COMMIT, ${messagesPerTransaction.toFixed(1)} messages/transaction, rss +${((process.memoryUsage().rss - memBefore) / 1e6).toFixed(0)} MB`,
  );
  return { perSecond, seconds };
}

/**
 * `both` (what `npm run bench` runs when TEST_DATABASE_URL is set): three interleaved rounds on
 * each engine, PostgreSQL reported beside SQLite measured in the same run.
 */
async function bothEngines(total: number, consumers: number, rounds = 3): Promise<void> {
  const sqlite: number[] = [];
  const postgres: number[] = [];
  for (let round = 0; round < rounds; round++) {
    sqlite.push((await benchNotifications(total, consumers, 'sqlite')).perSecond);
    postgres.push((await benchNotifications(total, consumers, 'postgres')).perSecond);
  }
  reportFigure({
    figure: `notifications, PostgreSQL (${consumers} consumers)`,
    unit: 'messages/s',
    rounds: postgres,
    reference: { name: 'the same on SQLite', rounds: sqlite },
    target: 0.8,
  });
}

if (require.main === module) {
  const [total, consumers, dialect] = process.argv.slice(2);
  const run =
    dialect === 'both'
      ? bothEngines(Number(total ?? 5000), Number(consumers ?? 4))
      : benchNotifications(Number(total ?? 5000), Number(consumers ?? 4), (dialect as 'sqlite' | 'postgres') ?? 'sqlite');
  run.catch((e: unknown) => {
    console.error(e);
    process.exit(1);
  });
}
