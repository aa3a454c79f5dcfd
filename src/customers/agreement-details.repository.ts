import type { Kysely, Transaction } from 'kysely';
import { fromDbTime, fromDbTimeOrNull, toDbTime, toDbTimeOrNull } from '../store/dialect';
import type { Database } from '../store/schema';
import { recordCustomerChange } from './customer-changes.repository';
import type { AgreementDetails } from './ports';

type Db = Kysely<Database> | Transaction<Database>;

/** Stored Agreement API facts of one agreement, with when they were read. */
export interface StoredAgreementDetails extends AgreementDetails {
  readonly fetchedAt: Date;
}

/**
 * What the Agreement API said of each agreement (DescribeAgreement + GetAgreementTerms, facts
 * §5.5), kept by agreement id so that a read made before the agreement's customer is known (the
 * Created event comes first) still reaches it. Of two reads, the one started later wins.
 */
export class AgreementDetailsRepository {
  constructor(private readonly db: Kysely<Database>) {}

  /** Stores a read taken at `fetchedAt` (taken before the call), unless a later one is stored. */
  async save(details: AgreementDetails, fetchedAt: Date, db: Db = this.db): Promise<void> {
    const values = {
      status: details.status,
      start_time: toDbTimeOrNull(details.startTime),
      end_time: toDbTimeOrNull(details.endTime),
      end_time_behavior: details.endTimeBehavior,
      free_trial: details.freeTrial ? 1 : 0,
      estimated_value: details.estimatedValue?.amount ?? null,
      currency_code: details.estimatedValue?.currencyCode ?? null,
      fetched_at: toDbTime(fetchedAt),
    };
    await db
      .insertInto('agreement_details')
      .values({ agreement_id: details.agreementId, ...values })
      .onConflict((oc) => oc.column('agreement_id').doUpdateSet(values).where('agreement_details.fetched_at', '<', toDbTime(fetchedAt)))
      .execute();
  }

  async find(agreementId: string, db: Db = this.db): Promise<StoredAgreementDetails | undefined> {
    const r = await db.selectFrom('agreement_details').selectAll().where('agreement_id', '=', agreementId).executeTakeFirst();
    if (!r) return undefined;
    return {
      agreementId: r.agreement_id,
      status: r.status,
      startTime: fromDbTimeOrNull(r.start_time),
      endTime: fromDbTimeOrNull(r.end_time),
      endTimeBehavior: r.end_time_behavior,
      freeTrial: r.free_trial === 1,
      estimatedValue: r.estimated_value === null ? null : { amount: r.estimated_value, currencyCode: r.currency_code },
      fetchedAt: fromDbTime(r.fetched_at),
    };
  }

  /**
   * Applies AWS's free-trial answer to the customer whose current agreement it is, in the caller's
   * transaction (holding the customer's lock). From then on the registration form's
   * `x-amzn-marketplace-offer-type` is no longer believed (it is posted by the buyer's browser).
   */
  async confirmFreeTrial(tx: Db, customerId: string, now: Date): Promise<boolean> {
    const c = await tx
      .selectFrom('customers')
      .select(['agreement_id', 'free_trial', 'free_trial_confirmed_at'])
      .where('id', '=', customerId)
      .executeTakeFirst();
    if (!c?.agreement_id) return false;
    const details = await this.find(c.agreement_id, tx);
    if (!details) return false;
    const flag = details.freeTrial ? 1 : 0;
    if (c.free_trial === flag && c.free_trial_confirmed_at !== null) return false;
    await tx
      .updateTable('customers')
      .set((eb) => ({
        free_trial: flag,
        free_trial_confirmed_at: toDbTime(now),
        updated_at: toDbTime(now),
        version: eb('version', '+', 1),
      }))
      .where('id', '=', customerId)
      .execute();
    await recordCustomerChange(tx, customerId, 'updated', [], now);
    return true;
  }
}
