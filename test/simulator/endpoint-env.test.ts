import { MarketplaceEntitlementServiceClient, GetEntitlementsCommand } from '@aws-sdk/client-marketplace-entitlement-service';
import { MarketplaceMeteringClient, ResolveCustomerCommand } from '@aws-sdk/client-marketplace-metering';
import { GetQueueUrlCommand, SQSClient } from '@aws-sdk/client-sqs';
import { startSimulator, type Simulator } from '../../src/simulator';

/** Facts §7: the SDK reads AWS_ENDPOINT_URL_<SERVICE> by itself; no endpoint in code. */
describe('SDK endpoint environment variables', () => {
  let sim: Simulator;
  const saved: Record<string, string | undefined> = {};
  const vars = [
    'AWS_ENDPOINT_URL_MARKETPLACE_METERING',
    'AWS_ENDPOINT_URL_MARKETPLACE_ENTITLEMENT_SERVICE',
    'AWS_ENDPOINT_URL_SQS',
    'AWS_ENDPOINT_URL',
  ];

  beforeAll(async () => {
    sim = await startSimulator();
    sim.createProduct({
      productCode: 'env-product',
      pricingModel: 'subscription',
      identity: 'customer-identifier',
      dimensions: [{ name: 'users' }],
    });
    for (const v of vars) saved[v] = process.env[v];
  });
  afterAll(async () => {
    for (const v of vars) {
      if (saved[v] === undefined) delete process.env[v];
      else process.env[v] = saved[v];
    }
    await sim.stop();
  });

  it('reaches the simulator through AWS_ENDPOINT_URL_MARKETPLACE_METERING, _ENTITLEMENT_SERVICE and _SQS', async () => {
    process.env.AWS_ENDPOINT_URL_MARKETPLACE_METERING = sim.url;
    process.env.AWS_ENDPOINT_URL_MARKETPLACE_ENTITLEMENT_SERVICE = sim.url;
    process.env.AWS_ENDPOINT_URL_SQS = sim.url;
    const s = await sim.subscribe({ productCode: 'env-product', confirmation: 'manual' });
    const metering = new MarketplaceMeteringClient({ region: 'us-east-1', maxAttempts: 1 });
    const entitlement = new MarketplaceEntitlementServiceClient({ region: 'us-east-1', maxAttempts: 1 });
    const sqs = new SQSClient({ region: 'us-east-1', maxAttempts: 1 });
    try {
      expect((await metering.send(new ResolveCustomerCommand({ RegistrationToken: s.registrationToken }))).CustomerIdentifier).toBe(
        s.customerIdentifier,
      );
      expect((await entitlement.send(new GetEntitlementsCommand({ ProductCode: 'env-product' }))).Entitlements).toEqual([]);
      expect((await sqs.send(new GetQueueUrlCommand({ QueueName: 'marketplace-subscription' }))).QueueUrl).toBe(
        sim.queueUrl('marketplace-subscription'),
      );
    } finally {
      metering.destroy();
      entitlement.destroy();
      sqs.destroy();
    }
  });

  it('reaches the simulator through the global AWS_ENDPOINT_URL', async () => {
    for (const v of vars) delete process.env[v];
    process.env.AWS_ENDPOINT_URL = sim.url;
    const sqs = new SQSClient({ region: 'us-east-1', maxAttempts: 1 });
    try {
      expect((await sqs.send(new GetQueueUrlCommand({ QueueName: 'marketplace-entitlement' }))).QueueUrl).toBe(
        sim.queueUrl('marketplace-entitlement'),
      );
    } finally {
      sqs.destroy();
    }
  });
});
