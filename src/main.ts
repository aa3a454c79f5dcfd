import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startBackgroundWork, type Stoppable } from '../handlers/background-work';
import { createAwsClients } from './aws/clients';
import { ConfigError, loadConfig, type Config } from './config';
import { clocksForMode, meterOnAdvance } from './console/demo-clock';
import { createContainer } from './container';
import { listenHttp } from './platform/http-server';
import { createLogger, type Logger } from './platform/logger';
import { openStore } from './store/database';

/**
 * Composition root: config → logger → store (migrated) → AWS clients (or the embedded
 * simulator) → services → HTTP. SIGTERM (or SIGINT) stops taking requests and messages, lets the
 * calls in flight finish, then closes the rest, within `SHUTDOWN_TIMEOUT_SECONDS`; a second signal
 * exits at once.
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
  const logger = createLogger({ level: config.logLevel, pretty: process.stdout.isTTY === true });
  // aws mode: the system clock. Simulator mode: one demo clock shared with the simulator ("Advance one hour").
  const clocks = clocksForMode(config.mode);
  for (const notice of config.notices) logger.warn(notice);
  const stoppables: Stoppable[] = [];

  const store = openStore(
    config.database.kind === 'sqlite' ? { kind: 'sqlite', path: config.database.path } : { kind: 'postgres', url: config.database.url },
  );
  stoppables.push({ name: 'store', stop: () => store.close() });
  const { applied } = await store.migrate();
  logger.info({ dialect: store.dialect, applied }, 'store ready');

  let endpoints = config.aws.endpoints;
  let queues = config.notifications.queues;
  let credentials: { accessKeyId: string; secretAccessKey: string } | undefined;
  let simulatorOrigin: string | undefined;
  let simulatorPageUrl: string | undefined;
  let onAdvance: ((emitter: { runOnce(): Promise<unknown> }) => void) | undefined;
  if (config.mode === 'simulator') {
    // Only the composition root may load the simulator (design §1).
    const { startSimulator } = await import('./simulator');
    const simulator = await startSimulator({
      port: config.simulator.port,
      registrationUrl: `${config.http.publicUrl}${config.registration.path}`,
      logger: (line: string) => logger.debug({ component: 'simulator' }, line),
      ...(clocks.shared ? { clock: clocks.shared } : {}),
    });
    onAdvance = (emitter) => void meterOnAdvance(simulator, emitter, logger);
    for (const product of config.products) {
      simulator.createProduct({
        productCode: product.code,
        pricingModel: product.pricingModel,
        identity: product.identity,
        dimensions: product.dimensions.map((d) => ({ name: d.name })),
      });
    }
    stoppables.unshift({ name: 'simulator', stop: () => simulator.stop() });
    endpoints = { metering: simulator.url, entitlement: simulator.url, sqs: simulator.url, agreement: simulator.url };
    if (queues.length === 0) {
      queues = (['subscription', 'entitlement', 'eventbridge'] as const).map((name) => ({
        name,
        url: simulator.queueUrl(`marketplace-${name}`),
      }));
    }
    credentials = { accessKeyId: 'simulator', secretAccessKey: 'simulator' };
    simulatorOrigin = new URL(simulator.url).origin;
    simulatorPageUrl = `${simulator.url}/simulator`;
    logger.info(
      { simulator: `${simulator.url}/simulator` },
      `local AWS Marketplace simulator: open ${simulator.url}/simulator to subscribe as a buyer`,
    );
  }

  const aws = createAwsClients({ region: config.aws.region, entitlementRegion: config.aws.entitlementRegion, endpoints, credentials });
  stoppables.push({ name: 'aws clients', stop: async () => aws.destroy() });
  const container = createContainer({
    config,
    store,
    aws,
    clock: clocks.service,
    logger,
    queues,
    simulatorOrigin,
    ...(simulatorPageUrl ? { simulatorPageUrl } : {}),
  });
  // A MeterUsage DryRun refused by AWS rejects here and stops the process (facts §1.7).
  const background = await startBackgroundWork({ container, config, clock: clocks.service, logger });
  if (config.metering.enabled) onAdvance?.(container.emitter);
  if (queues.length === 0)
    logger.warn(
      'no notification queue configured: subscription changes are not received (set SUBSCRIPTION_QUEUE_URL, ENTITLEMENT_QUEUE_URL or EVENTBRIDGE_QUEUE_URL)',
    );

  const server: Server = await listenHttp(container.app, config.http.host, config.http.port, config.http);
  logger.info(
    {
      url: config.http.publicUrl,
      port: (server.address() as AddressInfo).port,
      mode: config.mode,
      registrationUrl: `${config.http.publicUrl}${config.registration.path}`,
    },
    `marketplace-bridge listening: open ${config.http.publicUrl}/ to start`,
  );

  let drained: Promise<void> = Promise.resolve();
  installShutdown(
    [
      // New connections are refused at once; requests under way finish while the rest stops.
      { name: 'http: stop accepting', stop: async () => void (drained = closeServer(server)) },
      // Consumers stop polling, then the metering tick finishes the calls in flight.
      ...background,
      { name: 'http: requests in flight', stop: () => drained },
      ...stoppables,
    ],
    logger,
    config.shutdownTimeoutMs,
  );
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeIdleConnections();
  });
}

function installShutdown(parts: readonly Stoppable[], logger: Logger, deadlineMs: number): void {
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) {
      logger.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    stopping = true;
    logger.info({ signal, deadlineMs }, 'stopping');
    const timer = setTimeout(() => {
      logger.error('graceful stop took too long; exiting');
      process.exit(1);
    }, deadlineMs);
    timer.unref();
    for (const part of parts) {
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
