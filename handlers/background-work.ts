import { startMeteringTick } from './metering-tick';
import type { Config } from '../src/config';
import type { Container } from '../src/container';
import type { Clock } from '../src/platform/clock';
import type { Logger } from '../src/platform/logger';

/** A long-lived part that `main.ts` stops on SIGTERM, in the order returned. */
export interface Stoppable {
  readonly name: string;
  stop(): Promise<void>;
}

/**
 * Starts everything that works without a request: the webhook endpoints of the configuration (synced
 * into the store) and, when `WEBHOOKS_ENABLED`, their dispatcher; the notification consumers, the entitlement
 * reconciliation and, when `METERING_ENABLED`, the hourly metering tick (with its start-up
 * reconciliation and the MeterUsage DryRun, which rejects when AWS refuses the product: the
 * caller must then stop the process, facts §1.7). The final-metering window is wired from the
 * domain events to the emitter here, so the flush follows the notification within the hour.
 *
 * Returns the parts in the order they must stop: the consumers first (no new message is taken;
 * those in flight commit or are redelivered), then the tick (it finishes the calls in flight),
 * then reconciliation.
 */
export async function startBackgroundWork(deps: {
  container: Container;
  config: Config;
  clock: Clock;
  logger: Logger;
}): Promise<Stoppable[]> {
  const { container, config, clock, logger } = deps;
  const stoppables: Stoppable[] = [];
  try {
    if (config.metering.enabled) {
      const unsubscribe = container.bus.subscribe((event) => {
        if (event.type === 'final-window-opened') container.emitter.onFinalWindowOpened(event.customerId);
      });
      const tick = await startMeteringTick({ emitter: container.emitter, clock, logger });
      stoppables.unshift({
        name: 'metering tick',
        stop: async () => {
          unsubscribe();
          await tick.stop();
        },
      });
    } else {
      logger.warn(
        'METERING_ENABLED=false: this instance records usage but sends no metering records; another instance must run the emitter',
      );
    }
    // Configured endpoints first, so that no event appended from now on misses one.
    await container.webhookEndpoints.syncConfigured(config.webhooks.endpoints, clock.now());
    if (config.webhooks.enabled) {
      container.webhookDispatcher.start();
      stoppables.unshift({ name: 'webhook dispatcher', stop: () => container.webhookDispatcher.stop() });
    } else {
      logger.warn('WEBHOOKS_ENABLED=false: this instance sends no webhooks; another instance must run the dispatcher');
    }
    for (const consumer of container.consumers) {
      consumer.start();
      stoppables.unshift({ name: 'queue consumer', stop: () => consumer.stop() });
    }
    container.reconciler.start();
    stoppables.push({ name: 'entitlement reconciliation', stop: () => container.reconciler.stop() });
    container.contractEndWatch.start();
    stoppables.push({ name: 'contract-ending-soon alerts', stop: () => container.contractEndWatch.stop() });
  } catch (error) {
    for (const part of stoppables) await part.stop().catch(() => undefined);
    throw error;
  }
  return stoppables;
}
