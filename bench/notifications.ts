/**
 * Notifications processed per second, end to end: SNS envelopes in the simulator's SQS queue →
 * sqs-consumer (real SDK, long polling) → parse → one store transaction each → delete.
 * Usage: node -r @swc-node/register bench/notifications.ts [messages=5000] [consumers=4] [sqlite|postgres]
 */
import { SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
import { openStore } from '../src/store/database';

const product: ProductConfig = { code: 'bench-product', name: 'Bench', pricingModel: 'subscription', meteringApi: 'batch', identity: 'customer-identifier', dimensions: [] };

function envelope(i: number, action: string, at: Date): string {
  return JSON.stringify({
    Type: 'Notification',
    MessageId: `bench-${i}-${action}`,
    TopicArn: 'arn:aws:sns:us-east-1:287250355862:aws-mp-subscription-notification-bench',
    Message: JSON.stringify({ action, 'customer-identifier': `cust-${i % 1000}`, 'product-code': product.code, isFreeTrialTermPresent: 'false' }),
    Timestamp: at.toISOString(),
    SignatureVersion: '1',
    Signature: 'x',
    SigningCertURL: 'https://sns.us-east-1.amazonaws.com/SimpleNotificationService-0123456789abcdef0123456789abcdef.pem',
  });
}

export async function benchNotifications(total = 5000, consumerCount = 4, dialect: 'sqlite' | 'postgres' = 'sqlite'): Promise<{ perSecond: number; seconds: number }> {
  const sim = await startSimulator({ quotas: { batchMeterUsage: 0, meterUsage: 0, getEntitlements: 0 } });
  const dir = mkdtempSync(join(tmpdir(), 'mb-bench-'));
  const store = dialect === 'postgres' ? openStore({ kind: 'postgres', url: process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test', schema: undefined }) : openStore({ kind: 'sqlite', path: join(dir, 'bench.sqlite') });
  await store.migrate();
  if (dialect === 'postgres') {
    await store.db.deleteFrom('events').execute();
    await store.db.deleteFrom('entitlements').execute();
    await store.db.deleteFrom('customers').execute();
  }
  const aws = createAwsClients({ region: 'us-east-1', endpoints: { metering: sim.url, entitlement: sim.url, sqs: sim.url }, credentials: { accessKeyId: 'b', secretAccessKey: 'b' } });
  const logger = createLogger({ level: 'warn', destination: new Writable({ write: (_c, _e, done) => done() }) });
  const customers = new CustomerRepository(store.db);
  const processor = new EventProcessor({ db: store.db, customers, events: new EventRepository(store.db), entitlements: new SdkEntitlementReader(aws.entitlement), catalog: new ProductCatalog([product]), bus: new DomainEventBus(), clock: systemClock, logger });
  const queueUrl = sim.queueUrl('marketplace-subscription');

  // Fill the queue first, so the figure is processing speed, not publishing speed.
  const base = Date.now() - 3_600_000;
  for (let i = 0; i < total; i += 10) {
    const entries = Array.from({ length: Math.min(10, total - i) }, (_, k) => ({ Id: String(k), MessageBody: envelope(i + k, (i + k) % 2 ? 'subscribe-success' : 'unsubscribe-pending', new Date(base + i + k)) }));
    await aws.sqs.send(new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: entries }));
  }
  let done = 0;
  let finish!: () => void;
  const finished = new Promise<void>((r) => (finish = r));
  const consumers = Array.from({ length: consumerCount }, (_, n) =>
    new NotificationQueueConsumer({ name: `bench-${n}`, queueUrl, sqs: aws.sqs, processor, logger, waitTimeSeconds: 1, onOutcome: () => ++done >= total && finish() }),
  );
  const memBefore = process.memoryUsage().rss;
  const started = process.hrtime.bigint();
  for (const c of consumers) c.start();
  await finished;
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  for (const c of consumers) await c.stop();
  const applied = await store.db.selectFrom('events').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirst();
  aws.destroy();
  await sim.stop();
  await store.close();
  rmSync(dir, { recursive: true, force: true });
  const perSecond = total / seconds;
  console.log(`notifications: ${total} messages, ${consumerCount} consumers, ${dialect}: ${seconds.toFixed(2)} s, ${perSecond.toFixed(0)} messages/s, events stored ${Number(applied?.n)}, rss +${((process.memoryUsage().rss - memBefore) / 1e6).toFixed(0)} MB`);
  return { perSecond, seconds };
}

if (require.main === module) {
  const [total, consumers, dialect] = process.argv.slice(2);
  benchNotifications(Number(total ?? 5000), Number(consumers ?? 4), (dialect as 'sqlite' | 'postgres') ?? 'sqlite').catch((e: unknown) => {
    console.error(e);
    process.exit(1);
  });
}
