import type { Kysely } from 'kysely';
import { fromDbTime, toDbTime } from '../store/dialect';
import type { Database } from '../store/schema';

/** What redeeming a token id found. */
export type RedeemOutcome =
  { readonly kind: 'redeemed'; readonly customerId: string } | { readonly kind: 'used'; readonly at: Date } | { readonly kind: 'unknown' };

/**
 * Hand-off tokens by `jti`: written when issued, marked when redeemed, so that each is redeemed
 * once (one conditional UPDATE: two redemptions at the same moment cannot both win). Rows are kept
 * a day past expiry, for support questions, then purged.
 */
export class HandoffTokenRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async record(jti: string, customerId: string, issuedAt: Date, expiresAt: Date): Promise<void> {
    await this.db
      .insertInto('handoff_tokens')
      .values({ jti, customer_id: customerId, issued_at: toDbTime(issuedAt), expires_at: toDbTime(expiresAt), redeemed_at: null })
      .execute();
    await this.db
      .deleteFrom('handoff_tokens')
      .where('expires_at', '<', toDbTime(new Date(issuedAt.getTime() - 86_400_000)))
      .execute();
  }

  async redeem(jti: string, now: Date): Promise<RedeemOutcome> {
    const r = await this.db
      .updateTable('handoff_tokens')
      .set({ redeemed_at: toDbTime(now) })
      .where('jti', '=', jti)
      .where('redeemed_at', 'is', null)
      .returning('customer_id')
      .executeTakeFirst();
    if (r) return { kind: 'redeemed', customerId: r.customer_id };
    const row = await this.db.selectFrom('handoff_tokens').select('redeemed_at').where('jti', '=', jti).executeTakeFirst();
    return row?.redeemed_at ? { kind: 'used', at: fromDbTime(row.redeemed_at) } : { kind: 'unknown' };
  }
}
