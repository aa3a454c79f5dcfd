/**
 * The seller console's pages at size: 10,000 customers, 1,000,000 usage events, 240,000 hour
 * buckets (every customer, the last 24 hours) and 20,000 notifications, seeded with set-based
 * INSERT … SELECT statements. Each page is requested one at a time (one connection, signed in),
 * and its p50 and p99 latency are printed beside `GET /healthz` measured the same way in the same
 * run, so the figures say what the console's queries and rendering cost above the HTTP stack.
 * Usage: node -r @swc-node/register bench/console-pages.ts [requests per page=200] [customers=10000] [usage events=1000000]
 */
import type { AddressInfo } from 'node:net';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { sql } from 'kysely';
import { createAwsClients } from '../src/aws/clients';
import { loadConfig } from '../src/config';
import { createContainer } from '../src/container';
import { systemClock } from '../src/platform/clock';
import { createLogger } from '../src/platform/logger';
import type { ProductConfig } from '../src/products/product-config';
import { openStore, type Store } from '../src/store/database';
import { reportFigure } from './figures';

const product: ProductConfig = {
  code: 'bench-console',
  name: 'Bench console product',
  pricingModel: 'subscription',
  meteringApi: 'batch',
  identity: 'license',
  dimensions: [{ name: 'api_calls', description: 'API calls', aggregation: 'sum', heartbeat: true, metered: true }],
};
const API_KEY = 'bench-console-key-0123456789abcdef';
const HOURS = 24;

/** Set-based seeding (SQLite): rows generated inside the engine, not sent one by one. */
async function seed(store: Store, customers: number, usageEvents: number): Promise<void> {
  const db = store.db;
  const hourText = (k: string) => sql.raw(`strftime('%Y-%m-%dT%H:00:00.000Z', 'now', '-' || (${k}) || ' hours')`);
  await sql`
    insert into customers (id, product_code, customer_identifier, customer_aws_account_id, license_arn, free_trial, status,
      email, external_id, created_at, updated_at, version)
    with recursive n(i) as (select 0 union all select i + 1 from n where i < ${customers - 1})
    select printf('cust-%06d', i), ${product.code}, null, printf('%012d', 100000000000 + i),
      printf('arn:aws:license-manager::%012d:license:l-%032d', 100000000000 + i, i),
      0, case when i % 20 = 0 then 'pending' when i % 33 = 0 then 'unsubscribed' else 'active' end,
      printf('buyer%d@example.com', i), printf('tenant-%d', i),
      strftime('%Y-%m-%dT%H:%M:%fZ', '2026-01-01', '+' || i || ' seconds'), '2026-01-01T00:00:00.000Z', 1
    from n`.execute(db);
  await sql`
    insert into meter_buckets (id, customer_id, product_code, dimension, hour, api, mode, aggregate, usage_count, heartbeat, state,
      quantity, identity_kind, customer_aws_account_id, license_arn, attempts, metering_record_id, last_error, aws_request_id,
      aws_http_status, aws_operation, created_at, updated_at)
    with recursive n(i) as (select 0 union all select i + 1 from n where i < ${customers * HOURS - 1}),
      b as (select i / ${HOURS} as c, i % ${HOURS} + 1 as k, i from n)
    select printf('bkt-%06d-%02d', c, k), printf('cust-%06d', c), ${product.code}, 'api_calls', ${hourText('k')}, 'batch', 'sum',
      '{"mode":"sum","total":' || (c % 50 + k) || ',"parts":{}}', 4, 0,
      case when i % 97 = 0 then 'failed' when i % 89 = 0 then 'expired' else 'accepted' end,
      c % 50 + k, 'license', printf('%012d', 100000000000 + c), printf('arn:aws:license-manager::%012d:license:l-%032d', 100000000000 + c, c),
      1, case when i % 97 = 0 or i % 89 = 0 then null else printf('mr-%d', i) end,
      case when i % 97 = 0 then 'InvalidUsageDimensionException: bench' when i % 89 = 0 then 'past the AWS window' else null end,
      case when i % 97 = 0 then printf('req-%d', i) else null end, case when i % 97 = 0 then 400 else null end,
      case when i % 97 = 0 then 'BatchMeterUsage' else null end, ${hourText('k')}, ${hourText('k')}
    from b`.execute(db);
  await sql`
    insert into usage_events (id, customer_id, idempotency_key, fingerprint, dimension, quantity, distinct_id, tags, usage_time,
      bucket_id, bucket_hour, rolled_forward, received_at)
    with recursive n(i) as (select 0 union all select i + 1 from n where i < ${usageEvents - 1}),
      u as (select i, i % ${customers} as c, (i / ${customers}) % ${HOURS} + 1 as k from n)
    select printf('use-%07d', i), printf('cust-%06d', c), printf('key-%07d', i), 'f', 'api_calls', 1, null, null, ${hourText('k')},
      printf('bkt-%06d-%02d', c, k), ${hourText('k')}, 0, ${hourText('k')}
    from u`.execute(db);
  await sql`
    insert into events (dedupe_key, secondary_key, channel, kind, event_time, received_at, customer_id, outcome, reason, payload)
    with recursive n(i) as (select 0 union all select i + 1 from n where i < 19999)
    select printf('sqs:msg-%d', i), null, 'sqs:subscription', 'subscribe-success', ${hourText('i % 48')}, ${hourText('i % 48')},
      case when i % 100 = 0 then null else printf('cust-%06d', i % ${customers}) end,
      case when i % 100 = 0 then 'rejected' else 'applied' end,
      case when i % 100 = 0 then 'product other is not configured in this service' else null end, '{}'
    from n`.execute(db);
  await sql`analyze`.execute(db);
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

async function measure(url: string, cookie: string, requests: number): Promise<{ p50: number; p99: number }> {
  const times: number[] = [];
  for (let i = 0; i < requests + 10; i++) {
    const started = process.hrtime.bigint();
    const res = await fetch(url, { headers: { cookie }, redirect: 'manual' });
    await res.arrayBuffer();
    if (res.status !== 200) throw new Error(`${url}: ${res.status}`);
    // The first ten are warm-up (JIT, prepared statements, the validator's compiled schemas).
    if (i >= 10) times.push(Number(process.hrtime.bigint() - started) / 1e6);
  }
  times.sort((a, b) => a - b);
  return { p50: percentile(times, 50), p99: percentile(times, 99) };
}

async function main(): Promise<void> {
  const requests = Number(process.argv[2] ?? 200);
  const customers = Number(process.argv[3] ?? 10_000);
  const usageEvents = Number(process.argv[4] ?? 1_000_000);
  const store = openStore({ kind: 'sqlite', path: join(mkdtempSync(join(tmpdir(), 'mb-bench-')), 'bench.sqlite') });
  await store.migrate();
  const seedStarted = Date.now();
  await seed(store, customers, usageEvents);
  const counts = await sql<{ t: string; n: number }>`
    select 'customers' as t, count(*) as n from customers union all select 'usage_events', count(*) from usage_events
    union all select 'meter_buckets', count(*) from meter_buckets union all select 'events', count(*) from events`.execute(store.db);
  process.stdout.write(
    `seeded in ${((Date.now() - seedStarted) / 1000).toFixed(1)} s: ${counts.rows.map((r) => `${Number(r.n).toLocaleString('en')} ${r.t}`).join(', ')}\n`,
  );
  const config = loadConfig({
    MARKETPLACE_MODE: 'aws',
    SESSION_SECRET: 'bench-session-secret-0123456789abcdef',
    SUPPORT_EMAIL: 'help@seller.example',
    API_KEYS: `bench(admin)=${API_KEY}`,
    MARKETPLACE_PRODUCTS: JSON.stringify([product]),
    LOG_LEVEL: 'info',
  });
  const aws = createAwsClients({
    region: 'us-east-1',
    endpoints: { metering: 'http://127.0.0.1:9', entitlement: 'http://127.0.0.1:9', sqs: 'http://127.0.0.1:9' },
    credentials: { accessKeyId: 'b', secretAccessKey: 'b' },
  });
  const logger = createLogger({ level: 'info', destination: new Writable({ write: (_c, _e, done) => done() }) });
  const container = createContainer({
    config,
    store,
    aws,
    clock: systemClock,
    logger,
    processMetrics: false,
    queues: [{ name: 'subscription', url: 'http://127.0.0.1:9/q' }],
  });
  const server = container.app.listen(0, '127.0.0.1');
  await new Promise<void>((r) => server.once('listening', () => r()));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  // Sign in as a browser would: the form's token and cookie, then the API key.
  const form = await fetch(`${base}/admin/login`);
  const formCookie = (form.headers.get('set-cookie') ?? '').split(';')[0]!;
  const csrf = /name="csrf" value="([^"]+)"/.exec(await form.text())![1]!;
  const login = await fetch(`${base}/admin/login`, {
    method: 'POST',
    redirect: 'manual',
    headers: { cookie: formCookie, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ csrf, apiKey: API_KEY }).toString(),
  });
  const cookie = login.headers
    .getSetCookie()
    .find((c) => c.startsWith('mb_admin='))!
    .split(';')[0]!;

  const mid = `cust-${String(Math.floor(customers / 2)).padStart(6, '0')}`;
  const pages: Array<[string, string]> = [
    ['customer page (48 h grid, timeline, deliveries)', `/admin/customers/${mid}`],
    [
      'customer search by LicenseArn',
      `/admin/customers?q=${encodeURIComponent(`arn:aws:license-manager::${String(100000000000 + Math.floor(customers / 2)).padStart(12, '0')}:license:l-${String(Math.floor(customers / 2)).padStart(32, '0')}`)}`,
    ],
    ['customer search by e-mail', `/admin/customers?q=buyer${Math.floor(customers / 3)}%40example.com`],
    ['customer list, first page', '/admin/customers'],
    ['customer list, filtered by state', '/admin/customers?status=pending'],
    ['problems (200 newest)', '/admin/problems'],
    ['overview', '/admin'],
  ];
  const healthz = await measure(`${base}/healthz`, '', requests);
  process.stdout.write(
    `console pages (${customers.toLocaleString('en')} customers, ${usageEvents.toLocaleString('en')} usage events; ${requests} sequential requests each, ms):\n`,
  );
  for (const [name, path] of pages) {
    const r = await measure(`${base}${path}`, cookie, requests);
    reportFigure({
      figure: `${name} p50`,
      unit: 'ms',
      rounds: [r.p50],
      reference: { name: 'GET /healthz p50', rounds: [healthz.p50] },
      lowerIsBetter: true,
    });
    reportFigure({
      figure: `${name} p99`,
      unit: 'ms',
      rounds: [r.p99],
      reference: { name: 'GET /healthz p99', rounds: [healthz.p99] },
      lowerIsBetter: true,
    });
  }
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
  aws.destroy();
  await store.close();
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
