/**
 * Runs every benchmark, one child process each (so one bench's heap and timers cannot colour the
 * next), and prints their figures. Benchmarks are not tests: they print, they do not assert.
 *
 *   npm run bench            quick sizes (about a minute)
 *   npm run bench -- --full  the issue-sized runs: 100,000 metering records at the 10 req/s
 *                            quota (at least 400 s), 50,000 at 100 req/s, and 20,000 notifications
 *   npm run bench -- notifications metering-ingest   only the named benchmarks
 *
 * With `TEST_DATABASE_URL` set, the notification and ingestion benches also measure PostgreSQL beside
 * SQLite in the same run; `BENCH_DIALECT=postgres` runs the notification and webhook benches on PostgreSQL only.
 *
 * Every figure a bench reports with its reference (bench/figures.ts) is also written, with the
 * machine's load average before and after, to bench/results.json (docs/performance.md).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';

interface Bench {
  name: string;
  file: string;
  quick: string[];
  full: string[];
}

const dialect = process.env.BENCH_DIALECT === 'postgres' ? 'postgres' : 'sqlite';
/** With a PostgreSQL database to use, the notification bench measures both engines side by side. */
const notificationEngines = process.env.TEST_DATABASE_URL && !process.env.BENCH_DIALECT ? 'both' : dialect;

const benches: Bench[] = [
  { name: 'http-paths', file: 'http-paths.ts', quick: ['2', '3'], full: ['5', '3'] },
  { name: 'registration', file: 'registration.ts', quick: ['500', '8'], full: ['2000', '8'] },
  { name: 'notifications', file: 'notifications.ts', quick: ['2000', '4', notificationEngines], full: ['20000', '4', notificationEngines] },
  { name: 'metering-ingest', file: 'metering-ingest.ts', quick: ['20000'], full: ['100000'] },
  { name: 'metering-emit', file: 'metering-emit.ts', quick: ['5000', '4', '10000'], full: ['100000', '4', '50000'] },
  { name: 'webhook-delivery', file: 'webhook-delivery.ts', quick: ['2000', '200', dialect], full: ['20000', '1000', dialect] },
  { name: 'console-pages', file: 'console-pages.ts', quick: ['200', '10000', '1000000'], full: ['1000', '10000', '1000000'] },
];

function main(): void {
  const args = process.argv.slice(2);
  const full = args.includes('--full');
  const names = args.filter((a) => !a.startsWith('--'));
  const unknown = names.filter((n) => !benches.some((b) => b.name === n));
  if (unknown.length > 0) {
    process.stderr.write(`unknown benchmark(s): ${unknown.join(', ')}; known: ${benches.map((b) => b.name).join(', ')}\n`);
    process.exit(2);
  }
  const selected = names.length > 0 ? benches.filter((b) => names.includes(b.name)) : benches;
  const resultsFile = join(mkdtempSync(join(tmpdir(), 'mb-bench-results-')), 'figures.jsonl');
  writeFileSync(resultsFile, '');
  const loadBefore = loadavg();
  const startedAt = new Date();
  let failed = 0;
  for (const bench of selected) {
    const benchArgs = full ? bench.full : bench.quick;
    process.stdout.write(`== ${bench.name} (${benchArgs.join(' ')})\n`);
    const started = Date.now();
    const child = spawnSync(process.execPath, ['-r', '@swc-node/register', join(__dirname, bench.file), ...benchArgs], {
      stdio: ['ignore', 'inherit', 'inherit'],
      env: {
        ...process.env,
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
        LOG_LEVEL: 'silent',
        BENCH_RESULTS_FILE: resultsFile,
      },
    });
    const wall = ((Date.now() - started) / 1000).toFixed(1);
    if (child.status !== 0) {
      failed++;
      process.stdout.write(`   ${bench.name} FAILED (exit ${child.status ?? child.signal}) after ${wall} s\n`);
    } else {
      process.stdout.write(`   (${wall} s wall, process start included)\n`);
    }
  }
  const figures = readFileSync(resultsFile, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as unknown);
  const out = join(__dirname, 'results.json');
  writeFileSync(
    out,
    JSON.stringify(
      {
        startedAt: startedAt.toISOString(),
        mode: full ? 'full' : 'quick',
        benches: selected.map((b) => b.name),
        machine: { node: process.version, cpus: cpus().length, cpuModel: cpus()[0]?.model ?? null },
        loadAverage: { before: loadBefore, after: loadavg() },
        figures,
      },
      null,
      2,
    ) + '\n',
  );
  process.stdout.write(`${figures.length} figures written to ${out}\n`);
  process.exit(failed > 0 ? 1 : 0);
}

main();
