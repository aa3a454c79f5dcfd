import { uuid } from '../ids';
import type { BilledRecord, MeteringLogEntry } from '../types';

/** A record the service has decided to honour, before dedupe. */
export interface CandidateRecord {
  productCode: string;
  /** `product`: ProductCode-based (CustomerIdentifier, or account id with ProductCode); `license`: LicenseArn-based. */
  family: 'product' | 'license';
  subscriptionId: string;
  customerKey: string;
  licenseArn: string;
  customerIdentifier?: string;
  customerAWSAccountId?: string;
  dimension: string;
  hour: string;
  quantity: number;
  allocations?: BilledRecord['allocations'];
  operation: BilledRecord['operation'];
}

export type LedgerOutcome =
  { status: 'Success'; meteringRecordId: string; replay: boolean } | { status: 'DuplicateRecord'; original: BilledRecord };

/**
 * Accepted usage and the dedupe rules (§1.6, §6):
 * - key per (product, customer, dimension, hour) for ProductCode-based records, per
 *   (LicenseArn, dimension, hour) for LicenseArn-based ones;
 * - identical resubmission is idempotent (same MeteringRecordId, billed once);
 * - a different quantity (or allocation) for a used key is `DuplicateRecord`, the first stands;
 * - a ProductCode-based and a LicenseArn-based record for the same subscription, dimension and
 *   hour are both billed ("double-bills", §0.5); the ledger logs that as `double-billed`.
 */
export class BillingLedger {
  private readonly byKey = new Map<string, { record: BilledRecord; fingerprint: string }>();
  private readonly records: BilledRecord[] = [];
  private readonly log: MeteringLogEntry[] = [];

  constructor(private readonly now: () => number) {}

  private key(
    c: Pick<CandidateRecord, 'productCode' | 'customerKey' | 'licenseArn' | 'dimension' | 'hour'>,
    family: CandidateRecord['family'],
  ): string {
    return family === 'product'
      ? `P|${c.productCode}|${c.customerKey}|${c.dimension}|${c.hour}`
      : `L|${c.licenseArn}|${c.dimension}|${c.hour}`;
  }

  accept(c: CandidateRecord): LedgerOutcome {
    const key = this.key(c, c.family);
    const fingerprint = JSON.stringify([c.quantity, c.allocations ?? null]);
    const existing = this.byKey.get(key);
    if (existing) {
      if (existing.fingerprint === fingerprint)
        return { status: 'Success', meteringRecordId: existing.record.meteringRecordId, replay: true };
      return { status: 'DuplicateRecord', original: existing.record };
    }
    const record: BilledRecord = {
      productCode: c.productCode,
      ...(c.customerIdentifier !== undefined ? { customerIdentifier: c.customerIdentifier } : {}),
      ...(c.customerAWSAccountId !== undefined ? { customerAWSAccountId: c.customerAWSAccountId } : {}),
      ...(c.family === 'license' ? { licenseArn: c.licenseArn } : {}),
      dimension: c.dimension,
      hour: c.hour,
      quantity: c.quantity,
      meteringRecordId: uuid(),
      ...(c.allocations ? { allocations: c.allocations } : {}),
      operation: c.operation,
      at: this.now(),
    };
    this.byKey.set(key, { record, fingerprint });
    this.records.push(record);
    const other = this.byKey.get(this.key(c, c.family === 'product' ? 'license' : 'product'));
    if (other) {
      this.note(c.operation, 'double-billed', {
        subscriptionId: c.subscriptionId,
        dimension: c.dimension,
        hour: c.hour,
        records: [other.record.meteringRecordId, record.meteringRecordId],
      });
    }
    return { status: 'Success', meteringRecordId: record.meteringRecordId, replay: false };
  }

  note(operation: string, outcome: string, detail?: unknown): void {
    this.log.push({ at: this.now(), operation, outcome, ...(detail !== undefined ? { detail } : {}) });
  }

  billed(filter: { productCode?: string; customer?: string } = {}): BilledRecord[] {
    return this.records
      .filter((r) => !filter.productCode || r.productCode === filter.productCode)
      .filter((r) => !filter.customer || [r.customerIdentifier, r.customerAWSAccountId, r.licenseArn].includes(filter.customer))
      .map((r) => ({ ...r }));
  }

  entries(): MeteringLogEntry[] {
    return this.log.map((e) => ({ ...e }));
  }
}
