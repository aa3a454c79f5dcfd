/**
 * `npm run simulator`: the simulator on its own, with the demo products of `src/demo-products.json`
 * (the same file the service's `demoProducts` come from, so `npm start` and `npm run simulator` show
 * the same products). It is read as data, never imported as code, so the simulator still depends on
 * nothing else in the project (design §1).
 * Environment (read here only, design §1): SIMULATOR_PORT (default 4599), SIMULATOR_HOST
 * (default 127.0.0.1), SIMULATOR_REGISTRATION_URL (default http://127.0.0.1:3000/marketplace/register),
 * SIMULATOR_QUOTAS (calls per second per operation, e.g. `batchMeterUsage=100,getEntitlements=0`;
 * 0 turns a quota off; default AWS's), SIMULATOR_CLOCK_OFFSET_MS (the simulator clock's start
 * offset from real time, e.g. -7200000 to subscribe buyers two hours in the past and then advance
 * it with `POST /simulator/api/clock/advance`; default 0).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startSimulator } from './index';
import type { CreateProductInput, PricingModel, SimulatorOptions } from './types';

const QUOTA_NAMES = ['batchMeterUsage', 'meterUsage', 'registerUsage', 'getEntitlements'] as const;
type QuotaName = (typeof QUOTA_NAMES)[number];

/**
 * The simulator options the environment sets beyond port and host (SIMULATOR_QUOTAS,
 * SIMULATOR_CLOCK_OFFSET_MS), refusing anything malformed.
 */
export function optionsFromEnv(env: Readonly<Record<string, string | undefined>>): Pick<SimulatorOptions, 'quotas' | 'now'> {
  const options: { quotas?: Partial<Record<QuotaName, number>>; now?: () => number } = {};
  const quotas = env.SIMULATOR_QUOTAS?.trim();
  if (quotas) {
    options.quotas = {};
    for (const entry of quotas.split(',')) {
      const [name, value, extra] = entry.split('=').map((p) => p.trim());
      if (!QUOTA_NAMES.includes(name as QuotaName) || value === undefined || extra !== undefined || !/^\d+$/.test(value))
        throw new Error(`SIMULATOR_QUOTAS: "${entry}" is not <${QUOTA_NAMES.join('|')}>=<calls per second>`);
      options.quotas[name as QuotaName] = Number(value);
    }
  }
  const offset = env.SIMULATOR_CLOCK_OFFSET_MS?.trim();
  if (offset) {
    if (!/^-?\d+$/.test(offset)) throw new Error(`SIMULATOR_CLOCK_OFFSET_MS must be a whole number of milliseconds, got ${offset}`);
    const ms = Number(offset);
    options.now = () => Date.now() + ms;
  }
  return options;
}

/** Maps the demo catalogue (the service's product format) to simulator products, refusing anything malformed. */
export function demoCatalogue(text: string): CreateProductInput[] {
  const parsed = JSON.parse(text) as unknown;
  if (!Array.isArray(parsed)) throw new Error('demo-products.json must be a list of products');
  return parsed.map((raw: unknown, i) => {
    const p = raw as { code?: unknown; pricingModel?: unknown; identity?: unknown; dimensions?: unknown };
    const where = `demo-products.json[${i}]`;
    if (typeof p?.code !== 'string') throw new Error(`${where}.code must be a string`);
    if (typeof p.pricingModel !== 'string' || !['subscription', 'contract', 'contract-with-consumption'].includes(p.pricingModel))
      throw new Error(`${where}.pricingModel is not a pricing model`);
    if (p.identity !== undefined && p.identity !== 'license' && p.identity !== 'customer-identifier')
      throw new Error(`${where}.identity is not an identity`);
    if (!Array.isArray(p.dimensions)) throw new Error(`${where}.dimensions must be a list`);
    const dimensions = (p.dimensions as unknown[]).map((d, j) => {
      const name = (d as { name?: unknown })?.name;
      if (typeof name !== 'string') throw new Error(`${where}.dimensions[${j}].name must be a string`);
      return { name };
    });
    return {
      productCode: p.code,
      pricingModel: p.pricingModel as PricingModel,
      identity: p.identity ?? 'license',
      dimensions,
    };
  });
}

async function main(): Promise<void> {
  const port = Number(process.env.SIMULATOR_PORT ?? 4599);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new Error(`SIMULATOR_PORT must be a port number, got ${process.env.SIMULATOR_PORT}`);
  const catalogue = demoCatalogue(readFileSync(join(__dirname, '..', 'demo-products.json'), 'utf8'));
  const sim = await startSimulator({
    ...optionsFromEnv(process.env),
    port,
    host: process.env.SIMULATOR_HOST ?? '127.0.0.1',
    ...(process.env.SIMULATOR_REGISTRATION_URL ? { registrationUrl: process.env.SIMULATOR_REGISTRATION_URL } : {}),
    logger: (line) => console.log(`[simulator] ${line}`),
  });
  const products = catalogue.map((input) => sim.createProduct(input));
  console.log(`AWS Marketplace simulator: ${sim.url}`);
  console.log(`  control page:   ${sim.url}/simulator`);
  console.log(`  products:       ${products.map((p) => `${p.productCode} (${p.identity}, ${p.notifications})`).join(', ')}`);
  for (const name of ['marketplace-subscription', 'marketplace-entitlement', 'marketplace-eventbridge']) {
    console.log(`  queue ${name}: ${sim.queueUrl(name)} (DLQ ${sim.queueUrl(`${name}-dlq`)})`);
  }
  console.log(`  SDK: endpoint ${sim.url}, region us-east-1, any credentials (or AWS_ENDPOINT_URL=${sim.url})`);
  const shutdown = () => {
    void sim.stop().then(() => process.exit(0));
  };
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
}

if (require.main === module) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
