/**
 * `npm run simulator`: the simulator on its own, with a demo product of each identity style.
 * Environment (read here only, design §1): SIMULATOR_PORT (default 4599), SIMULATOR_HOST
 * (default 127.0.0.1), SIMULATOR_REGISTRATION_URL (default http://127.0.0.1:3000/marketplace/register).
 */
import { startSimulator } from './index';

async function main(): Promise<void> {
  const port = Number(process.env.SIMULATOR_PORT ?? 4599);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`SIMULATOR_PORT must be a port number, got ${process.env.SIMULATOR_PORT}`);
  const sim = await startSimulator({
    port,
    host: process.env.SIMULATOR_HOST ?? '127.0.0.1',
    ...(process.env.SIMULATOR_REGISTRATION_URL ? { registrationUrl: process.env.SIMULATOR_REGISTRATION_URL } : {}),
    logger: (line) => console.log(`[simulator] ${line}`),
  });
  const legacy = sim.createProduct({ productCode: 'demo-saas-legacy', pricingModel: 'subscription', identity: 'customer-identifier', dimensions: [{ name: 'users' }, { name: 'api_calls' }] });
  const modern = sim.createProduct({ productCode: 'demo-saas-contract', pricingModel: 'contract-with-consumption', identity: 'license', dimensions: [{ name: 'seats' }, { name: 'api_calls' }] });
  console.log(`AWS Marketplace simulator: ${sim.url}`);
  console.log(`  control page:   ${sim.url}/simulator`);
  console.log(`  products:       ${legacy.productCode} (customer-identifier, SNS), ${modern.productCode} (license, EventBridge)`);
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

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
