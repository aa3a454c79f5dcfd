/**
 * Usage ingestion throughput of the ledger (the work behind POST /v1/usage, without HTTP), beside
 * the better-sqlite3 floor (bench/ingest-floor.ts) measured in the same run: batched (1,000
 * records per transaction), three interleaved rounds; then single records (one transaction each).
 * With TEST_DATABASE_URL set, the same ledger on PostgreSQL joins the rounds, reported beside the
 * ledger on SQLite. Then one `distinct` write (one new id) into an hour that has no ids yet and
 * into one that already has 40,000: the cost of a write must not grow with the ids stored.
 * Run: node -r @swc-node/register bench/metering-ingest.ts [events per round=20000] [rounds=3]
 * BENCH_PROFILE=sqlite|postgres writes a CPU profile of that engine's batched rounds to
 * bench-profile-ingest-<engine>-<round>.cpuprofile (open it in Chrome DevTools).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { join } from 'node:path';
import { UsageLedger } from '../src/metering/ledger';
import { batchMeterUsageWindow, meterUsageWindow } from '../src/metering/windows';
import { systemClock } from '../src/platform/clock';
import { createLogger } from '../src/platform/logger';
import { ProductCatalog, type ProductConfig } from '../src/products/product-config';
import { reportFigure } from './figures';
import { ingestionFloor } from './ingest-floor';
import { openBenchStore } from './bench-store';
import { activeCustomers, benchProduct, benchStore } from './metering-bench-support';
import type { Store } from '../src/store/database';

const distinctProduct: ProductConfig = {
  ...benchProduct,
  code: 'bench-distinct-product',
  dimensions: [{ name: 'users', aggregation: 'distinct', heartbeat: false, metered: true }],
};

/** Runs `work`, with a CPU profile of it written to `name` when asked for. */
async function profiled<T>(profiler: Session | undefined, name: string, work: () => Promise<T>): Promise<T> {
  if (!profiler) return work();
  await profiler.post('Profiler.start');
  try {
    return await work();
  } finally {
    const { profile } = await profiler.post('Profiler.stop');
    writeFileSync(name, JSON.stringify(profile));
  }
}

async function main(): Promise<void> {
  const total = Number(process.argv[2] ?? 20_000);
  const rounds = Number(process.argv[3] ?? 3);
  const store = await benchStore();
  const now = new Date();
  const identifiers = Array.from({ length: 100 }, (_, i) => `bench-${i}`);
  const activatedAt = new Date(now.getTime() - 3_600_000);
  await activeCustomers(store, identifiers, activatedAt);
  const ledgerOn = (s: Store) =>
    new UsageLedger({
      db: s.db,
      dialect: s.dialect,
      catalog: new ProductCatalog([benchProduct, distinctProduct]),
      clock: systemClock,
      logger: createLogger({ level: 'silent' }),
      options: { batchWindow: batchMeterUsageWindow, meterUsageWindow },
    });
  const ledger = ledgerOn(store);
  const pg = process.env.TEST_DATABASE_URL ? await openBenchStore('postgres') : undefined;
  // Records name customers by CustomerIdentifier, the same on both engines.
  if (pg) await activeCustomers(pg.store, identifiers, activatedAt);
  const pgLedger = pg ? ledgerOn(pg.store) : undefined;
  const floor = ingestionFloor(join(mkdtempSync(join(tmpdir(), 'mb-bench-floor-')), 'floor.sqlite'));
  let seq = 0;
  const record = () => {
    seq++;
    return {
      customer: identifiers[seq % identifiers.length]!,
      dimension: seq % 2 ? 'api_calls' : 'storage',
      quantity: seq % 13,
      timestamp: new Date(now.getTime() - (seq % 600) * 1000).toISOString(),
      idempotencyKey: `k-${seq}`,
      tags: { team: `t${seq % 4}` },
    };
  };
  const batches = () =>
    Array.from({ length: Math.ceil(total / 1000) }, (_, b) => Array.from({ length: Math.min(1000, total - b * 1000) }, record));
  const profile = process.env.BENCH_PROFILE;
  const profiler = profile ? new Session() : undefined;
  if (profiler) {
    profiler.connect();
    await profiler.post('Profiler.enable');
  }
  const on = (engine: string) => (profile === engine ? profiler : undefined);
  const ledgerRounds: number[] = [];
  const floorRounds: number[] = [];
  const pgRounds: number[] = [];
  for (let round = 0; round < rounds; round++) {
    const forLedger = batches();
    let t = performance.now();
    await profiled(on('sqlite'), `bench-profile-ingest-sqlite-${round}.cpuprofile`, async () => {
      for (const batch of forLedger) {
        const out = await ledger.record(batch);
        if (out.some((r) => r.status !== 'accepted')) throw new Error('a bench record was rejected');
      }
    });
    ledgerRounds.push(total / ((performance.now() - t) / 1000));
    const forFloor = batches();
    t = performance.now();
    for (const batch of forFloor) floor.ingest(batch);
    floorRounds.push(total / ((performance.now() - t) / 1000));
    if (pgLedger) {
      const forPg = batches();
      t = performance.now();
      await profiled(on('postgres'), `bench-profile-ingest-postgres-${round}.cpuprofile`, async () => {
        for (const batch of forPg) {
          const out = await pgLedger.record(batch);
          if (out.some((r) => r.status !== 'accepted')) throw new Error('a bench record was rejected on PostgreSQL');
        }
      });
      pgRounds.push(total / ((performance.now() - t) / 1000));
    }
  }
  process.stdout.write(`ledger ingestion on ${store.dialect}, ${rounds} interleaved rounds of ${total} events (1,000 per transaction):\n`);
  reportFigure({
    figure: `batched ingestion (ledger, ${store.dialect}, 1,000 records per call)`,
    unit: 'events/s',
    rounds: ledgerRounds,
    reference: { name: 'better-sqlite3 floor', rounds: floorRounds },
    target: 0.6,
  });
  if (pg)
    reportFigure({
      figure: 'batched ingestion (ledger, postgres, 1,000 records per call)',
      unit: 'events/s',
      rounds: pgRounds,
      reference: { name: 'the ledger on sqlite', rounds: ledgerRounds },
      target: 0.8,
    });
  const singles = Math.max(1000, Math.floor(total / 10));
  const t = performance.now();
  for (let i = 0; i < singles; i++) await ledger.record([record()]);
  reportFigure({
    figure: `single-record ingestion (ledger, ${store.dialect}, one transaction each)`,
    unit: 'events/s',
    rounds: [singles / ((performance.now() - t) / 1000)],
  });
  await distinctWrites(store, ledger, now);
  profiler?.disconnect();
  floor.close();
  await store.close();
  await pg?.dispose();
}

void main();

/**
 * Milliseconds of one `distinct` write (a call with one record, one new id) into an hour with no
 * ids yet and into an hour that already holds 40,000, interleaved, 30 of each.
 */
async function distinctWrites(store: Store, ledger: UsageLedger, now: Date): Promise<void> {
  const writes = 30;
  const at = new Date(now.getTime() - 60_000).toISOString();
  const empty = Array.from({ length: writes }, (_, i) => `bench-distinct-empty-${i}`);
  await activeCustomers(store, ['bench-distinct-full', ...empty], new Date(now.getTime() - 3_600_000), distinctProduct);
  for (let b = 0; b < 40; b++) {
    await ledger.record(
      Array.from({ length: 1000 }, (_, i) => ({
        customer: 'bench-distinct-full',
        dimension: 'users',
        distinctId: `user-${b * 1000 + i}`,
        timestamp: at,
        idempotencyKey: `fill-${b}-${i}`,
      })),
    );
  }
  const time = async (customer: string, n: number) => {
    const t = performance.now();
    const [r] = await ledger.record([{ customer, dimension: 'users', distinctId: `new-${n}`, timestamp: at, idempotencyKey: `new-${n}` }]);
    if (r?.status !== 'accepted') throw new Error('a bench distinct record was rejected');
    return performance.now() - t;
  };
  const atZero: number[] = [];
  const atFull: number[] = [];
  for (let i = 0; i < writes; i++) {
    atZero.push(await time(empty[i]!, i));
    atFull.push(await time('bench-distinct-full', i));
  }
  reportFigure({
    figure: `distinct write into an hour with 40,000 ids (ledger, ${store.dialect}, one new id)`,
    unit: 'ms',
    rounds: atFull,
    reference: { name: 'into an hour with no ids', rounds: atZero },
    target: 0.5,
    lowerIsBetter: true,
  });
}
