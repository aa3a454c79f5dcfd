import { generateKeyPairSync } from 'node:crypto';
/**
 * The registration URL under load: the buyer's form POST → ResolveCustomer (and GetEntitlements
 * for contracts) through the real SDK against the simulator → customer upsert → 303 to the
 * onboarding page. "Own time" is the request's time minus the time spent inside AWS SDK calls
 * (measured by a middleware on the SDK clients), so it is what the service itself costs; it is
 * measured one request at a time so each SDK call belongs to exactly one request. A second pass
 * keeps several requests in flight and reports throughput.
 * Usage: node -r @swc-node/register bench/registration.ts [requests per model=500] [in flight=8]
 */
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { createAwsClients } from '../src/aws/clients';
import { loadConfig } from '../src/config';
import { createContainer } from '../src/container';
import { systemClock } from '../src/platform/clock';
import { createLogger } from '../src/platform/logger';
import type { ProductConfig } from '../src/products/product-config';
import { startSimulator } from '../src/simulator';
import { openStore } from '../src/store/database';

const subscription: ProductConfig = {
  code: 'bench-subscription',
  name: 'Bench subscription',
  pricingModel: 'subscription',
  meteringApi: 'batch',
  identity: 'customer-identifier',
  dimensions: [{ name: 'api_calls', description: 'API calls', aggregation: 'sum', heartbeat: true, metered: true }],
};
const contract: ProductConfig = {
  code: 'bench-contract',
  name: 'Bench contract',
  pricingModel: 'contract',
  meteringApi: 'batch',
  identity: 'license',
  dimensions: [
    { name: 'seats', description: 'Seats', aggregation: 'sum', heartbeat: false, metered: false },
    { name: 'sso', description: 'SSO', aggregation: 'sum', heartbeat: false, metered: false },
  ],
};

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

const ms = (ns: bigint | number): number => Number(ns) / 1e6;

export async function benchRegistration(perModel = 500, inFlight = 8): Promise<void> {
  const sim = await startSimulator({ quotas: { batchMeterUsage: 0, meterUsage: 0, getEntitlements: 0 } });
  const dir = mkdtempSync(join(tmpdir(), 'mb-bench-'));
  const store = openStore({ kind: 'sqlite', path: join(dir, 'bench.sqlite') });
  await store.migrate();
  const products = [subscription, contract];
  for (const p of products)
    sim.createProduct({
      productCode: p.code,
      pricingModel: p.pricingModel,
      identity: p.identity,
      dimensions: p.dimensions.map((d) => ({ name: d.name })),
    });
  const config = loadConfig({
    MARKETPLACE_MODE: 'aws',
    SESSION_SECRET: 'bench-session-secret-0123456789abcdef',
    SUPPORT_EMAIL: 'help@seller.example',
    LOGIN_URL: 'https://app.seller.example/login',
    // With LOGIN_URL the buyer is handed off with a signed token, as a seller with a sign-in runs it.
    HANDOFF_SIGNING_KEY: generateKeyPairSync('ec', { namedCurve: 'prime256v1' })
      .privateKey.export({ type: 'pkcs8', format: 'pem' })
      .toString(),
    SELLER_NAME: 'Seller Co',
    API_KEYS: 'bench=bench-api-key-0123456789abcdef',
    // The bench registers buyers as fast as it can from one address; the limit would refuse them.
    RATE_LIMIT_REGISTRATION_PER_MINUTE: '0',
    MARKETPLACE_PRODUCTS: JSON.stringify(products),
  });
  const aws = createAwsClients({
    region: 'us-east-1',
    endpoints: { metering: sim.url, entitlement: sim.url, sqs: sim.url },
    credentials: { accessKeyId: 'b', secretAccessKey: 'b' },
  });
  // Time inside the SDK (serialising, signing, the HTTP round trip to the simulator, parsing).
  let sdkNs = 0n;
  const timer =
    (next: (args: unknown) => Promise<unknown>) =>
    async (args: unknown): Promise<unknown> => {
      const t = process.hrtime.bigint();
      try {
        return await next(args);
      } finally {
        sdkNs += process.hrtime.bigint() - t;
      }
    };
  aws.metering.middlewareStack.add(timer as never, { step: 'initialize', name: 'benchSdkTimer' });
  aws.entitlement.middlewareStack.add(timer as never, { step: 'initialize', name: 'benchSdkTimer' });
  const logger = createLogger({ level: 'warn', destination: new Writable({ write: (_c, _e, done) => done() }) });
  const container = createContainer({ config, store, aws, clock: systemClock, logger });
  const server = container.app.listen(0, '127.0.0.1');
  await new Promise<void>((r) => server.once('listening', () => r()));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}${config.registration.path}`;

  const tokens = async (product: ProductConfig, n: number): Promise<string[]> => {
    const out: string[] = [];
    for (let i = 0; i < n; i++) {
      const sub = await sim.subscribe({
        productCode: product.code,
        confirmation: 'manual',
        ...(product.pricingModel === 'contract'
          ? {
              entitlements: [
                { dimension: 'seats', integerValue: 10 + i },
                { dimension: 'sso', booleanValue: true },
              ],
            }
          : {}),
      });
      out.push(sub.registrationToken);
    }
    return out;
  };
  const register = async (token: string): Promise<void> => {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ 'x-amzn-marketplace-token': token }).toString(),
      redirect: 'manual',
    });
    await res.arrayBuffer();
    if (res.status !== 303) throw new Error(`registration answered ${res.status}`);
  };

  const warm = await tokens(subscription, 50);
  for (const t of warm) await register(t);

  for (const product of products) {
    const list = await tokens(product, perModel);
    const own: number[] = [];
    const total: number[] = [];
    for (const token of list) {
      const sdkBefore = sdkNs;
      const t = process.hrtime.bigint();
      await register(token);
      const elapsed = process.hrtime.bigint() - t;
      total.push(ms(elapsed));
      own.push(ms(elapsed - (sdkNs - sdkBefore)));
    }
    own.sort((a, b) => a - b);
    total.sort((a, b) => a - b);
    console.log(
      `registration ${product.pricingModel} (${product.pricingModel === 'contract' ? 'ResolveCustomer + GetEntitlements' : 'ResolveCustomer'}), ${perModel} sequential: ` +
        `own time p50 ${percentile(own, 50).toFixed(2)} ms, p99 ${percentile(own, 99).toFixed(2)} ms; ` +
        `whole request p50 ${percentile(total, 50).toFixed(2)} ms, p99 ${percentile(total, 99).toFixed(2)} ms`,
    );
  }

  const parallel = await tokens(subscription, perModel);
  const started = process.hrtime.bigint();
  let next = 0;
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (next < parallel.length) await register(parallel[next++]!);
    }),
  );
  const seconds = ms(process.hrtime.bigint() - started) / 1000;
  console.log(
    `registration subscription, ${perModel} with ${inFlight} in flight: ${(perModel / seconds).toFixed(0)} registrations/s (simulator in the same process)`,
  );

  await new Promise<void>((r) => server.close(() => r()));
  aws.destroy();
  await sim.stop();
  await store.close();
  rmSync(dir, { recursive: true, force: true });
}

if (require.main === module) {
  const [perModel, inFlight] = process.argv.slice(2);
  benchRegistration(Number(perModel ?? 500), Number(inFlight ?? 8)).catch((e: unknown) => {
    console.error(e);
    process.exit(1);
  });
}
