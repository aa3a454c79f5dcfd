import type { Server } from 'node:http';
import { startBackgroundWork, type Stoppable } from '../handlers/background-work';
import { createAwsClients } from './aws/clients';
import { ConfigError, loadConfig, type Config } from './config';
import { createContainer } from './container';
import { systemClock } from './platform/clock';
import { createLogger, type Logger } from './platform/logger';
import { openStore } from './store/database';

/** How long a graceful stop may take before the process exits anyway. */
const SHUTDOWN_DEADLINE_MS = 15_000;

/**
 * Composition root: config → logger → store (migrated) → AWS clients (or the embedded
 * simulator) → services → HTTP. SIGTERM stops HTTP, then the rest, within a deadline.
 */
async function main(): Promise<void> {
  let config: Config;
  try {
    config = loadConfig(process.env);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`marketplace-bridge cannot start.\n${error.message}\n`);
      process.exit(78); // EX_CONFIG
    }
    throw error;
  }
  const logger = createLogger({ level: config.logLevel });
  for (const notice of config.notices) logger.warn(notice);
  const stoppables: Stoppable[] = [];

  const store = openStore(config.database.kind === 'sqlite' ? { kind: 'sqlite', path: config.database.path } : { kind: 'postgres', url: config.database.url });
  stoppables.push({ name: 'store', stop: () => store.close() });
  const { applied } = await store.migrate();
  logger.info({ dialect: store.dialect, applied }, 'store ready');

  let endpoints = config.aws.endpoints;
  let queues = config.notifications.queues;
  let credentials: { accessKeyId: string; secretAccessKey: string } | undefined;
  if (config.mode === 'simulator') {
    // Only the composition root may load the simulator (design §1).
    const { startSimulator } = await import('./simulator');
    const simulator = await startSimulator({
      port: config.simulator.port,
      registrationUrl: `${config.http.publicUrl}${config.registration.path}`,
      logger: (line: string) => logger.debug({ component: 'simulator' }, line),
    });
    for (const product of config.products) {
      simulator.createProduct({
        productCode: product.code,
        pricingModel: product.pricingModel,
        identity: product.identity,
        dimensions: product.dimensions.map((d) => ({ name: d.name })),
      });
    }
    stoppables.unshift({ name: 'simulator', stop: () => simulator.stop() });
    endpoints = { metering: simulator.url, entitlement: simulator.url, sqs: simulator.url };
    if (queues.length === 0) {
      queues = (['subscription', 'entitlement', 'eventbridge'] as const).map((name) => ({ name, url: simulator.queueUrl(`marketplace-${name}`) }));
    }
    credentials = { accessKeyId: 'simulator', secretAccessKey: 'simulator' };
    logger.info({ simulator: `${simulator.url}/simulator` }, `local AWS Marketplace simulator: open ${simulator.url}/simulator to subscribe as a buyer`);
  }

  const aws = createAwsClients({ region: config.aws.region, entitlementRegion: config.aws.entitlementRegion, endpoints, credentials });
  stoppables.push({ name: 'aws clients', stop: async () => aws.destroy() });
  const container = createContainer({ config, store, aws, clock: systemClock, logger, queues, trustSimulatorSns: config.mode === 'simulator' });
  // A MeterUsage DryRun refused by AWS rejects here and stops the process (facts §1.7).
  stoppables.unshift(...(await startBackgroundWork({ container, config, clock: systemClock, logger })));
  if (queues.length === 0) logger.warn('no notification queue configured: subscription changes are not received (set SUBSCRIPTION_QUEUE_URL, ENTITLEMENT_QUEUE_URL or EVENTBRIDGE_QUEUE_URL)');

  const server: Server = container.app.listen(config.http.port, config.http.host);
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  stoppables.unshift({ name: 'http', stop: () => closeServer(server) });
  logger.info({ url: config.http.publicUrl, mode: config.mode, registrationUrl: `${config.http.publicUrl}${config.registration.path}` }, 'marketplace-bridge listening');

  installShutdown(stoppables, logger);
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeIdleConnections();
  });
}

function installShutdown(stoppables: Stoppable[], logger: Logger): void {
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping');
    const timer = setTimeout(() => {
      logger.error('graceful stop took too long; exiting');
      process.exit(1);
    }, SHUTDOWN_DEADLINE_MS);
    timer.unref();
    for (const part of stoppables) {
      try {
        await part.stop();
      } catch (error) {
        logger.error({ err: error, part: part.name }, 'error while stopping');
      }
    }
    logger.info('stopped');
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

main().catch((error: unknown) => {
  process.stderr.write(`marketplace-bridge failed to start: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
