import { PostgresAdapter, type Kysely, type Transaction } from 'kysely';
import { toDbTime } from '../store/dialect';
import type { Database } from '../store/schema';
import { recordCustomerChange } from './customer-changes.repository';

type Db = Kysely<Database> | Transaction<Database>;

/** What {@link linkRenewal} did. */
export interface RenewalLink {
  /** The customer whose agreement the new one renewed or replaced; undefined when not (yet) known. */
  readonly previousCustomerId?: string;
  /** The app's tenant id moved from the previous customer to this one. */
  readonly externalIdMoved: boolean;
}

/**
 * Links a customer whose agreement renews or replaces `previousAgreementId` (facts §5.4:
 * `Purchase Agreement Created` with intent RENEW or REPLACE names the agreement it follows) to the
 * customer of that agreement, in the caller's transaction (which holds the new customer's lock):
 *  - `previous_customer_id` is set once and never changed (a second, different claim is ignored);
 *  - the app's `externalId` (unique per product) moves across when the new customer has none, so
 *    the app's tenant keeps its link to whichever customer is live, and is never held twice.
 * Only a customer of the same product (and, when both are known, the same buyer account) is taken.
 */
export async function linkRenewal(tx: Db, customerId: string, previousAgreementId: string, now: Date): Promise<RenewalLink> {
  let self = await tx.selectFrom('customers').selectAll().where('id', '=', customerId).executeTakeFirst();
  if (!self) return { externalIdMoved: false };
  if (self.renews_agreement_id === null) {
    // Kept, so that a previous customer learnt later is linked then (linkWaitingRenewals).
    await tx.updateTable('customers').set({ renews_agreement_id: previousAgreementId }).where('id', '=', customerId).execute();
    self = { ...self, renews_agreement_id: previousAgreementId };
  }
  const previous =
    (await tx
      .selectFrom('customers')
      .selectAll()
      .where('agreement_id', '=', previousAgreementId)
      .where('id', '<>', customerId)
      .executeTakeFirst()) ??
    (await tx
      .selectFrom('customers')
      .innerJoin('customer_agreements', 'customer_agreements.customer_id', 'customers.id')
      .selectAll('customers')
      .where('customer_agreements.agreement_id', '=', previousAgreementId)
      .where('customers.id', '<>', customerId)
      .executeTakeFirst());
  if (!previous || previous.product_code !== self.product_code) return { externalIdMoved: false };
  if (self.customer_aws_account_id && previous.customer_aws_account_id && self.customer_aws_account_id !== previous.customer_aws_account_id)
    return { externalIdMoved: false };
  if (self.previous_customer_id !== null && self.previous_customer_id !== previous.id)
    return { previousCustomerId: self.previous_customer_id, externalIdMoved: false };
  if (tx.getExecutor().adapter instanceof PostgresAdapter)
    await tx.selectFrom('customers').select('id').where('id', '=', previous.id).forUpdate().execute();
  const current = await tx.selectFrom('customers').select(['external_id']).where('id', '=', previous.id).executeTakeFirstOrThrow();
  const move = current.external_id !== null && self.external_id === null;
  const at = toDbTime(now);
  if (move) {
    // Cleared first: the per-product unique index must never see it twice.
    await tx
      .updateTable('customers')
      .set((eb) => ({ external_id: null, updated_at: at, version: eb('version', '+', 1) }))
      .where('id', '=', previous.id)
      .execute();
    await recordCustomerChange(tx, previous.id, 'external_id_changed', [], now);
  }
  if (self.previous_customer_id === previous.id && !move) return { previousCustomerId: previous.id, externalIdMoved: false };
  await tx
    .updateTable('customers')
    .set((eb) => ({
      previous_customer_id: previous.id,
      ...(move ? { external_id: current.external_id } : {}),
      updated_at: at,
      version: eb('version', '+', 1),
    }))
    .where('id', '=', customerId)
    .execute();
  await recordCustomerChange(tx, customerId, move ? 'external_id_changed' : 'updated', [], now);
  return { previousCustomerId: previous.id, externalIdMoved: move };
}

/**
 * The other half of {@link linkRenewal}: a customer has just been matched to `agreementIds` (an
 * event of one of them was applied to it, in the caller's transaction, which holds its lock). Every
 * renewal or replacement of those agreements whose customer was learnt first, and so could not be
 * linked then, is linked now. On PostgreSQL the renewal's row is locked before it is read (after the
 * previous customer's, the reverse of linkRenewal's order: a deadlock between the two is reported by
 * the server and the notification retried).
 */
export async function linkWaitingRenewals(tx: Db, previousCustomerId: string, agreementIds: readonly string[], now: Date): Promise<number> {
  if (agreementIds.length === 0) return 0;
  const waiting = await tx
    .selectFrom('customers')
    .select(['id', 'renews_agreement_id'])
    .where('renews_agreement_id', 'in', [...agreementIds])
    .where('previous_customer_id', 'is', null)
    .where('id', '<>', previousCustomerId)
    .orderBy('id')
    .execute();
  let linked = 0;
  for (const w of waiting) {
    if (tx.getExecutor().adapter instanceof PostgresAdapter)
      await tx.selectFrom('customers').select('id').where('id', '=', w.id).forUpdate().execute();
    const link = await linkRenewal(tx, w.id, w.renews_agreement_id!, now);
    if (link.previousCustomerId === previousCustomerId) linked++;
  }
  return linked;
}
