/**
 * `npm run simulator`: the simulator on its own, with the demo products of `src/demo-products.json`
 * (the same file the service's `demoProducts` come from, so `npm start` and `npm run simulator` show
 * the same products). It is read as data, never imported as code, so the simulator still depends on
 * nothing else in the project (design §1).
 * Environment (read here only, design §1): SIMULATOR_PORT (default 4599), SIMULATOR_HOST
 * (default 127.0.0.1), SIMULATOR_REGISTRATION_URL (default http://127.0.0.1:3000/marketplace/register).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startSimulator } from './index';
import type { CreateProductInput, PricingModel } from './types';

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
