/**
 * Time to emit N customer-dimension records with BatchMeterUsage against the simulator enforcing
 * the 10 requests/second quota (facts §6). The quota bounds it: N/25 calls at 10/s, so 100,000
 * records need at least 400 s. Run: node -r @swc-node/register bench/metering-emit.ts [records=5000] [concurrency=4]
 */
import { createAwsClients } from '../src/aws/clients';
import { SdkMeteringGateway } from '../src/aws/metering.gateway';
import { MeteringEmitter } from '../src/metering/emitter';
import { UsageLedger } from '../src/metering/ledger';
import { batchMeterUsageWindow, meterUsageWindow } from '../src/metering/windows';
import { systemClock } from '../src/platform/clock';
import { createLogger } from '../src/platform/logger';
import { ProductCatalog } from '../src/products/product-config';
import { startSimulator } from '../src/simulator';
import { activeCustomers, benchProduct, benchStore } from './metering-bench-support';

async function main(): Promise<void> {
  const records = Number(process.argv[2] ?? 5000);
  const customersCount = Math.ceil(records / 2);
  let offset = -2 * 3_600_000;
  const sim = await startSimulator({ confirmDelayMs: 0, now: () => Date.now() + offset });
  sim.createProduct({
    productCode: benchProduct.code,
    pricingModel: 'subscription',
    identity: 'customer-identifier',
    dimensions: benchProduct.dimensions.map((d) => ({ name: d.name })),
  });
  const identifiers: string[] = [];
  for (let i = 0; i < customersCount; i++) {
    const sub = await sim.subscribe({ productCode: benchProduct.code, confirmation: 'manual' });
    await sim.confirm(sub.id);
    identifiers.push(sim.subscription(sub.id).customerIdentifier!);
  }
  offset = 0;
  const store = await benchStore();
  const now = new Date();
  const ids = await activeCustomers(store, identifiers, new Date(now.getTime() - 2 * 3_600_000));
  const catalog = new ProductCatalog([benchProduct]);
  const logger = createLogger({ level: 'silent' });
  const ledger = new UsageLedger({
    db: store.db,
    dialect: store.dialect,
    catalog,
    clock: systemClock,
    logger,
    options: { batchWindow: batchMeterUsageWindow, meterUsageWindow },
  });
  const lastHour = new Date(Math.floor(now.getTime() / 3_600_000) * 3_600_000 - 1_800_000);
  const usage = ids
    .flatMap((id, i) =>
      ['api_calls', 'storage'].map((dimension) => ({
        customer: id,
        dimension,
        quantity: (i % 50) + 1,
        timestamp: lastHour.toISOString(),
        idempotencyKey: `${id}-${dimension}`,
      })),
    )
    .slice(0, records);
  for (let i = 0; i < usage.length; i += 1000) await ledger.record(usage.slice(i, i + 1000));

  const aws = createAwsClients({
    region: 'us-east-1',
    endpoints: { metering: sim.url },
    credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' },
  });
  const emitter = new MeteringEmitter({
    db: store.db,
    dialect: store.dialect,
    catalog,
    gateway: new SdkMeteringGateway(aws.metering),
    clock: systemClock,
    logger,
    settings: { minute: 0, heartbeat: false, concurrency: Number(process.argv[3] ?? 4) },
  });
  await emitter.start();
  const heapAtStart = process.memoryUsage().heapUsed;
  let heapPeak = heapAtStart;
  let rssPeak = process.memoryUsage().rss;
  let firstBilledAt: number | null = null;
  const sampler = setInterval(() => {
    if (firstBilledAt === null && sim.billed().length > 0) firstBilledAt = performance.now();
    const m = process.memoryUsage();
    heapPeak = Math.max(heapPeak, m.heapUsed);
    rssPeak = Math.max(rssPeak, m.rss);
  }, 250);
  const t = performance.now();
  const summary = await emitter.runOnce();
  const seconds = (performance.now() - t) / 1000;
  // Records a pass could not place (throttled past the SDK's retries) wait for their backoff and
  // go in a later pass, as in production: the run counts until every record is billed.
  let passes = 1;
  while (sim.billed().length < usage.length && performance.now() - t < seconds * 1000 + 30 * 60_000) {
    await new Promise((r) => setTimeout(r, 1000));
    const more = await emitter.runOnce();
    passes++;
    summary.send.calls += more.send.calls;
  }
  const allBilledSeconds = (performance.now() - t) / 1000;
  clearInterval(sampler);
  const mb = (bytes: number) => (bytes / 1_048_576).toFixed(0);
  const billed = sim.billed().length;
  const throttled = sim.meteringLog().filter((e) => e.outcome === 'ThrottlingException').length;
  const perRecord = allBilledSeconds / usage.length;
  process.stdout.write(
    `emitted ${usage.length} records (billed ${billed}) in ${summary.send.calls} calls; first pass ${seconds.toFixed(1)} s, all billed after ${allBilledSeconds.toFixed(1)} s (${passes} pass${passes > 1 ? 'es' : ''}) ` +
      `(${(summary.send.calls / allBilledSeconds).toFixed(2)} calls/s, ${throttled} throttled); quota-bound minimum ${(usage.length / 250).toFixed(1)} s; ` +
      `extrapolated 100,000 records: ${(perRecord * 100_000).toFixed(0)} s (minimum 400 s); ` +
      `sealing before the first call ${firstBilledAt === null ? '?' : ((firstBilledAt - t) / 1000).toFixed(1)} s; ` +
      `heap ${mb(heapAtStart)} MB at start, ${mb(heapPeak)} MB peak; RSS peak ${mb(rssPeak)} MB\n`,
  );
  aws.destroy();
  await sim.stop();
  await store.close();
}

void main();
