/**
 * Webhook events delivered per second to a local receiver, through the whole dispatcher (claim from
 * the store, sign, SSRF-checked POST on a fresh connection, record the attempt), printed beside a
 * reference measured in the same run: a bare HTTP POST loop to the same receiver with the same body,
 * the same concurrency and a fresh connection per POST (and, for scale, with keep-alive).
 * Usage: node -r @swc-node/register bench/webhook-delivery.ts [events=2000] [customers=200] [sqlite|postgres]
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import type { CustomerView } from '../src/customers/customer-view';
import { systemClock } from '../src/platform/clock';
import { createLogger } from '../src/platform/logger';
import { DeliveryRepository } from '../src/webhooks/delivery.repository';
import { WebhookDispatcher } from '../src/webhooks/dispatcher';
import { EndpointRepository } from '../src/webhooks/endpoint.repository';
import { appendOutboxEvent } from '../src/webhooks/outbox.repository';
import { createWebhookTransport } from '../src/webhooks/webhook-transport.gateway';
import { openBenchStore } from './bench-store';

const CONCURRENCY = 8;

function customer(i: number, now: Date): CustomerView {
  const at = now.toISOString();
  return {
    id: `bench-customer-${i}`,
    productCode: 'bench-product',
    customerIdentifier: `ci-${i}`,
    customerAWSAccountId: null,
    licenseArn: null,
    offerId: null,
    agreementId: null,
    freeTrial: false,
    status: 'active',
    statusReason: 'subscribe-success',
    statusEventTime: at,
    activatedAt: at,
    finalWindowOpenedAt: null,
    endedAt: null,
    externalId: `tenant-${i}`,
    previousCustomerId: null,
    onboarding: { email: `buyer${i}@example.com`, company: `Company ${i}`, contactName: 'Bench', onboardedAt: at },
    personalDataErasedAt: null,
    registeredAt: at,
    entitlementsFetchedAt: null,
    createdAt: at,
    updatedAt: at,
    version: 3,
    entitlements: [],
  };
}

/** `total` POSTs of `body`, `CONCURRENCY` at a time: posts per second. */
async function barePostLoop(url: string, body: string, total: number, agent: http.Agent | false): Promise<number> {
  let next = 0;
  const one = () =>
    new Promise<void>((resolve, reject) => {
      const req = http.request(
        url,
        { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } },
        (res) => {
          res.resume();
          res.on('end', () => resolve());
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  const started = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next++ < total) await one();
    }),
  );
  return total / (Number(process.hrtime.bigint() - started) / 1e9);
}

export async function benchWebhookDelivery(total = 2000, customers = 200, dialect: 'sqlite' | 'postgres' = 'sqlite'): Promise<void> {
  let received = 0;
  const receiver = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      received++;
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks`;

  const { store, dispose } = await openBenchStore(dialect);
  const endpoints = new EndpointRepository(store.db);
  const deliveries = new DeliveryRepository(store.db, store.dialect);
  await endpoints.create({ url, kind: 'standard' }, systemClock.now());

  // The outbox first (events in commit order per customer), so the figure is delivery speed.
  const now = systemClock.now();
  const views = Array.from({ length: customers }, (_, i) => customer(i, now));
  for (let i = 0; i < total; i += 100) {
    await store.db.transaction().execute(async (tx) => {
      for (let k = i; k < Math.min(total, i + 100); k++)
        await appendOutboxEvent(tx, { type: 'customer.entitlements_changed', at: now, customer: views[k % customers]! });
    });
  }
  const body = (await store.db.selectFrom('webhook_events').select('payload').limit(1).executeTakeFirstOrThrow()).payload;

  const logger = createLogger({ level: 'warn', destination: new Writable({ write: (_c, _e, done) => done() }) });
  const dispatcher = new WebhookDispatcher(
    {
      db: store.db,
      deliveries,
      endpoints,
      transport: createWebhookTransport({ policy: { allowLoopback: true, allowHttp: true } }),
      clock: systemClock,
      logger,
      productNames: () => 'Bench',
    },
    {
      instanceId: 'bench',
      pollMs: 10,
      batchSize: 50,
      concurrency: CONCURRENCY,
      leaseMs: 60_000,
      schedule: { baseMs: 5_000, capMs: 6 * 3_600_000, windowMs: 72 * 3_600_000 },
      disableAfterMs: 24 * 3_600_000,
    },
  );
  const started = process.hrtime.bigint();
  dispatcher.start();
  for (;;) {
    const counts = await deliveries.countByStatus();
    if ((counts.succeeded ?? 0) >= total) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  await dispatcher.stop();
  const delivered = total / seconds;

  const fresh = await barePostLoop(url, body, total, false);
  const keepAlive = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  const reused = await barePostLoop(url, body, total, keepAlive);
  keepAlive.destroy();

  await dispose();
  receiver.close();
  console.log(
    `webhook-delivery: ${total} events over ${customers} customers, ${dialect}, ${CONCURRENCY} in flight, ${Buffer.byteLength(body)} B bodies: ` +
      `${delivered.toFixed(0)} events/s delivered (${seconds.toFixed(2)} s, receiver got ${received - 2 * total} requests for them); ` +
      `reference bare POST loop: ${fresh.toFixed(0)}/s with a fresh connection each (as the dispatcher), ${reused.toFixed(0)}/s with keep-alive`,
  );
}

if (require.main === module) {
  const [total, customers, dialect] = process.argv.slice(2);
  benchWebhookDelivery(Number(total ?? 2000), Number(customers ?? 200), (dialect as 'sqlite' | 'postgres') ?? 'sqlite').catch(
    (e: unknown) => {
      console.error(e);
      process.exit(1);
    },
  );
}
