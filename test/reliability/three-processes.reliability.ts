import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { sql } from 'kysely';
import type { ProductConfig } from '../../src/products/product-config';
import { METERING_SENDER_LEASE } from '../../src/metering/sender-lease';
import { startHarness, type Harness } from '../support/harness';
import { postgresAvailable } from '../support/stores';
import { startServiceProcess, type ServiceProcess } from '../support/service-process';
import { until } from '../support/until';
import { setState } from '../metering/metering-support';

/**
 * Three service processes (`src/main.ts`, as deployed) on one PostgreSQL database, against a
 * simulator enforcing AWS's 10 requests/s BatchMeterUsage quota (facts §6). The quota is per AWS
 * account: only the holder of the metering sender lease calls AWS. The holder is killed with
 * SIGKILL in the middle of the emission; another instance takes over. Every call is observed on
 * its way to the simulator.
 */
const onPostgres = postgresAvailable('three service processes, one AWS quota');

const HOUR = 3_600_000;
const CUSTOMERS = 400;
const LEASE_SECONDS = 5;

const product: ProductConfig = {
  code: 'three-process-product',
  name: 'Three processes',
  pricingModel: 'subscription',
  meteringApi: 'batch',
  identity: 'customer-identifier',
  dimensions: [
    { name: 'api_calls', description: 'API calls', aggregation: 'sum', heartbeat: true, metered: true },
    { name: 'exports', description: 'Exports', aggregation: 'sum', heartbeat: true, metered: true },
  ],
};

interface ObservedCall {
  readonly atMs: number;
  readonly target: string;
  readonly status: number;
}

/** A pass-through HTTP proxy in front of the simulator that records each metering call it forwards. */
async function observer(upstream: string): Promise<{ url: string; calls: ObservedCall[]; close: () => Promise<void> }> {
  const calls: ObservedCall[] = [];
  const target = new URL(upstream);
  const server: Server = createServer((req, res) => {
    const atMs = Date.now();
    const up = request({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers }, (upRes) => {
      calls.push({ atMs, target: String(req.headers['x-amz-target'] ?? ''), status: upRes.statusCode ?? 0 });
      res.writeHead(upRes.statusCode ?? 502, upRes.headers);
      upRes.pipe(res);
    });
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    calls,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

/** The most calls of `calls` inside any one-second window. */
function peakPerSecond(times: number[]): number {
  const sorted = [...times].sort((a, b) => a - b);
  let peak = 0;
  let start = 0;
  for (let end = 0; end < sorted.length; end++) {
    while (sorted[end]! - sorted[start]! >= 1000) start++;
    peak = Math.max(peak, end - start + 1);
  }
  return peak;
}

(onPostgres ? describe : describe.skip)('three service processes on one PostgreSQL database, one AWS quota', () => {
  jest.setTimeout(240_000);

  let h: Harness;
  let proxy: Awaited<ReturnType<typeof observer>>;
  const processes: ServiceProcess[] = [];
  // The simulator's clock runs three hours behind while the buyers subscribe, so that their
  // subscriptions started before the hours that are billed; then it runs on real time.
  let simOffsetMs = -3 * HOUR;

  afterAll(async () => {
    for (const p of processes) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
    await Promise.all(processes.map((p) => p.exit));
    await proxy?.close();
    await h?.close();
  });

  it('bills every reported unit once, with no throttled call and no DuplicateRecord, when the sending instance is killed', async () => {
    h = await startHarness({ dialect: 'postgres', products: [product], simulator: { now: () => Date.now() + simOffsetMs } });
    proxy = await observer(h.sim.url);
    const { rows } = await sql<{ schema: string }>`select current_schema() as schema`.execute(h.db.store.db);
    const schema = rows[0]!.schema;

    // Buyers, subscribed three hours ago on both sides.
    const activatedAt = new Date(Date.now() - 3 * HOUR);
    const customers: Array<{ id: string; customerIdentifier: string }> = [];
    for (let i = 0; i < CUSTOMERS; i++) {
      const sub = await h.sim.subscribe({ productCode: product.code, confirmation: 'manual' });
      await h.sim.confirm(sub.id);
      const s = h.sim.subscription(sub.id);
      const c = await h.container.customers.upsert({ productCode: product.code, customerIdentifier: s.customerIdentifier }, activatedAt);
      await setState(h, c.id, { status: 'active', statusEventTime: activatedAt, activatedAt, finalWindowOpenedAt: null, endedAt: null });
      customers.push({ id: c.id, customerIdentifier: s.customerIdentifier! });
    }
    simOffsetMs = 0;

    // Usage in the two complete hours before this one (reported through the API's ledger).
    const thisHour = Math.floor(Date.now() / HOUR) * HOUR;
    const hours = [thisHour - 2 * HOUR, thisHour - HOUR];
    const reported = new Map<string, number>();
    const key = (ci: string, dim: string, hourMs: number) => `${ci}|${dim}|${new Date(hourMs).toISOString()}`;
    const usage = customers.flatMap((c, i) =>
      hours.flatMap((hour, n) => {
        const a = (i % 9) + 1 + n;
        const e = i % 3 === 0 ? 0 : (i % 4) + 1;
        reported.set(key(c.customerIdentifier, 'api_calls', hour), a);
        reported.set(key(c.customerIdentifier, 'exports', hour), e);
        const at = new Date(hour + 20 * 60_000).toISOString();
        return [
          { customer: c.id, dimension: 'api_calls', quantity: a, timestamp: at, idempotencyKey: `${i}-${n}-a` },
          ...(e > 0 ? [{ customer: c.id, dimension: 'exports', quantity: e, timestamp: at, idempotencyKey: `${i}-${n}-e` }] : []),
        ];
      }),
    );
    for (let i = 0; i < usage.length; i += 1000) {
      const results = await h.container.ledger.record(usage.slice(i, i + 1000));
      expect(results.filter((r) => r.status !== 'accepted')).toEqual([]);
    }

    const env = {
      PORT: '0',
      LOG_LEVEL: 'info',
      MARKETPLACE_MODE: 'aws',
      SESSION_SECRET: 'three-processes-session-secret-0123456789',
      SUPPORT_EMAIL: 'help@seller.example',
      API_KEYS: 'ops(admin)=three-processes-api-key-0123456789',
      MARKETPLACE_PRODUCTS: JSON.stringify([product]),
      DATABASE_URL: process.env.TEST_DATABASE_URL!,
      // Every instance works in the suite's schema.
      PGOPTIONS: `-c search_path=${schema}`,
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
      MARKETPLACE_METERING_ENDPOINT: proxy.url,
      MARKETPLACE_ENTITLEMENT_ENDPOINT: h.sim.url,
      SQS_ENDPOINT: h.sim.url,
      // The previous hour is due at once, whatever the minute.
      METERING_EMITTER_MINUTE: '0',
      METERING_POLL_SECONDS: '1',
      METERING_SENDER_LEASE_SECONDS: String(LEASE_SECONDS),
    };
    for (let i = 0; i < 3; i++) processes.push(startServiceProcess(env));
    await Promise.all(processes.map((p) => p.ready));

    // Mid-emission: the lease holder has made some calls; kill it without warning.
    const meteringCalls = () => proxy.calls.filter((c) => c.target.endsWith('.BatchMeterUsage'));
    const holderPid = await until(
      'the sender to be part-way through',
      async () => {
        if (meteringCalls().length < 15) return undefined;
        const lease = await h.db.store.db
          .selectFrom('leases')
          .select(['holder'])
          .where('name', '=', METERING_SENDER_LEASE)
          .executeTakeFirst();
        return lease ? Number(lease.holder.split('-')[0]) : undefined;
      },
      { timeoutMs: 90_000, intervalMs: 100 },
    );
    const victim = processes.find((p) => p.child.pid === holderPid);
    expect(victim).toBeDefined();
    const callsBeforeKill = meteringCalls().length;
    victim!.child.kill('SIGKILL');
    await victim!.exit;

    // The others take over and finish: every bucket accepted.
    await until(
      'every record to be accepted',
      async () => {
        const counts = await h.container.meterBuckets.countByState();
        const open = Object.entries(counts).filter(([state, n]) => state !== 'accepted' && n > 0);
        return open.length === 0 && (counts.accepted ?? 0) > 0 ? counts : undefined;
      },
      { timeoutMs: 120_000, intervalMs: 100 },
    );
    const newHolder = await h.db.store.db
      .selectFrom('leases')
      .select(['holder'])
      .where('name', '=', METERING_SENDER_LEASE)
      .executeTakeFirstOrThrow();
    expect(Number(newHolder.holder.split('-')[0])).not.toBe(holderPid);

    const survivors = processes.filter((p) => p !== victim);
    for (const p of survivors) p.child.kill('SIGTERM');
    expect(await Promise.all(survivors.map((p) => p.exit))).toEqual([0, 0]);

    // What AWS saw.
    const calls = meteringCalls();
    const log = h.sim.meteringLog().filter((e) => e.operation === 'BatchMeterUsage');
    const throttled = log.filter((e) => e.outcome === 'ThrottlingException').length;
    const duplicates = log.filter((e) => e.outcome === 'DuplicateRecord').length;
    const peak = peakPerSecond(calls.map((c) => c.atMs));
    const billed = h.sim.billed({ productCode: product.code });
    const billedByKey = new Map<string, number>();
    const seen = new Map<string, number>();
    for (const b of billed) {
      const k = key(b.customerIdentifier!, b.dimension, Date.parse(b.hour));
      seen.set(k, (seen.get(k) ?? 0) + 1);
      billedByKey.set(k, (billedByKey.get(k) ?? 0) + b.quantity);
    }
    const sum = (m: Map<string, number>) => [...m.values()].reduce((a, b) => a + b, 0);
    process.stdout.write(
      `three processes: ${calls.length} BatchMeterUsage calls (${callsBeforeKill} before the kill), peak ${peak} calls/s, ` +
        `${throttled} throttled, ${duplicates} DuplicateRecord, billed ${sum(billedByKey)} = reported ${sum(reported)}\n`,
    );

    expect(throttled).toBe(0);
    expect(duplicates).toBe(0);
    expect(peak).toBeLessThanOrEqual(10);
    expect(calls.filter((c) => c.status !== 200)).toEqual([]);
    // Every customer-dimension-hour billed once, with what was reported.
    expect([...seen.values()].filter((n) => n > 1)).toEqual([]);
    for (const [k, q] of reported) expect([k, billedByKey.get(k) ?? 0]).toEqual([k, q]);
    expect(sum(billedByKey)).toBe(sum(reported));
  });
});
