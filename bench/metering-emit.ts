/**
 * Emission: the time to send N customer-dimension records with BatchMeterUsage, and the memory of
 * the process that sends them. The simulator runs in a process of its own (its standalone entry,
 * `src/simulator/standalone.ts`), driven over its control API, so this process holds only the
 * service's part (store, emitter, SDK client) and its RSS is the service's.
 *
 * Two cases, each with a fresh store and a fresh simulator:
 *  - quota: the simulator enforcing AWS's 10 requests/second (facts §6), the emitter at its default
 *    rate. The quota bounds it: N/25 calls at 10/s, so 100,000 records need at least 400 s.
 *  - headroom: the simulator's quota raised to 100 calls/s and the emitter's rate with it (a seller
 *    whose quota AWS raised: METERING_RATE_LIMIT=100). What our code sustains when AWS is not the
 *    limit; target at least 90 % of the quota.
 *
 * The service side runs from built JavaScript (bench/metering-emit-service.ts, built here with the
 * same transform as the tests) in plain node, so the TypeScript loader is not counted in its RSS.
 *
 * Run: node -r @swc-node/register bench/metering-emit.ts [records=5000] [concurrency=4] [headroomRecords=20000]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { createInterface } from 'node:readline';
import { transformFileSync } from '@swc/core';
import { UsageLedger } from '../src/metering/ledger';
import { batchMeterUsageWindow, meterUsageWindow } from '../src/metering/windows';
import { systemClock } from '../src/platform/clock';
import { createLogger } from '../src/platform/logger';
import { ProductCatalog } from '../src/products/product-config';
import { openStore } from '../src/store/database';
import { reportFigure } from './figures';
import type { EmitMeasurement } from './metering-emit-service';
import { activeCustomers, benchProduct } from './metering-bench-support';
const HOUR = 3_600_000;
/**
 * Each customer has usage in each of the last USAGE_HOURS hours (two dimensions each), so N records
 * need N / (2 × USAGE_HOURS) buyers: subscribing them through the simulator's control API is the
 * slow part of the set-up. The oldest hour stays well inside BatchMeterUsage's 24 hours.
 */
const USAGE_HOURS = 10;
const ROOT = join(__dirname, '..');

/**
 * The service's code as built JavaScript (the same transform as the test runner's), under
 * node_modules/.cache so that it resolves the project's packages: src/ and the bench's service
 * side. Returns the service side's entry.
 */
function buildServiceSide(): string {
  const out = join(ROOT, 'node_modules', '.cache', 'metering-emit-bench');
  rmSync(out, { recursive: true, force: true });
  const emit = (file: string) => {
    const target = join(out, relative(ROOT, file));
    mkdirSync(dirname(target), { recursive: true });
    if (!file.endsWith('.ts')) return copyFileSync(file, target);
    const { code } = transformFileSync(file, {
      jsc: { parser: { syntax: 'typescript' }, target: 'es2022' },
      module: { type: 'commonjs' },
      sourceMaps: false,
    });
    writeFileSync(target.replace(/\.ts$/, '.js'), code);
  };
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else emit(path);
    }
  };
  walk(join(ROOT, 'src'));
  emit(join(__dirname, 'metering-bench-support.ts'));
  emit(join(__dirname, 'metering-emit-service.ts'));
  return join(out, 'bench', 'metering-emit-service.js');
}

/** The standalone simulator in a child process, its clock behind real time so that buyers subscribe before the usage hours. */
async function startSimulatorProcess(quota: number): Promise<{ url: string; child: ChildProcess; stop: () => Promise<void> }> {
  const child = spawn(process.execPath, ['-r', '@swc-node/register', join(__dirname, '..', 'src', 'simulator', 'standalone.ts')], {
    env: {
      ...process.env,
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      SIMULATOR_PORT: '0',
      SIMULATOR_QUOTAS: `batchMeterUsage=${quota}`,
      SIMULATOR_CLOCK_OFFSET_MS: String(-(USAGE_HOURS + 1) * HOUR),
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout! });
  const url = await new Promise<string>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`the simulator exited (${code}) before it listened`)));
    lines.on('line', (line) => {
      const m = /AWS Marketplace simulator: (\S+)/.exec(line);
      if (m) resolve(m[1]!);
    });
  });
  return {
    url,
    child,
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

async function control<T>(url: string, path: string, body?: unknown): Promise<T> {
  const res = await fetch(`${url}${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

/** Subscribes and confirms `n` buyers of the bench product, a few requests in flight at a time. */
async function subscribeBuyers(url: string, n: number): Promise<string[]> {
  await control(url, '/simulator/api/products', {
    productCode: benchProduct.code,
    pricingModel: 'subscription',
    identity: 'customer-identifier',
    dimensions: benchProduct.dimensions.map((d) => ({ name: d.name })),
  });
  const identifiers: string[] = new Array<string>(n);
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < n; i = next++) {
      const sub = await control<{ id: string; customerIdentifier: string }>(url, '/simulator/api/subscriptions', {
        productCode: benchProduct.code,
        confirmation: 'manual',
      });
      await control(url, `/simulator/api/subscriptions/${encodeURIComponent(sub.id)}/confirm`, {});
      identifiers[i] = sub.customerIdentifier;
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  // The simulator clock catches up with real time: the subscriptions now precede every usage hour.
  await control(url, '/simulator/api/clock/advance', { hours: USAGE_HOURS + 1 });
  return identifiers;
}

type EmitResult = EmitMeasurement & {
  records: number;
  callsPerSecond: number;
  /** Calls per second from the first call on (the sending, without the sealing before it). */
  sendingCallsPerSecond: number;
};

async function emitCase(name: string, serviceEntry: string, records: number, concurrency: number, quota: number): Promise<EmitResult> {
  const sim = await startSimulatorProcess(quota);
  const dir = mkdtempSync(join(tmpdir(), 'mb-bench-emit-'));
  try {
    const identifiers = await subscribeBuyers(sim.url, Math.ceil(records / (2 * USAGE_HOURS)));
    // The buyers' customers and their usage of the last hours, ingested here; the service process sends them.
    const path = join(dir, 'bench.sqlite');
    const store = openStore({ kind: 'sqlite', path });
    await store.migrate();
    const now = new Date();
    const ids = await activeCustomers(store, identifiers, new Date(now.getTime() - (USAGE_HOURS + 1) * HOUR));
    const ledger = new UsageLedger({
      db: store.db,
      dialect: store.dialect,
      catalog: new ProductCatalog([benchProduct]),
      clock: systemClock,
      logger: createLogger({ level: 'silent' }),
      options: { batchWindow: batchMeterUsageWindow, meterUsageWindow },
    });
    const thisHour = Math.floor(now.getTime() / HOUR) * HOUR;
    const usage = Array.from({ length: USAGE_HOURS }, (_, h) => new Date(thisHour - (h + 1) * HOUR + HOUR / 2))
      .flatMap((at) =>
        ids.flatMap((id, i) =>
          ['api_calls', 'storage'].map((dimension) => ({
            customer: id,
            dimension,
            quantity: (i % 50) + 1,
            timestamp: at.toISOString(),
            idempotencyKey: `${id}-${dimension}-${at.toISOString()}`,
          })),
        ),
      )
      .slice(0, records);
    for (let i = 0; i < usage.length; i += 1000) await ledger.record(usage.slice(i, i + 1000));
    await store.close();

    const measured = await runServiceSide(serviceEntry, [path, sim.url, String(usage.length), String(concurrency), String(quota)]);
    const billed = (await control<unknown[]>(sim.url, `/simulator/api/billed?productCode=${benchProduct.code}`)).length;
    const result: EmitResult = {
      ...measured,
      records: usage.length,
      callsPerSecond: measured.calls / measured.seconds,
      sendingCallsPerSecond: measured.calls / (measured.seconds - (measured.firstCallSeconds ?? 0)),
    };
    process.stdout.write(
      `${name} (simulator quota ${quota} calls/s, emitter rate ${quota}/s, concurrency ${concurrency}): ${usage.length} records ` +
        `(billed ${billed}) in ${measured.calls} calls, ${measured.seconds.toFixed(1)} s, ${measured.passes} pass${measured.passes > 1 ? 'es' : ''}, ` +
        `${result.callsPerSecond.toFixed(2)} calls/s (${((100 * result.callsPerSecond) / quota).toFixed(0)} % of the quota; ${result.sendingCallsPerSecond.toFixed(2)} calls/s from the first call on), ` +
        `${measured.throttled} throttled; quota-bound minimum ${(usage.length / 25 / quota).toFixed(1)} s; ` +
        `sealing before the first call ${measured.firstCallSeconds?.toFixed(1) ?? '?'} s; ` +
        `service process RSS ${measured.rssAtStartMb.toFixed(0)} MB at start, ${measured.rssPeakMb.toFixed(0)} MB peak; heap peak ${measured.heapPeakMb.toFixed(0)} MB\n`,
    );
    if (billed !== usage.length) throw new Error(`${name}: ${billed} records billed of ${usage.length}`);
    return result;
  } finally {
    await sim.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Runs the service side (plain node, built JavaScript) and reads its measurement. */
async function runServiceSide(entry: string, args: string[]): Promise<EmitMeasurement> {
  // BENCH_PROFILE=emit: a CPU profile of the service side, written to the working directory.
  const profile =
    process.env.BENCH_PROFILE === 'emit'
      ? ['--cpu-prof', '--cpu-prof-name', `bench-profile-emit-${process.pid}-${Date.now()}.cpuprofile`]
      : [];
  const child = spawn(process.execPath, [...profile, entry, ...args], {
    env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  if (code !== 0) throw new Error(`the service side exited with ${code}`);
  return JSON.parse(out.trim().split('\n').pop()!) as EmitMeasurement;
}

async function main(): Promise<void> {
  const records = Number(process.argv[2] ?? 5000);
  const concurrency = Number(process.argv[3] ?? 4);
  const headroomRecords = Number(process.argv[4] ?? 20_000);
  const serviceEntry = buildServiceSide();
  const quota = await emitCase('emission', serviceEntry, records, concurrency, 10);
  reportFigure({
    figure: `emission, ${records.toLocaleString('en')} records, time`,
    unit: 's',
    rounds: [quota.seconds],
    reference: { name: 'quota-bound minimum (10 calls/s of 25 records)', rounds: [records / 250] },
    lowerIsBetter: true,
  });
  reportFigure({
    figure: `emission, ${records.toLocaleString('en')} records, service process RSS peak`,
    unit: 'MB',
    rounds: [quota.rssPeakMb],
  });
  const headroom = await emitCase('emission headroom', serviceEntry, headroomRecords, concurrency, 100);
  reportFigure({
    figure: `emission headroom, ${headroomRecords.toLocaleString('en')} records, quota raised to 100 calls/s, from the first call on`,
    unit: 'calls/s',
    rounds: [headroom.sendingCallsPerSecond],
    reference: { name: 'the quota', rounds: [100] },
    target: 0.9,
  });
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
