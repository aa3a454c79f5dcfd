import type { Kysely } from 'kysely';
import { fromDbTime, toDbTime } from '../store/dialect';
import type { Database } from '../store/schema';
import { appendOutboxEvent } from '../webhooks/outbox.repository';
import { planEndAlerts } from './contract-end';

/** A contract that may be due an alert: a live customer whose current agreement ends within the look-ahead. */
export interface EndingContract {
  readonly customerId: string;
  readonly agreementId: string;
  readonly endTime: Date;
  readonly endTimeBehavior: string | null;
}

/**
 * Contract-ending-soon alerts: the candidates (from the Agreement API details of each customer's
 * current agreement), and, per agreement, the thresholds recorded and the webhook appended in one
 * transaction, so that several instances or a crash never announce a threshold twice.
 */
export class ContractEndRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async endingBefore(now: Date, until: Date, limit: number): Promise<EndingContract[]> {
    const rows = await this.db
      .selectFrom('customers')
      .innerJoin('agreement_details', 'agreement_details.agreement_id', 'customers.agreement_id')
      .select([
        'customers.id as customerId',
        'agreement_details.agreement_id as agreementId',
        'agreement_details.end_time as endTime',
        'agreement_details.end_time_behavior as endTimeBehavior',
      ])
      .where('customers.status', 'in', ['active', 'pending'])
      .where('agreement_details.end_time', '>', toDbTime(now))
      .where('agreement_details.end_time', '<=', toDbTime(until))
      .orderBy('agreement_details.end_time')
      .limit(limit)
      .execute();
    return rows.map((r) => ({
      customerId: r.customerId,
      agreementId: r.agreementId,
      endTime: fromDbTime(r.endTime!),
      endTimeBehavior: r.endTimeBehavior,
    }));
  }

  /** Records what is due for one contract and appends its webhook; returns the threshold announced, if any. */
  async alert(contract: EndingContract, thresholdsDays: readonly number[], now: Date): Promise<number | null> {
    return this.db
      .transaction()
      .execute(async (tx) => {
        const done = await tx
          .selectFrom('contract_end_alerts')
          .select('threshold_days')
          .where('agreement_id', '=', contract.agreementId)
          // Per end time: an amendment that moves the end starts the thresholds afresh.
          .where('end_time', '=', toDbTime(contract.endTime))
          .execute();
        const plan = planEndAlerts(contract, now, thresholdsDays, new Set(done.map((d) => Number(d.threshold_days))));
        if (plan.announce === null) return null;
        const inserted = await tx
          .insertInto('contract_end_alerts')
          .values(
            plan.record.map((d) => ({
              agreement_id: contract.agreementId,
              end_time: toDbTime(contract.endTime),
              threshold_days: d,
              customer_id: contract.customerId,
              sent_at: toDbTime(now),
            })),
          )
          .onConflict((oc) => oc.columns(['agreement_id', 'end_time', 'threshold_days']).doNothing())
          .executeTakeFirst();
        // Another instance recorded them first: it sends the webhook.
        if (Number(inserted.numInsertedOrUpdatedRows ?? 0) < plan.record.length) throw new ConcurrentAlertError();
        await appendOutboxEvent(tx, {
          type: 'customer.contract_ending_soon',
          at: now,
          customerId: contract.customerId,
          data: {
            contract: {
              agreementId: contract.agreementId,
              endTime: contract.endTime.toISOString(),
              daysBefore: plan.announce,
              endTimeBehavior: contract.endTimeBehavior,
            },
          },
        });
        return plan.announce;
      })
      .catch((error: unknown) => {
        if (error instanceof ConcurrentAlertError) return null;
        throw error;
      });
  }
}

/** Rolls the transaction back when another instance took the same thresholds at the same moment. */
class ConcurrentAlertError extends Error {}
