import type { LeaseStore } from '../platform/leases';
import type { Logger } from '../platform/logger';
import type { Pacer } from './ports';

/** The lease's name in the store: one per database, as the quota is one per AWS account. */
export const METERING_SENDER_LEASE = 'metering-sender';

/**
 * One sending instance at a time (README "Several instances"). The metering quota (10 requests/s,
 * facts §6) is per AWS account, not per instance: N instances each pacing at the full rate would
 * draw throttling. So only the holder of this lease sends; the others seal and stand by, and take
 * over when it stops (released at once) or dies (after `ttlMs`).
 *
 * The holder renews the lease before each call once a third of its lifetime has gone by (measured
 * on the real monotonic clock, so a pause of any length is noticed); a renewal that fails means
 * another instance may be sending: no further call leaves from this one.
 */
export class SenderLease {
  private renewedAtMs = -Infinity;
  private held = false;

  constructor(private readonly deps: { leases: LeaseStore; holder: string; ttlMs: number; pacer: Pacer; logger: Logger }) {}

  /** True while this instance believes it holds the lease (it may have lost it since: {@link checkBeforeCall}). */
  get holding(): boolean {
    return this.held;
  }

  /**
   * Takes or extends the lease for a pass. Returns `acquired` when it changed hands to this
   * instance (the caller then recovers what the previous holder left mid-send), `held` when this
   * instance already held it, `standby` when another instance holds it.
   */
  async enterPass(): Promise<'acquired' | 'held' | 'standby'> {
    const wasHeld = this.held;
    const ok = await this.deps.leases.acquire(METERING_SENDER_LEASE, this.deps.holder, this.deps.ttlMs);
    this.held = ok;
    if (!ok) {
      if (wasHeld) this.deps.logger.warn({ event: 'metering.sender_lease', holder: this.deps.holder }, 'metering sender lease lost');
      return 'standby';
    }
    this.renewedAtMs = this.deps.pacer.nowMs();
    if (!wasHeld)
      this.deps.logger.info({ event: 'metering.sender_lease', holder: this.deps.holder }, 'this instance sends metering records');
    return wasHeld ? 'held' : 'acquired';
  }

  /** Right before a call: may it leave? Renews the lease when a third of its lifetime has passed. */
  async checkBeforeCall(): Promise<boolean> {
    if (!this.held) return false;
    if (this.deps.pacer.nowMs() - this.renewedAtMs < this.deps.ttlMs / 3) return true;
    const ok = await this.deps.leases.renew(METERING_SENDER_LEASE, this.deps.holder, this.deps.ttlMs);
    if (ok) this.renewedAtMs = this.deps.pacer.nowMs();
    else {
      this.held = false;
      this.deps.logger.warn(
        { event: 'metering.sender_lease', holder: this.deps.holder },
        'metering sender lease lost before a call; this instance stops sending',
      );
    }
    return ok;
  }

  /** Gives the lease up (a stopping instance), so another takes over without waiting for expiry. */
  async release(): Promise<void> {
    if (!this.held) return;
    this.held = false;
    await this.deps.leases.release(METERING_SENDER_LEASE, this.deps.holder);
  }
}
