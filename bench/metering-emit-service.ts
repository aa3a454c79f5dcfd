/**
 * The service's side of the emission bench (bench/metering-emit.ts), in a process of its own and
 * run from built JavaScript, not through the TypeScript loader, so that its RSS is what the
 * service itself holds: the store, the emitter and its AWS SDK client. It sends what the bench
 * ingested into the SQLite file, pass after pass as in production, until every record is accepted,
 * and prints one line of JSON with what it measured.
 * Arguments: <sqlite file> <simulator url> <records> <concurrency> <rate per second>
 */
import { readFileSync } from 'node:fs';
import { createAwsClients } from '../src/aws/clients';
import { SdkMeteringGateway } from '../src/aws/metering.gateway';
import { MeteringEmitter } from '../src/metering/emitter';
import type { MeteringGateway } from '../src/metering/ports';
import { systemClock } from '../src/platform/clock';
import { createLogger } from '../src/platform/logger';
import { ProductCatalog } from '../src/products/product-config';
import { openStore } from '../src/store/database';
import { benchProduct } from './metering-bench-support';

/** What the emission measured, printed as JSON for the bench. */
export interface EmitMeasurement {
  readonly seconds: number;
  readonly passes: number;
  readonly calls: number;
  readonly throttled: number;
  readonly accepted: number;
  readonly firstCallSeconds: number | null;
  readonly rssAtStartMb: number;
  /** The kernel's high-water mark of this process (VmHWM), else the highest sample. */
  readonly rssPeakMb: number;
  readonly heapPeakMb: number;
}

const mb = (bytes: number) => bytes / 1_048_576;

/** The process's peak resident set since it started, from /proc (Linux); null elsewhere. */
function residentHighWaterMb(): number | null {
  try {
    const kb = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1];
    return kb ? Number(kb) / 1024 : null;
  } catch {
    return null;
  }
}

/** The gateway, counting each call's answer. */
function countingGateway(inner: MeteringGateway) {
  const counts = { calls: 0, throttled: 0, accepted: 0, firstCallAt: null as number | null };
  const gateway: MeteringGateway = {
    async batchMeterUsage(batch) {
      counts.firstCallAt ??= performance.now();
      counts.calls++;
      const result = await inner.batchMeterUsage(batch);
      if (!result.ok && result.failure.kind === 'throttled') counts.throttled++;
      if (result.ok) counts.accepted += result.results.filter((r) => r.status === 'Success').length;
      return result;
    },
    meterUsage: (record, opts) => inner.meterUsage(record, opts),
  };
  return { gateway, counts };
}

async function main(): Promise<void> {
  const [path, simulatorUrl, records, concurrency, rate] = process.argv.slice(2);
  if (!path || !simulatorUrl) throw new Error('usage: metering-emit-service <sqlite file> <simulator url> <records> <concurrency> <rate>');
  const expected = Number(records);
  const store = openStore({ kind: 'sqlite', path });
  const aws = createAwsClients({
    region: 'us-east-1',
    endpoints: { metering: simulatorUrl },
    credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' },
  });
  const { gateway, counts } = countingGateway(new SdkMeteringGateway(aws.metering));
  const emitter = new MeteringEmitter({
    db: store.db,
    dialect: store.dialect,
    catalog: new ProductCatalog([benchProduct]),
    gateway,
    clock: systemClock,
    logger: createLogger({ level: 'silent' }),
    settings: { minute: 0, heartbeat: false, concurrency: Number(concurrency), ratePerSecond: Number(rate) },
  });
  await emitter.start();
  const rssAtStart = process.memoryUsage().rss;
  let rssPeak = rssAtStart;
  let heapPeak = process.memoryUsage().heapUsed;
  const sampler = setInterval(() => {
    const m = process.memoryUsage();
    heapPeak = Math.max(heapPeak, m.heapUsed);
    rssPeak = Math.max(rssPeak, m.rss);
  }, 250);
  const t = performance.now();
  await emitter.runOnce();
  // Records a pass could not place (throttled past the SDK's retries) wait for their backoff and
  // go in a later pass, as in production: the run counts until every record is accepted.
  let passes = 1;
  while (counts.accepted < expected && performance.now() - t < 30 * 60_000) {
    await new Promise((r) => setTimeout(r, 1000));
    await emitter.runOnce();
    passes++;
  }
  const seconds = (performance.now() - t) / 1000;
  clearInterval(sampler);
  await emitter.stop();
  aws.destroy();
  await store.close();
  const measurement: EmitMeasurement = {
    seconds,
    passes,
    calls: counts.calls,
    throttled: counts.throttled,
    accepted: counts.accepted,
    firstCallSeconds: counts.firstCallAt === null ? null : (counts.firstCallAt - t) / 1000,
    rssAtStartMb: mb(rssAtStart),
    rssPeakMb: residentHighWaterMb() ?? mb(rssPeak),
    heapPeakMb: mb(heapPeak),
  };
  process.stdout.write(`${JSON.stringify(measurement)}\n`);
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
