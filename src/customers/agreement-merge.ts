import { fromDbTime, toDbTime } from '../store/dialect';
import type { AgreementRow, DbTime } from '../store/schema';
import type { AgreementFacts } from './customer';

/**
 * Newest-wins rules for what agreement events say (offer, status, intent, which agreement is
 * current), per customer and agreement. Pure: the repository reads and writes the rows.
 */
export function emptyAgreementRow(customerId: string, agreementId: string): AgreementRow {
  return {
    customer_id: customerId,
    agreement_id: agreementId,
    current_at: null,
    offer_id: null,
    offer_at: null,
    status: null,
    status_at: null,
    intent: null,
    intent_at: null,
  };
}

const timeOf = (v: DbTime | null): number | null => (v === null ? null : fromDbTime(v).getTime());

/** Newest wins per field; equal times are settled by the value, so the result is order-free. */
export function mergeFacts(row: AgreementRow, facts: AgreementFacts): { row: AgreementRow; changed: boolean } {
  const at = facts.eventTime.getTime();
  const next = { ...row };
  let changed = false;
  const take = (value: string | undefined, field: 'offer_id' | 'status' | 'intent', stamp: 'offer_at' | 'status_at' | 'intent_at') => {
    if (value === undefined) return;
    const storedAt = timeOf(row[stamp]);
    if (storedAt === null || at > storedAt || (at === storedAt && value > (row[field] ?? ''))) {
      next[field] = value;
      next[stamp] = toDbTime(facts.eventTime);
      changed = true;
    }
  };
  take(facts.offerId, 'offer_id', 'offer_at');
  take(facts.status, 'status', 'status_at');
  take(facts.intent, 'intent', 'intent_at');
  const currentAt = timeOf(row.current_at);
  if (facts.makesCurrent && facts.agreementId !== undefined && (currentAt === null || at > currentAt)) {
    next.current_at = toDbTime(facts.eventTime);
    changed = true;
  }
  return { row: next, changed };
}

/** The agreement named by the newest granting event; without one, the last-known agreement id. */
export function currentAgreement(rows: readonly AgreementRow[]): AgreementRow | undefined {
  const rank = (r: AgreementRow): [number, number, string] => [
    timeOf(r.current_at) ?? Number.NEGATIVE_INFINITY,
    r.agreement_id === '' ? 0 : 1,
    r.agreement_id,
  ];
  let best: AgreementRow | undefined;
  for (const r of rows) {
    if (!best) {
      best = r;
      continue;
    }
    const [a1, a2, a3] = rank(r);
    const [b1, b2, b3] = rank(best);
    if (a1 > b1 || (a1 === b1 && (a2 > b2 || (a2 === b2 && a3 > b3)))) best = r;
  }
  return best;
}
