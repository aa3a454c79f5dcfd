import type { MeteringEmitter } from '../src/metering/emitter';
import type { Clock } from '../src/platform/clock';
import type { Logger } from '../src/platform/logger';

/** A running schedule; `stop()` waits for the pass in flight. */
export interface MeteringTick {
  stop(): Promise<void>;
}

/**
 * The hourly metering tick (design §1: `hourly tick → handlers/metering-tick → emitter`). Starts the
 * emitter (start-up reconciliation and the MeterUsage DryRun: a rejection must stop the process,
 * facts §1.7), runs a pass at once (catch-up from the durable last completed hour), then sleeps
 * until the earliest of: the next hourly minute, the next due retry, the poll interval. A plain
 * timer rather than cron: the wake-up time depends on the data (backoff), and a missed tick is
 * harmless because every pass catches up.
 */
export async function startMeteringTick(deps: { emitter: MeteringEmitter; clock: Clock; logger: Logger }): Promise<MeteringTick> {
  const { emitter, clock, logger } = deps;
  await emitter.start();
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let current: Promise<void> = Promise.resolve();

  const schedule = async () => {
    if (stopped) return;
    const now = clock.now();
    let wake: Date;
    try {
      wake = await emitter.nextWakeAt(now);
    } catch (error) {
      logger.error({ err: error }, 'metering schedule: cannot read the next due time');
      wake = new Date(now.getTime() + emitter.settings.pollMs);
    }
    if (stopped) return;
    timer = setTimeout(run, Math.max(50, wake.getTime() - clock.now().getTime()));
  };
  const run = () => {
    current = emitter
      .runOnce()
      .then((summary) => {
        if (summary.send.calls > 0 || summary.sealed > 0) logger.info({ event: 'metering.pass', ...summary }, 'metering pass');
      })
      .catch((error: unknown) => logger.error({ err: error }, 'metering pass failed; the next pass retries'))
      .then(schedule);
  };
  run();
  return {
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await emitter.stop();
      await current;
    },
  };
}
