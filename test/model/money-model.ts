/**
 * The oracle of the model-based money test: what AWS should have billed, written without any of the
 * service's code. A buyer moves through phases (subscribed → active → cancelled → ended); the
 * service learns a phase only once its notifications were delivered while the store was up. Usage
 * the service accepted is billed once per customer, dimension and hour: the sum, or the peak, of
 * the accepted records of that hour.
 */
export type Phase = 'subscribed' | 'active' | 'cancelled' | 'ended';
export type Aggregation = 'sum' | 'max';

export interface ModelBuyer {
  readonly simId: string;
  readonly product: string;
  /** The identity AWS bills under: CustomerIdentifier or LicenseArn. */
  readonly billingKey: string;
  /** Our customer id, once registration succeeded. */
  customerId: string | null;
  phase: Phase;
  /** The phase the service has been told about by a completed delivery. */
  known: Phase;
  confirmedAt: number | null;
}

export interface SentRecord {
  readonly dimension: string;
  readonly quantity: number;
  readonly timestamp: string;
  readonly idempotencyKey: string;
}

export class MoneyModel {
  readonly buyers: ModelBuyer[] = [];
  /** Every record ever sent, by customer and idempotency key: a repeat sends the same body. */
  readonly sent = new Map<string, SentRecord>();
  /** Accepted records: first acceptance only, booked in the hour the service answered. */
  private readonly accepted = new Map<string, { buyer: ModelBuyer; dimension: string; quantity: number; hour: string }>();
  storeDown = false;
  /** Commands left before the store is reachable again. */
  outageLeft = 0;
  /** Notifications published but not yet delivered while the store was up. */
  undelivered = false;

  constructor(private readonly aggregation: (product: string, dimension: string) => Aggregation) {}

  /** True when the service must accept usage of this buyer now (its activation is known, nothing later happened). */
  mustAccept(b: ModelBuyer): boolean {
    return !this.storeDown && b.customerId !== null && b.phase === 'active' && b.known === 'active';
  }

  /** True when the service must refuse it (it has never been told the buyer is active). */
  mustReject(b: ModelBuyer): boolean {
    return !this.storeDown && b.customerId !== null && b.phase === 'subscribed' && b.known === 'subscribed';
  }

  delivered(): void {
    if (this.storeDown) return;
    for (const b of this.buyers) b.known = b.phase;
    this.undelivered = false;
  }

  isAccepted(b: ModelBuyer, key: string): boolean {
    return this.accepted.has(`${b.simId}|${key}`);
  }

  accept(b: ModelBuyer, r: SentRecord, hour: string): void {
    const k = `${b.simId}|${r.idempotencyKey}`;
    if (!this.accepted.has(k)) this.accepted.set(k, { buyer: b, dimension: r.dimension, quantity: r.quantity, hour });
  }

  acceptedCount(): number {
    return this.accepted.size;
  }

  /** billingKey|dimension|hour → quantity AWS should have billed (only hours with usage). */
  expected(): Map<string, number> {
    const out = new Map<string, number>();
    for (const a of this.accepted.values()) {
      const k = `${a.buyer.billingKey}|${a.dimension}|${a.hour}`;
      const before = out.get(k);
      const agg = this.aggregation(a.buyer.product, a.dimension);
      out.set(k, before === undefined ? a.quantity : agg === 'sum' ? before + a.quantity : Math.max(before, a.quantity));
    }
    return out;
  }
}
