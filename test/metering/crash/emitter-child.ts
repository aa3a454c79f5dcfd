/**
 * The emitter as a separate process, for the crash test: runs passes against a file SQLite
 * database and a simulator over HTTP until nothing is due, then exits 0. The parent kills it with
 * SIGKILL at random moments and starts it again.
 *
 * With a clock and a usage plan, it also reports the plan's usage as its time comes (each record
 * once its timestamp is reached, idempotency keys making a restart's resend harmless), on a clock
 * running `speed` times faster than real time, shared with the simulator, so hours finish and are
 * sealed while usage is still being ingested.
 */
import { readFileSync } from 'node:fs';
import { createAwsClients } from '../../../src/aws/clients';
import { SdkMeteringGateway } from '../../../src/aws/metering.gateway';
import { MeteringEmitter } from '../../../src/metering/emitter';
import { UsageLedger } from '../../../src/metering/ledger';
import { batchMeterUsageWindow, meterUsageWindow } from '../../../src/metering/windows';
import { systemClock, type Clock } from '../../../src/platform/clock';
import { createLogger } from '../../../src/platform/logger';
import { ProductCatalog, type ProductConfig } from '../../../src/products/product-config';
import { openStore } from '../../../src/store/database';

interface PlannedUsage {
  customer: string;
  dimension: string;
  quantity: number;
  timestamp: string;
  idempotencyKey: string;
}

async function main(): Promise<void> {
  const [dbPath, simUrl, productsJson, clockJson, planPath] = process.argv.slice(2) as [
    string,
    string,
    string,
    string | undefined,
    string | undefined,
  ];
  const store = openStore({ kind: 'sqlite', path: dbPath });
  const aws = createAwsClients({
    region: 'us-east-1',
    endpoints: { metering: simUrl },
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
  const logger = createLogger({ level: 'warn' });
  const fast = clockJson ? (JSON.parse(clockJson) as { start: number; realStart: number; speed: number }) : null;
  const clock: Clock = fast ? { now: () => new Date(fast.start + Math.max(0, Date.now() - fast.realStart) * fast.speed) } : systemClock;
  const catalog = new ProductCatalog(JSON.parse(productsJson) as ProductConfig[]);
  const emitter = new MeteringEmitter({
    db: store.db,
    dialect: 'sqlite',
    catalog,
    gateway: new SdkMeteringGateway(aws.metering),
    clock,
    logger,
    settings: { minute: 0, claimSize: 50, ...(fast ? { leaseMs: 3_600_000 } : {}) },
  });
  const ledger = new UsageLedger({
    db: store.db,
    dialect: 'sqlite',
    catalog,
    clock,
    logger,
    options: { batchWindow: batchMeterUsageWindow, meterUsageWindow },
  });
  const plan = planPath ? (JSON.parse(readFileSync(planPath, 'utf8')) as PlannedUsage[]) : [];
  const recorded = new Set(
    (await store.db.selectFrom('usage_events').select(['customer_id', 'idempotency_key']).execute()).map(
      (r) => `${r.customer_id}|${r.idempotency_key}`,
    ),
  );
  const ingestDue = async (): Promise<boolean> => {
    const now = clock.now().getTime();
    const due = plan.filter((u) => !recorded.has(`${u.customer}|${u.idempotencyKey}`) && Date.parse(u.timestamp) <= now);
    for (let i = 0; i < due.length; i += 25) {
      const batch = due.slice(i, i + 25);
      const results = await ledger.record(batch);
      for (const [j, r] of results.entries()) {
        if (r.status !== 'accepted') throw new Error(`usage ${batch[j]!.idempotencyKey} was rejected: ${r.code} ${r.message}`);
        recorded.add(`${batch[j]!.customer}|${batch[j]!.idempotencyKey}`);
      }
    }
    return recorded.size >= plan.length;
  };
  await emitter.start();
  process.stdout.write('ready\n');
  for (;;) {
    const allIngested = await ingestDue();
    await emitter.runOnce();
    const rows = await store.db
      .selectFrom('meter_buckets')
      .select('state')
      .where((eb) => eb.or([eb('state', 'in', ['sealed', 'sending']), eb.and([eb('state', '=', 'open'), eb('usage_count', '>', 0)])]))
      .execute();
    if (allIngested && rows.length === 0) break;
    if (fast) await new Promise((r) => setTimeout(r, 30));
    else {
      const due = await emitter.nextWakeAt(new Date());
      await new Promise((r) => setTimeout(r, Math.min(1000, Math.max(20, due.getTime() - Date.now()))));
    }
  }
  process.stdout.write('done\n');
  aws.destroy();
  await store.close();
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
