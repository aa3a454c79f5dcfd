/**
 * Usage ingestion throughput of the ledger (the work behind POST /v1/usage, without HTTP), beside
 * the better-sqlite3 floor (bench/ingest-floor.ts) measured in the same run: batched (1,000
 * records per transaction), three interleaved rounds; then single records (one transaction each).
 * Run: node -r @swc-node/register bench/metering-ingest.ts [events per round=20000] [rounds=3]
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UsageLedger } from '../src/metering/ledger';
import { batchMeterUsageWindow, meterUsageWindow } from '../src/metering/windows';
import { systemClock } from '../src/platform/clock';
import { createLogger } from '../src/platform/logger';
import { ProductCatalog } from '../src/products/product-config';
import { reportFigure } from './figures';
import { ingestionFloor } from './ingest-floor';
import { activeCustomers, benchProduct, benchStore } from './metering-bench-support';

async function main(): Promise<void> {
  const total = Number(process.argv[2] ?? 20_000);
  const rounds = Number(process.argv[3] ?? 3);
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
  const floor = ingestionFloor(join(mkdtempSync(join(tmpdir(), 'mb-bench-floor-')), 'floor.sqlite'));
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
  const batches = () =>
    Array.from({ length: Math.ceil(total / 1000) }, (_, b) => Array.from({ length: Math.min(1000, total - b * 1000) }, record));
  const ledgerRounds: number[] = [];
  const floorRounds: number[] = [];
  for (let round = 0; round < rounds; round++) {
    const forLedger = batches();
    let t = performance.now();
    for (const batch of forLedger) {
      const out = await ledger.record(batch);
      if (out.some((r) => r.status !== 'accepted')) throw new Error('a bench record was rejected');
    }
    ledgerRounds.push(total / ((performance.now() - t) / 1000));
    const forFloor = batches();
    t = performance.now();
    for (const batch of forFloor) floor.ingest(batch);
    floorRounds.push(total / ((performance.now() - t) / 1000));
  }
  process.stdout.write(`ledger ingestion on ${store.dialect}, ${rounds} interleaved rounds of ${total} events (1,000 per transaction):\n`);
  reportFigure({
    figure: `batched ingestion (ledger, ${store.dialect}, 1,000 records per call)`,
    unit: 'events/s',
    rounds: ledgerRounds,
    reference: { name: 'better-sqlite3 floor', rounds: floorRounds },
    target: 0.6,
  });
  const singles = Math.max(1000, Math.floor(total / 10));
  const t = performance.now();
  for (let i = 0; i < singles; i++) await ledger.record([record()]);
  reportFigure({
    figure: `single-record ingestion (ledger, ${store.dialect}, one transaction each)`,
    unit: 'events/s',
    rounds: [singles / ((performance.now() - t) / 1000)],
  });
  floor.close();
  await store.close();
}

void main();
