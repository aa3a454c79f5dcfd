import { generateKeyPairSync } from 'node:crypto';
import type { Express } from 'express';
import { createAwsClients, type AwsClients } from '../../src/aws/clients';
import { loadConfig, type Config } from '../../src/config';
import { createContainer, type Container } from '../../src/container';
import { type ManualClock, systemClock, type Clock } from '../../src/platform/clock';
import { ALL_SCOPES } from '../../src/platform/api-keys';
import type { BoundedGet } from '../../src/platform/bounded-fetch.gateway';
import type { WebhookTransport } from '../../src/webhooks/webhook-transport.gateway';
import type { Logger } from '../../src/platform/logger';
import type { ProductConfig } from '../../src/products/product-config';
import type { SpecViolation } from '../../routes/support/response-conformance';
import { startSimulator, type Simulator, type SimulatorOptions } from '../../src/simulator';
import { NotificationQueueConsumer } from '../../handlers/queue-notification.consumer';
import { captureLogger } from './log-capture';
import { openTestStore, type Dialect, type TestStore } from './stores';

export const TEST_API_KEY = 'test-api-key-0123456789abcdef';

/** The sign-in hand-off signing key of every harness (aws mode requires one with LOGIN_URL). */
export const TEST_HANDOFF_KEY = generateKeyPairSync('ec', { namedCurve: 'prime256v1' })
  .privateKey.export({ type: 'pkcs8', format: 'pem' })
  .toString();

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
  readonly env?: Record<string, string | undefined>;
  readonly simulator?: SimulatorOptions;
  readonly clock?: ManualClock;
  /** Outbound GET for SNS certificates and SubscribeURLs (default: the real bounded fetch). */
  readonly outboundGet?: BoundedGet;
  /** Outbound webhook POSTs (default: the real transport with the mode's address policy). */
  readonly webhookTransport?: WebhookTransport;
}

/**
 * The service as `main.ts` wires it, against a fresh database and an in-process simulator
 * reached over HTTP by the real SDK clients. Every response is checked against openapi.yaml.
 */
export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  const products = options.products ?? [legacySubscription, licenseContract];
  const sim = await startSimulator({ ...options.simulator });
  for (const p of products) {
    sim.createProduct({
      productCode: p.code,
      pricingModel: p.pricingModel,
      identity: p.identity,
      dimensions: p.dimensions.map((d) => ({ name: d.name })),
    });
  }
  const config = loadConfig({
    MARKETPLACE_MODE: 'aws',
    SESSION_SECRET: 'test-session-secret-0123456789abcdef',
    SUPPORT_EMAIL: 'help@seller.example',
    LOGIN_URL: 'https://app.seller.example/login',
    HANDOFF_SIGNING_KEY: TEST_HANDOFF_KEY,
    SELLER_NAME: 'Seller Co',
    API_KEYS: `tests(${ALL_SCOPES.join(' ')})=${TEST_API_KEY}`,
    // The simulator's queues: aws mode is not ready without a notification source.
    SUBSCRIPTION_QUEUE_URL: sim.queueUrl('marketplace-subscription'),
    ENTITLEMENT_QUEUE_URL: sim.queueUrl('marketplace-entitlement'),
    EVENTBRIDGE_QUEUE_URL: sim.queueUrl('marketplace-eventbridge'),
    MARKETPLACE_PRODUCTS: JSON.stringify(products),
    ...options.env,
  });
  const db = await openTestStore(options.dialect ?? 'sqlite');
  const aws = createAwsClients({
    region: 'us-east-1',
    endpoints: { metering: sim.url, entitlement: sim.url, sqs: sim.url, agreement: sim.url },
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
  const { logger, text } = captureLogger();
  const clock = options.clock ?? systemClock;
  const specViolations: SpecViolation[] = [];
  const container = createContainer({
    config,
    store: db.store,
    aws,
    clock,
    logger,
    validateResponses: true,
    specViolations,
    simulatorOrigin: new URL(sim.url).origin,
    ...(options.outboundGet ? { outboundGet: options.outboundGet } : {}),
    ...(options.webhookTransport ? { webhookTransport: options.webhookTransport } : {}),
  });
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
        throw new Error(
          `responses not declared in openapi.yaml:\n${specViolations.map((v) => `  ${v.method} ${v.path} → ${v.status} ${v.contentType ?? ''}: ${v.problem}`).join('\n')}`,
        );
      }
    },
  };
}

/**
 * The real queue consumer on one of the simulator's notification queues, feeding the harness's
 * event processor, polling with a 1 s wait so a test's `stop()` is quick. Started.
 */
export function startQueueConsumer(h: Harness, queue: string, name = queue.replace(/^marketplace-/, '')): NotificationQueueConsumer {
  const consumer = new NotificationQueueConsumer({
    name,
    queueUrl: h.sim.queueUrl(queue),
    sqs: h.aws.sqs,
    processor: h.container.eventProcessor,
    logger: h.logger,
    waitTimeSeconds: 1,
  });
  consumer.start();
  return consumer;
}
