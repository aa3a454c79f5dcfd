import { sql, type Kysely, type Transaction } from 'kysely';
import type { DialectName } from '../store/dialect';
import { fromDbTime, toDbTime } from '../store/dialect';
import type { Database } from '../store/schema';
import { appendOutboxEvent } from '../webhooks/outbox.repository';
import type { WebhookEventType } from '../webhooks/event-types';
import { readCustomerView, type KnownCustomer } from './customer-snapshot.repository';
import { withoutPersonalData, type CustomerView } from './customer-view';

type Db = Kysely<Database> | Transaction<Database>;

/** What a change-feed row records. Part of the public API: never rename one. */
export const CHANGE_KINDS = [
  'created',
  'registered',
  'onboarded',
  'status_changed',
  'entitlements_changed',
  'external_id_changed',
  'updated',
  'personal_data_erased',
] as const;
export type ChangeKind = (typeof CHANGE_KINDS)[number];

/**
 * Records one new version of a customer, in the transaction that wrote it (call it after the write):
 * a change-feed row with the whole customer as of now, and an outbox event per webhook type, so the
 * feed, the webhooks and the change itself commit or roll back together. Returns the view written.
 * `known`: the customer as the caller just wrote it, instead of reading it back.
 */
export async function recordCustomerChange(
  tx: Db,
  customerId: string,
  change: ChangeKind,
  webhooks: readonly WebhookEventType[],
  now: Date,
  known?: KnownCustomer,
): Promise<CustomerView> {
  const view = await readCustomerView(tx, customerId, known);
  if (!view) throw new Error(`customer ${customerId} vanished inside its own transaction`);
  await tx
    .insertInto('customer_changes')
    .values({
      customer_id: customerId,
      change,
      deleted: change === 'personal_data_erased' ? 1 : 0,
      customer_version: view.version,
      customer: JSON.stringify(view),
      changed_at: toDbTime(now),
    })
    .execute();
  for (const type of webhooks) await appendOutboxEvent(tx, { type, at: now, customer: view });
  return view;
}

/** Removes the buyer's personal data from every stored version of the customer (the erasure's tombstone follows). */
export async function erasePersonalDataFromFeed(tx: Db, customerId: string, erasedAt: Date): Promise<void> {
  const rows = await tx.selectFrom('customer_changes').select(['seq', 'customer']).where('customer_id', '=', customerId).execute();
  for (const row of rows) {
    const scrubbed = withoutPersonalData(JSON.parse(row.customer) as CustomerView, erasedAt.toISOString());
    await tx
      .updateTable('customer_changes')
      .set({ customer: JSON.stringify(scrubbed) })
      .where('seq', '=', row.seq)
      .execute();
  }
}

/** A position in the feed: rows are ordered by (`txid`, `seq`). */
export interface ChangeCursor {
  readonly txid: number;
  readonly seq: number;
}

export interface FeedChange {
  readonly cursor: ChangeCursor;
  readonly customerId: string;
  readonly change: ChangeKind;
  /** A tombstone: the buyer's personal data was erased; forget what earlier versions held. */
  readonly deleted: boolean;
  /** The customer's version; per customer, the highest one is the newest. */
  readonly version: number;
  readonly changedAt: Date;
  readonly customer: CustomerView;
}

/**
 * Reads the change feed after a cursor. No row can ever appear behind a cursor already handed out:
 *  - PostgreSQL: only rows of transactions older than the oldest still running are returned
 *    (`txid < pg_snapshot_xmin(pg_current_snapshot())`); a transaction still running, or one that
 *    will start, has a `txid` at or above that bound, so whatever it commits sorts after every row
 *    returned so far. A long-running transaction delays the feed; it cannot make a reader skip.
 *  - SQLite: one writer at a time, so `seq` order is commit order.
 * Per customer, a row committed later may still sort before another one (two transactions on one
 * customer: the one holding the older `txid` may wait for the other's lock); `version` orders them.
 */
export class CustomerChangeFeed {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly dialect: DialectName,
  ) {}

  async read(after: ChangeCursor | null, limit: number): Promise<{ changes: FeedChange[]; hasMore: boolean }> {
    let q = this.db.selectFrom('customer_changes').selectAll();
    if (after) q = q.where((eb) => eb.or([eb('txid', '>', after.txid), eb.and([eb('txid', '=', after.txid), eb('seq', '>', after.seq)])]));
    if (this.dialect === 'postgres') q = q.where('txid', '<', sql<number>`pg_snapshot_xmin(pg_current_snapshot())::text::bigint`);
    const rows = await q
      .orderBy('txid')
      .orderBy('seq')
      .limit(limit + 1)
      .execute();
    const changes = rows.slice(0, limit).map((r) => ({
      cursor: { txid: Number(r.txid), seq: Number(r.seq) },
      customerId: r.customer_id,
      change: r.change as ChangeKind,
      deleted: r.deleted === 1,
      version: Number(r.customer_version),
      changedAt: fromDbTime(r.changed_at),
      // Versions written before migration 0011 lack `previousCustomerId`: none was known then.
      customer: { previousCustomerId: null, ...(JSON.parse(r.customer) as Omit<CustomerView, 'previousCustomerId'>) } as CustomerView,
    }));
    return { changes, hasMore: rows.length > limit };
  }
}

/** A cursor as the API hands it out: 32 hex digits, so that later cursors also compare greater as text. */
export function encodeChangeCursor(c: ChangeCursor): string {
  return c.txid.toString(16).padStart(16, '0') + c.seq.toString(16).padStart(16, '0');
}

/** Undefined when the text is not a cursor this API returned. */
export function decodeChangeCursor(text: string): ChangeCursor | undefined {
  if (!/^[0-9a-f]{32}$/.test(text)) return undefined;
  const txid = Number.parseInt(text.slice(0, 16), 16);
  const seq = Number.parseInt(text.slice(16), 16);
  if (!Number.isSafeInteger(txid) || !Number.isSafeInteger(seq)) return undefined;
  return { txid, seq };
}
