import type { FaultConfig, FailNextError, OperationFaults } from '../types';
import { createPrng } from './prng';

/** What to do with one API call before it reaches the service logic. */
export interface FaultDecision {
  /** Real-time delay before answering. */
  latencyMs: number;
  /** Fail the whole call, or drop the socket. */
  action?: 'throttle' | 'server-error' | 'drop';
  /** BatchMeterUsage: every record goes to `UnprocessedRecords`. */
  allUnprocessed: boolean;
}

/**
 * Decides injected faults. Deterministic `failNext` entries win; then the seeded random rates
 * of the operation's entry, falling back to the `'*'` entry member by member.
 */
export class FaultInjector {
  private config: FaultConfig = {};
  private random: () => number = createPrng(1);
  private failNext: Array<{ operation: string; error: FailNextError; count: number }> = [];

  set(config: FaultConfig): void {
    this.config = { ...config };
    this.random = createPrng(config.seed ?? 1);
    this.failNext = (config.failNext ?? []).map((f) => ({ ...f }));
  }

  /** Decide the fate of one call of `operation` (consumes a `failNext` entry if one matches). */
  decide(operation: string): FaultDecision {
    const faults = this.faultsFor(operation);
    const decision: FaultDecision = { latencyMs: faults.latencyMs ?? 0, allUnprocessed: false };
    const next = this.failNext.find((f) => f.count > 0 && (f.operation === operation || f.operation === '*'));
    if (next) {
      next.count -= 1;
      if (next.error === 'ThrottlingException') decision.action = 'throttle';
      else if (next.error === 'InternalServiceErrorException') decision.action = 'server-error';
      else if (next.error === 'drop') decision.action = 'drop';
      else decision.allUnprocessed = true;
      return decision;
    }
    if (this.chance(faults.dropConnectionRate)) decision.action = 'drop';
    else if (this.chance(faults.throttleRate)) decision.action = 'throttle';
    else if (this.chance(faults.serverErrorRate)) decision.action = 'server-error';
    return decision;
  }

  /** BatchMeterUsage: should this record be returned in `UnprocessedRecords`? */
  unprocessed(operation: string): boolean {
    return this.chance(this.faultsFor(operation).unprocessedRate);
  }

  /** Notification faults. */
  duplicate(): boolean {
    return this.chance(this.config.duplicateRate);
  }

  get reorderWindowMs(): number {
    return this.config.reorderWindowMs ?? 0;
  }

  /** The PRNG, for shuffling held notifications. */
  rng(): number {
    return this.random();
  }

  private faultsFor(operation: string): OperationFaults {
    const ops = this.config.operations ?? {};
    return { ...(ops['*'] ?? {}), ...(ops[operation] ?? {}) };
  }

  private chance(rate: number | undefined): boolean {
    if (!rate || rate <= 0) return false;
    return this.random() < rate;
  }
}
