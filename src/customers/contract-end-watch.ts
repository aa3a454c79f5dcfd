import type { Clock } from '../platform/clock';
import type { Logger } from '../platform/logger';
import { lookAheadMs } from './contract-end';
import type { ContractEndRepository } from './contract-end.repository';

/** How often the watch looks (the thresholds are days: an hour is early enough). */
export const CONTRACT_END_WATCH_INTERVAL_MS = 60 * 60_000;
const PAGE = 500;

/**
 * The periodic job behind `customer.contract_ending_soon`: each pass announces, once per threshold
 * per agreement, the contracts whose end time (from the Agreement API) is within a threshold and
 * that do not renew by themselves. Safe on several instances (the store decides who announces).
 */
export class ContractEndWatch {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> | undefined;
  private stopped = false;

  constructor(
    private readonly deps: { contracts: ContractEndRepository; clock: Clock; logger: Logger },
    private readonly thresholdsDays: readonly number[],
    private readonly intervalMs = CONTRACT_END_WATCH_INTERVAL_MS,
  ) {}

  start(): void {
    if (this.thresholdsDays.length === 0) return;
    const loop = () => {
      if (this.stopped) return;
      this.running = this.runOnce()
        .catch((error: unknown) => this.deps.logger.error({ err: error }, 'contract-ending-soon pass failed'))
        .finally(() => {
          if (!this.stopped) this.timer = setTimeout(loop, this.intervalMs);
        });
    };
    this.timer = setTimeout(loop, Math.min(this.intervalMs, 30_000));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
  }

  /** One pass; returns how many alerts were sent. */
  async runOnce(): Promise<number> {
    if (this.thresholdsDays.length === 0) return 0;
    const now = this.deps.clock.now();
    const until = new Date(now.getTime() + lookAheadMs(this.thresholdsDays));
    let sent = 0;
    for (const contract of await this.deps.contracts.endingBefore(now, until, PAGE)) {
      const announced = await this.deps.contracts.alert(contract, this.thresholdsDays, now);
      if (announced !== null) {
        sent++;
        this.deps.logger.info(
          { customerId: contract.customerId, agreementId: contract.agreementId, daysBefore: announced },
          'contract ending soon',
        );
      }
    }
    return sent;
  }
}
