import type { Express } from 'express';
import { createAwsClients, type AwsClients } from '../../src/aws/clients';
import { loadConfig, type Config } from '../../src/config';
import { createContainer, type Container } from '../../src/container';
import { ManualClock, systemClock, type Clock } from '../../src/platform/clock';
import type { Logger } from '../../src/platform/logger';
import type { ProductConfig } from '../../src/products/product-config';
import type { SpecViolation } from '../../routes/support/response-conformance';
import { startSimulator, type Simulator, type SimulatorOptions } from '../../src/simulator';
import { captureLogger } from './log-capture';
import { openTestStore, type Dialect, type TestStore } from './stores';

export const TEST_API_KEY = 'test-api-key-0123456789abcdef';

export const legacySubscription: ProductConfig = {
  code: 'legacy-sub-product',
  name: 'Legacy Subscription SaaS',
  pricingModel: 'subscription',
  meteringApi: 'batch',
  identity: 'customer-identifier',
  dimensions: [{ name: 'api_calls', description: 'API calls', aggregation: 'sum', heartbeat: true, metered: true }],
};

export const licenseContract: ProductConfig = {
  code: 'license-contract-product',
  name: 'Contract SaaS',
  pricingModel: 'contract-with-consumption',
  meteringApi: 'batch',
  identity: 'license',
  dimensions: [
    { name: 'seats', description: 'Seats', aggregation: 'overage', heartbeat: true, metered: true },
    { name: 'sso', description: 'Single sign-on', aggregation: 'sum', heartbeat: false, metered: false },
  ],
};

export interface Harness {
  readonly app: Express;
  readonly sim: Simulator;
  readonly config: Config;
  readonly container: Container;
  readonly db: TestStore;
  readonly aws: AwsClients;
  readonly logs: () => string;
  readonly logger: Logger;
  readonly clock: Clock;
  /** Responses so far whose status or media type openapi.yaml does not declare; `close()` fails on any. */
  readonly specViolations: readonly SpecViolation[];
  close(): Promise<void>;
}

export interface HarnessOptions {
  readonly dialect?: Dialect;
  readonly products?: ProductConfig[];
  readonly env?: Record<string, string>;
  readonly simulator?: SimulatorOptions;
  readonly clock?: ManualClock;
}

/**
 * The service as `main.ts` wires it, against a fresh database and an in-process simulator
 * reached over HTTP by the real SDK clients. Every response is checked against openapi.yaml.
 */
export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  const products = options.products ?? [legacySubscription, licenseContract];
  const sim = await startSimulator({ ...options.simulator });
  for (const p of products) {
    sim.createProduct({ productCode: p.code, pricingModel: p.pricingModel, identity: p.identity, dimensions: p.dimensions.map((d) => ({ name: d.name })) });
  }
  const config = loadConfig({
    MARKETPLACE_MODE: 'aws',
    SESSION_SECRET: 'test-session-secret-0123456789abcdef',
    SUPPORT_EMAIL: 'help@seller.example',
    LOGIN_URL: 'https://app.seller.example/login',
    SELLER_NAME: 'Seller Co',
    API_KEYS: `tests=${TEST_API_KEY}`,
    MARKETPLACE_PRODUCTS: JSON.stringify(products),
    ...options.env,
  });
  const db = await openTestStore(options.dialect ?? 'sqlite');
  const aws = createAwsClients({
    region: 'us-east-1',
    endpoints: { metering: sim.url, entitlement: sim.url, sqs: sim.url },
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
  const { logger, text } = captureLogger();
  const clock = options.clock ?? systemClock;
  const specViolations: SpecViolation[] = [];
  const container = createContainer({ config, store: db.store, aws, clock, logger, validateResponses: true, specViolations, trustSimulatorSns: true });
  return {
    app: container.app,
    sim,
    config,
    container,
    db,
    aws,
    logs: text,
    logger,
    clock,
    specViolations,
    async close() {
      aws.destroy();
      await sim.stop();
      await db.dispose();
      // Every response the suite provoked must be one openapi.yaml declares (errors and pages too).
      if (specViolations.length > 0) {
        throw new Error(`responses not declared in openapi.yaml:\n${specViolations.map((v) => `  ${v.method} ${v.path} → ${v.status} ${v.contentType ?? ''}: ${v.problem}`).join('\n')}`);
      }
    },
  };
}
