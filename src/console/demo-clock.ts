import { systemClock, type Clock } from '../platform/clock';
import type { Logger } from '../platform/logger';

/** The clock shape the local simulator shares with its embedding process (`SimulatorOptions.clock`). */
export interface SharedClock {
  now(): number;
  advance(ms: number): void;
}

/** The service's clock and, in simulator mode, the demo clock the simulator moves. */
export interface ModeClocks {
  readonly service: Clock;
  /** Simulator mode only: give it to the simulator, which alone advances it. */
  readonly shared?: SharedClock;
}

/**
 * In aws mode the service runs on the system clock and nothing can move it. In simulator mode the
 * service and the simulator read one demo clock (real time plus an offset), so that "Advance one
 * hour" on the simulator page moves both: the metering windows, hour keys and token expiry agree.
 */
export function clocksForMode(mode: 'aws' | 'simulator', base: () => number = () => systemClock.now().getTime()): ModeClocks {
  if (mode === 'aws') return { service: systemClock };
  let offset = 0;
  const shared: SharedClock = {
    now: () => base() + offset,
    advance: (ms) => {
      if (!Number.isFinite(ms) || ms <= 0) throw new RangeError(`the demo clock only moves forward, got ${String(ms)}`);
      offset += ms;
    },
  };
  return { service: { now: () => new Date(shared.now()) }, shared };
}

/**
 * After each advance of the demo clock, runs the metering emitter at once, exactly as the hourly
 * tick would at that time: hours that have ended are sealed and sent. The first pass may be one that
 * started before the advance, so a second one follows it. Returns the unsubscribe function.
 */
export function meterOnAdvance(
  clock: { onClockAdvanced(listener: (advance: { advancedMs: number; now: number }) => void): () => void },
  emitter: { runOnce(): Promise<unknown> },
  logger: Logger,
): () => void {
  return clock.onClockAdvanced(({ advancedMs, now }) => {
    logger.info({ advancedMs, now: new Date(now).toISOString() }, 'demo clock advanced: running the metering emitter');
    emitter
      .runOnce()
      .then(() => emitter.runOnce())
      .catch((error: unknown) => logger.error({ err: error }, 'metering pass after a clock advance failed; the next pass retries'));
  });
}
