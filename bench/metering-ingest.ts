/**
 * Usage ingestion throughput of the ledger (the work behind POST /v1/usage, without HTTP):
 * batched (1,000 records per transaction) and single records (one transaction each).
 * Run: node -r @swc-node/register bench/metering-ingest.ts [events=20000]
 */
import { UsageLedger } from '../src/metering/ledger';
import { batchMeterUsageWindow, meterUsageWindow } from '../src/metering/windows';
import { systemClock } from '../src/platform/clock';
import { createLogger } from '../src/platform/logger';
import { ProductCatalog } from '../src/products/product-config';
import { activeCustomers, benchProduct, benchStore } from './metering-bench-support';

async function main(): Promise<void> {
  const total = Number(process.argv[2] ?? 20_000);
  const store = await benchStore();
  const now = new Date();
  const customers = await activeCustomers(
    store,
    Array.from({ length: 100 }, (_, i) => `bench-${i}`),
    new Date(now.getTime() - 3_600_000),
  );
  const ledger = new UsageLedger({
    db: store.db,
    dialect: store.dialect,
    catalog: new ProductCatalog([benchProduct]),
    clock: systemClock,
    logger: createLogger({ level: 'silent' }),
    options: { batchWindow: batchMeterUsageWindow, meterUsageWindow },
  });
  let seq = 0;
  const record = () => {
    seq++;
    return {
      customer: customers[seq % customers.length]!,
      dimension: seq % 2 ? 'api_calls' : 'storage',
      quantity: seq % 13,
      timestamp: new Date(now.getTime() - (seq % 600) * 1000).toISOString(),
      idempotencyKey: `k-${seq}`,
      tags: { team: `t${seq % 4}` },
    };
  };
  let t = performance.now();
  for (let done = 0; done < total; done += 1000) {
    const out = await ledger.record(Array.from({ length: Math.min(1000, total - done) }, record));
    if (out.some((r) => r.status !== 'accepted')) throw new Error('a bench record was rejected');
  }
  const batched = total / ((performance.now() - t) / 1000);
  const singles = Math.max(1000, Math.floor(total / 10));
  t = performance.now();
  for (let i = 0; i < singles; i++) await ledger.record([record()]);
  const single = singles / ((performance.now() - t) / 1000);
  process.stdout.write(
    `ledger ingestion on ${store.dialect}: batched (1,000/request) ${batched.toFixed(0)} events/s over ${total}; single ${single.toFixed(0)} events/s over ${singles}\n`,
  );
  await store.close();
}

void main();
