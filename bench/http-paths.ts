/**
 * The request paths a seller's app calls all day, each beside a bare Express 5 hello-world
 * (bench/hello-world.ts) measured in the same run: `GET /healthz`, `GET /v1/access` by LicenseArn
 * and `POST /v1/usage` with one record. Rounds are interleaved (hello-world, then each path, three
 * times), so a change in the machine's load colours both sides alike. The load generator runs in
 * its own process (bench/load-client.ts, autocannon, 10 connections).
 * Usage: node -r @swc-node/register bench/http-paths.ts [seconds per measurement=2] [rounds=3]
 * Beside each rate it prints the CPU time this process spent per request answered (both servers
 * run here, the load generator elsewhere): on a shared machine the rates swing with the neighbours'
 * load, the CPU cost of a request much less.
 * BENCH_PROFILE=<case> (healthz, access, usage, …) writes a CPU profile of the service during each of
 * that case's measurements to bench-profile-<case>-<round>.cpuprofile (open it in Chrome DevTools).
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { AddressInfo } from 'node:net';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Session } from 'node:inspector/promises';
import { writeFileSync } from 'node:fs';
import { Writable } from 'node:stream';
import { createAwsClients } from '../src/aws/clients';
import { loadConfig } from '../src/config';
import { createContainer } from '../src/container';
import { systemClock } from '../src/platform/clock';
import { createLogger } from '../src/platform/logger';
import type { ProductConfig } from '../src/products/product-config';
import { openStore } from '../src/store/database';
import { median, reportFigure } from './figures';
import { startHelloWorld } from './hello-world';

const product: ProductConfig = {
  code: 'bench-license',
  name: 'Bench licence product',
  pricingModel: 'subscription',
  meteringApi: 'batch',
  identity: 'license',
  dimensions: [{ name: 'api_calls', description: 'API calls', aggregation: 'sum', heartbeat: false, metered: true }],
};
const API_KEY = 'bench-api-key-0123456789abcdef';
const LICENSE_ARN = 'arn:aws:license-manager::123456789012:license:l-0123456789abcdef0123456789abcdef';

interface Load {
  requestsPerSecond: number;
  errors: number;
  non2xx: number;
  p99Ms: number;
}

/** One measurement; the servers keep running in this process meanwhile (hence asynchronous). */
async function load(spec: Record<string, unknown>): Promise<Load> {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['-r', '@swc-node/register', join(__dirname, 'load-client.ts'), JSON.stringify(spec)],
    { encoding: 'utf8', env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' } },
  );
  const r = JSON.parse(stdout) as Load;
  if (r.errors > 0 || r.non2xx > 0 || !(r.requestsPerSecond > 0))
    throw new Error(`${String(spec.url)}: ${r.errors} errors, ${r.non2xx} non-2xx answers, ${r.requestsPerSecond} req/s`);
  return r;
}

async function main(): Promise<void> {
  const seconds = Number(process.argv[2] ?? 2);
  const rounds = Number(process.argv[3] ?? 3);
  const store = openStore({ kind: 'sqlite', path: join(mkdtempSync(join(tmpdir(), 'mb-bench-')), 'bench.sqlite') });
  await store.migrate();
  const config = loadConfig({
    MARKETPLACE_MODE: 'aws',
    SESSION_SECRET: 'bench-session-secret-0123456789abcdef',
    SUPPORT_EMAIL: 'help@seller.example',
    API_KEYS: `bench=${API_KEY}`,
    MARKETPLACE_PRODUCTS: JSON.stringify([product]),
    // The limiter stays in the path, set above what the bench sends.
    RATE_LIMIT_API_PER_MINUTE: '10000000',
    LOG_LEVEL: 'info',
  });
  const aws = createAwsClients({
    region: 'us-east-1',
    endpoints: { metering: 'http://127.0.0.1:9', entitlement: 'http://127.0.0.1:9', sqs: 'http://127.0.0.1:9' },
    credentials: { accessKeyId: 'b', secretAccessKey: 'b' },
  });
  // Request logs are written (at info, as deployed) to a sink that drops them.
  const logger = createLogger({ level: 'info', destination: new Writable({ write: (_c, _e, done) => done() }) });
  const container = createContainer({ config, store, aws, clock: systemClock, logger });
  const activatedAt = new Date(Date.now() - 3_600_000);
  const customer = await container.customers.upsert(
    { productCode: product.code, customerAWSAccountId: '123456789012', licenseArn: LICENSE_ARN },
    activatedAt,
  );
  await store.db
    .transaction()
    .execute((tx) =>
      container.customers.saveSubscriptionState(
        tx,
        customer.id,
        { status: 'active', statusEventTime: activatedAt, activatedAt, finalWindowOpenedAt: null, endedAt: null },
        activatedAt,
      ),
    );
  const server = container.app.listen(0, '127.0.0.1');
  let served = 0;
  server.on('request', () => served++);
  await new Promise<void>((r) => server.once('listening', () => r()));
  const service = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const hello = await startHelloWorld();

  const common = { durationSeconds: seconds, connections: 10 };
  const auth = { authorization: `Bearer ${API_KEY}` };
  const json = { 'content-type': 'application/json' };
  const cases = {
    helloGet: { ...common, url: `${hello.url}/`, method: 'GET', headers: {} },
    helloPost: { ...common, url: `${hello.url}/`, method: 'POST', headers: json, usage: { customer: 'c', dimension: 'd' } },
    healthz: { ...common, url: `${service}/healthz`, method: 'GET', headers: {} },
    access: {
      ...common,
      url: `${service}/v1/access?customer=${encodeURIComponent(LICENSE_ARN)}&dimension=api_calls`,
      method: 'GET',
      headers: auth,
    },
    usage: {
      ...common,
      url: `${service}/v1/usage`,
      method: 'POST',
      headers: { ...auth, ...json },
      usage: { customer: LICENSE_ARN, dimension: 'api_calls' },
    },
  } as const;
  // Warm-up: JIT, prepared statements, the validator's compiled schemas.
  for (const c of Object.values(cases)) await load({ ...c, durationSeconds: 1 });
  const results: Record<keyof typeof cases, number[]> = { helloGet: [], helloPost: [], healthz: [], access: [], usage: [] };
  const cpuPerRequest: Record<keyof typeof cases, number[]> = { helloGet: [], helloPost: [], healthz: [], access: [], usage: [] };
  const answered = () => served + hello.requests();
  const profiled = process.env.BENCH_PROFILE;
  const profiler = profiled ? new Session() : undefined;
  if (profiler) {
    profiler.connect();
    await profiler.post('Profiler.enable');
  }
  for (let round = 0; round < rounds; round++) {
    for (const name of Object.keys(cases) as Array<keyof typeof cases>) {
      if (profiler && name === profiled) await profiler.post('Profiler.start');
      const [before, cpu] = [answered(), process.cpuUsage()];
      results[name].push((await load(cases[name])).requestsPerSecond);
      const used = process.cpuUsage(cpu);
      cpuPerRequest[name].push((used.user + used.system) / (answered() - before));
      if (profiler && name === profiled) {
        const { profile } = await profiler.post('Profiler.stop');
        writeFileSync(`bench-profile-${name}-${round}.cpuprofile`, JSON.stringify(profile));
      }
    }
  }
  profiler?.disconnect();
  process.stdout.write(`HTTP request paths (${rounds} interleaved rounds of ${seconds} s, 10 connections, requests/s):\n`);
  const helloGet = { name: 'hello-world GET', rounds: results.helloGet };
  reportFigure({ figure: 'GET /healthz', unit: 'req/s', rounds: results.healthz, reference: helloGet, target: 0.8 });
  reportFigure({ figure: 'GET /v1/access by LicenseArn', unit: 'req/s', rounds: results.access, reference: helloGet, target: 0.6 });
  reportFigure({
    figure: 'POST /v1/usage, one record',
    unit: 'req/s',
    rounds: results.usage,
    reference: { name: 'hello-world POST (JSON body)', rounds: results.helloPost },
    target: 0.4,
  });
  const cpu = (name: keyof typeof cases) => `${median(cpuPerRequest[name]).toFixed(0)} µs`;
  const cpuRatios = (name: keyof typeof cases, reference: keyof typeof cases) => {
    const r = cpuPerRequest[name].map((v, i) => cpuPerRequest[reference][i]! / v).sort((a, b) => a - b);
    return `${r[Math.floor(r.length / 2)]!.toFixed(2)} (min ${r[0]!.toFixed(2)}, max ${r[r.length - 1]!.toFixed(2)})`;
  };
  process.stdout.write(
    `CPU per request answered (median), and the reference's CPU per request ÷ this one, per round:\n` +
      `   GET /healthz: ${cpu('healthz')} | hello-world GET: ${cpu('helloGet')} | ratio ${cpuRatios('healthz', 'helloGet')}\n` +
      `   GET /v1/access by LicenseArn: ${cpu('access')} | hello-world GET: ${cpu('helloGet')} | ratio ${cpuRatios('access', 'helloGet')}\n` +
      `   POST /v1/usage, one record: ${cpu('usage')} | hello-world POST: ${cpu('helloPost')} | ratio ${cpuRatios('usage', 'helloPost')}\n`,
  );
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
  await hello.close();
  await store.close();
}

void main();
