import { sql, type Selectable } from 'kysely';
import { hourValue, parseBucketAggregate, type AggregationMode } from '../metering/aggregation';
import { fromDbTime, fromDbTimeOrNull, toDbTime } from '../store/dialect';
import type { Db, EventsTable } from '../store/schema';

/** The states a person must look at (the console's Problems page). */
export const PROBLEM_STATES = ['expired', 'duplicate', 'not_subscribed', 'failed', 'held'] as const;
export type ProblemState = (typeof PROBLEM_STATES)[number];

/** One customer row of the list. */
export interface CustomerListItem {
  readonly id: string;
  readonly productCode: string;
  readonly status: string;
  readonly customerIdentifier: string | null;
  readonly customerAWSAccountId: string | null;
  readonly licenseArn: string | null;
  readonly email: string | null;
  readonly externalId: string | null;
  readonly createdAt: Date;
}

/** A bucket as the console shows it: one hour of one dimension. */
export interface GridRow {
  readonly id: string;
  readonly customerId: string;
  readonly productCode: string;
  readonly dimension: string;
  readonly hour: Date;
  readonly api: string;
  readonly state: string;
  /** The hour's aggregated usage before anything included is taken off. */
  readonly rawUsage: number;
  /** What the record bills; null while open or waiting. */
  readonly billed: number | null;
  readonly meteringRecordId: string | null;
  readonly lastError: string | null;
  readonly holdReason: string | null;
  readonly awsRequestId: string | null;
  readonly awsHttpStatus: number | null;
  readonly awsOperation: string | null;
  readonly lastErrorAt: Date | null;
  readonly recordTimestamp: Date | null;
  readonly attempts: number;
  readonly identity: {
    readonly customerIdentifier: string | null;
    readonly customerAWSAccountId: string | null;
    readonly licenseArn: string | null;
  };
}

export interface ConsoleEvent {
  readonly id: number;
  readonly dedupeKey: string;
  readonly channel: string;
  readonly kind: string | null;
  readonly eventTime: Date | null;
  readonly receivedAt: Date;
  readonly customerId: string | null;
  readonly outcome: string;
  readonly reason: string | null;
  readonly payload: string;
}

export interface ConsoleDelivery {
  readonly id: string;
  readonly eventType: string;
  readonly endpointId: string;
  readonly status: string;
  readonly attempts: number;
  readonly lastStatusCode: number | null;
  readonly lastError: string | null;
  readonly createdAt: Date;
  readonly deliveredAt: Date | null;
}

export interface CustomerQuery {
  /** Exact match on id, AWS account, LicenseArn, CustomerIdentifier, e-mail or external id. */
  readonly search?: string | undefined;
  readonly productCode?: string | undefined;
  readonly status?: string | undefined;
  /** Keyset cursor: the (createdAt, id) of the last row of the previous page. */
  readonly after?: readonly [string, string] | undefined;
  readonly limit: number;
}

/**
 * The seller console's reads (README "Console"). Every query is served by an index: grouped counts
 * over customers by (product, status), units billed per hour straight off (state, hour, quantity)
 * for the last hours only, one customer's rows by its id, problems by state; nothing reads the
 * usage events table, which grows without bound.
 */
export class ConsoleRepository {
  constructor(private readonly db: Db) {}

  /** Customers by product and state. */
  async customerCounts(): Promise<Array<{ productCode: string; status: string; count: number }>> {
    const rows = await this.db
      .selectFrom('customers')
      .select(['product_code', 'status', (eb) => eb.fn.countAll<number>().as('n')])
      .groupBy(['product_code', 'status'])
      .execute();
    return rows.map((r) => ({ productCode: r.product_code, status: r.status, count: Number(r.n) }));
  }

  /** Units accepted by AWS per hour from `from` (inclusive) to `to` (exclusive). */
  async billedPerHour(from: Date, to: Date): Promise<Map<number, number>> {
    const rows = await this.db
      .selectFrom('meter_buckets')
      .select(['hour', (eb) => eb.fn.sum<number>('quantity').as('units')])
      .where('state', '=', 'accepted')
      .where('hour', '>=', toDbTime(from))
      .where('hour', '<', toDbTime(to))
      .groupBy('hour')
      .execute();
    return new Map(rows.map((r) => [fromDbTime(r.hour).getTime(), Number(r.units ?? 0)]));
  }

  /** Records a person must look at, by state. */
  async problemCounts(): Promise<Record<ProblemState, number>> {
    const out = Object.fromEntries(PROBLEM_STATES.map((s) => [s, 0])) as Record<ProblemState, number>;
    const rows = await this.db
      .selectFrom('meter_buckets')
      .select(['state', (eb) => eb.fn.countAll<number>().as('n')])
      .where('state', 'in', [...PROBLEM_STATES])
      .groupBy('state')
      .execute();
    for (const r of rows) out[r.state as ProblemState] = Number(r.n);
    return out;
  }

  /** The last notification received on each channel (one index probe per channel). */
  async lastReceived(channels: readonly string[]): Promise<Map<string, Date | null>> {
    const out = new Map<string, Date | null>();
    for (const channel of channels) {
      const row = await this.db
        .selectFrom('events')
        .select('received_at')
        .where('channel', '=', channel)
        .orderBy('received_at', 'desc')
        .limit(1)
        .executeTakeFirst();
      out.set(channel, row ? fromDbTime(row.received_at) : null);
    }
    return out;
  }

  /** How many notifications are rejected or unmatched (the overview's count; the events_outcome index). */
  async openNotificationCount(): Promise<number> {
    const row = await this.db
      .selectFrom('events')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('outcome', 'in', ['rejected', 'unmatched'])
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  /** A page of customers, newest first, by keyset on (created_at, id). */
  async listCustomers(q: CustomerQuery): Promise<CustomerListItem[]> {
    let query = this.db
      .selectFrom('customers')
      .select([
        'id',
        'product_code',
        'status',
        'customer_identifier',
        'customer_aws_account_id',
        'license_arn',
        'email',
        'external_id',
        'created_at',
      ]);
    const s = q.search?.trim();
    if (s) {
      query = query.where((eb) =>
        eb.or([
          eb('id', '=', s),
          eb('customer_aws_account_id', '=', s),
          eb('license_arn', '=', s),
          eb('customer_identifier', '=', s),
          eb('email', '=', s.toLowerCase()),
          eb('email', '=', s),
          eb('external_id', '=', s),
        ]),
      );
    }
    if (q.productCode) query = query.where('product_code', '=', q.productCode);
    if (q.status) query = query.where('status', '=', q.status);
    if (q.after) {
      const [at, id] = q.after;
      query = query.where((eb) => eb.or([eb('created_at', '<', at), eb.and([eb('created_at', '=', at), eb('id', '<', id)])]));
    }
    const rows = await query.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(q.limit).execute();
    return rows.map((r) => ({
      id: r.id,
      productCode: r.product_code,
      status: r.status,
      customerIdentifier: r.customer_identifier,
      customerAWSAccountId: r.customer_aws_account_id,
      licenseArn: r.license_arn,
      email: r.email,
      externalId: r.external_id,
      createdAt: fromDbTime(r.created_at),
    }));
  }

  /** The raw `created_at` text of a customer, for a keyset cursor exactly as stored. */
  async cursorOf(id: string): Promise<[string, string] | undefined> {
    const row = await this.db.selectFrom('customers').select(['created_at', 'id']).where('id', '=', id).executeTakeFirst();
    if (!row) return undefined;
    const at = row.created_at instanceof Date ? row.created_at.toISOString() : row.created_at;
    return [at, row.id];
  }

  /** One customer's buckets from `from`, newest hour first (the key index on customer, dimension, hour). */
  async customerGrid(customerId: string, from: Date, limit: number): Promise<GridRow[]> {
    const rows = await this.bucketColumns()
      .where('customer_id', '=', customerId)
      .where('hour', '>=', toDbTime(from))
      .orderBy('hour', 'desc')
      .orderBy('dimension')
      .limit(limit)
      .execute();
    return rows.map(toGridRow);
  }

  /**
   * Records in the problem states, newest hour first. One ordered, limited read per state straight
   * off the claim index (state, hour, id), merged here: a single `state IN (…) ORDER BY hour` would
   * make the engine gather and sort every problem record first.
   */
  async problems(state: ProblemState | undefined, limit: number): Promise<GridRow[]> {
    const perState = await Promise.all(
      (state ? [state] : [...PROBLEM_STATES]).map((s) =>
        this.bucketColumns().where('state', '=', s).orderBy('state').orderBy('hour', 'desc').orderBy('id', 'desc').limit(limit).execute(),
      ),
    );
    return perState
      .flat()
      .map(toGridRow)
      .sort((a, b) => b.hour.getTime() - a.hour.getTime() || (a.id < b.id ? 1 : -1))
      .slice(0, limit);
  }

  async bucket(id: string): Promise<GridRow | undefined> {
    const row = await this.bucketColumns().where('id', '=', id).executeTakeFirst();
    return row ? toGridRow(row) : undefined;
  }

  /** Every notification of a customer, newest first. */
  async customerEvents(customerId: string, limit: number): Promise<ConsoleEvent[]> {
    const rows = await this.db
      .selectFrom('events')
      .selectAll()
      .where('customer_id', '=', customerId)
      .orderBy('event_time', 'desc')
      .orderBy('id', 'desc')
      .limit(limit)
      .execute();
    return rows.map(toConsoleEvent);
  }

  /** Rejected and unmatched notifications, newest first. */
  async openNotifications(outcome: 'rejected' | 'unmatched' | undefined, limit: number): Promise<ConsoleEvent[]> {
    const rows = await this.db
      .selectFrom('events')
      .selectAll()
      .where('outcome', 'in', outcome ? [outcome] : ['rejected', 'unmatched'])
      .orderBy('received_at', 'desc')
      .orderBy('id', 'desc')
      .limit(limit)
      .execute();
    return rows.map(toConsoleEvent);
  }

  async event(id: number): Promise<ConsoleEvent | undefined> {
    const row = await this.db.selectFrom('events').selectAll().where('id', '=', id).executeTakeFirst();
    return row ? toConsoleEvent(row) : undefined;
  }

  /**
   * Frees a rejected notification's keys so it can be processed again: the row keeps its outcome
   * and says it was replayed; the replay records a new row under the original keys. Returns false
   * when the row is no longer a rejected one (replayed meanwhile).
   */
  async retireRejected(id: number, note: string): Promise<boolean> {
    const r = await this.db
      .updateTable('events')
      .set({
        dedupe_key: sql<string>`dedupe_key || ${`#replayed-${id}`}`,
        secondary_key: sql<string | null>`case when secondary_key is null then null else secondary_key || ${`#replayed-${id}`} end`,
        outcome: 'replayed',
        reason: sql<string>`coalesce(reason, '') || ${` (${note})`}`,
      })
      .where('id', '=', id)
      .where('outcome', '=', 'rejected')
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  /** Puts a retired row back as it was (the replay failed before recording anything). */
  async restoreRejected(id: number, dedupeKey: string, secondaryKey: string | null, reason: string | null): Promise<void> {
    await this.db
      .updateTable('events')
      .set({ dedupe_key: dedupeKey, secondary_key: secondaryKey, outcome: 'rejected', reason })
      .where('id', '=', id)
      .execute();
  }

  async secondaryKeyOf(id: number): Promise<string | null> {
    const row = await this.db.selectFrom('events').select('secondary_key').where('id', '=', id).executeTakeFirst();
    return row?.secondary_key ?? null;
  }

  /** The webhook deliveries of a customer's events, newest first. */
  async customerDeliveries(customerId: string, limit: number): Promise<ConsoleDelivery[]> {
    const rows = await this.db
      .selectFrom('webhook_events as e')
      .innerJoin('webhook_deliveries as d', 'd.event_id', 'e.id')
      .select([
        'd.id',
        'e.type',
        'd.endpoint_id',
        'd.status',
        'd.attempts',
        'd.last_status_code',
        'd.last_error',
        'd.created_at',
        'd.delivered_at',
      ])
      .where('e.customer_id', '=', customerId)
      .orderBy('d.seq', 'desc')
      .limit(limit)
      .execute();
    return rows.map((r) => ({
      id: r.id,
      eventType: r.type,
      endpointId: r.endpoint_id,
      status: r.status,
      attempts: Number(r.attempts),
      lastStatusCode: r.last_status_code === null ? null : Number(r.last_status_code),
      lastError: r.last_error,
      createdAt: fromDbTime(r.created_at),
      deliveredAt: fromDbTimeOrNull(r.delivered_at),
    }));
  }

  private bucketColumns() {
    return this.db
      .selectFrom('meter_buckets')
      .select([
        'id',
        'customer_id',
        'product_code',
        'dimension',
        'hour',
        'api',
        'mode',
        'aggregate',
        'state',
        'quantity',
        'metering_record_id',
        'last_error',
        'hold_reason',
        'aws_request_id',
        'aws_http_status',
        'aws_operation',
        'last_error_at',
        'record_timestamp',
        'attempts',
        'customer_identifier',
        'customer_aws_account_id',
        'license_arn',
      ]);
  }
}

type BucketSelection = {
  id: string;
  customer_id: string;
  product_code: string;
  dimension: string;
  hour: string | Date;
  api: string;
  mode: string;
  aggregate: string;
  state: string;
  quantity: number | null;
  metering_record_id: string | null;
  last_error: string | null;
  hold_reason: string | null;
  aws_request_id: string | null;
  aws_http_status: number | null;
  aws_operation: string | null;
  last_error_at: string | Date | null;
  record_timestamp: string | Date | null;
  attempts: number;
  customer_identifier: string | null;
  customer_aws_account_id: string | null;
  license_arn: string | null;
};

function toGridRow(r: BucketSelection): GridRow {
  return {
    id: r.id,
    customerId: r.customer_id,
    productCode: r.product_code,
    dimension: r.dimension,
    hour: fromDbTime(r.hour),
    api: r.api,
    state: r.state,
    rawUsage: rawValue(r.aggregate, r.mode as AggregationMode),
    billed: r.state === 'open' || r.quantity === null ? null : Number(r.quantity),
    meteringRecordId: r.metering_record_id,
    lastError: r.last_error,
    holdReason: r.hold_reason,
    awsRequestId: r.aws_request_id,
    awsHttpStatus: r.aws_http_status === null ? null : Number(r.aws_http_status),
    awsOperation: r.aws_operation,
    lastErrorAt: fromDbTimeOrNull(r.last_error_at),
    recordTimestamp: fromDbTimeOrNull(r.record_timestamp),
    attempts: Number(r.attempts),
    identity: {
      customerIdentifier: r.customer_identifier,
      customerAWSAccountId: r.customer_aws_account_id,
      licenseArn: r.license_arn,
    },
  };
}

function toConsoleEvent(r: Selectable<EventsTable>): ConsoleEvent {
  return {
    id: Number(r.id),
    dedupeKey: r.dedupe_key,
    channel: r.channel,
    kind: r.kind,
    eventTime: fromDbTimeOrNull(r.event_time),
    receivedAt: fromDbTime(r.received_at),
    customerId: r.customer_id,
    outcome: r.outcome,
    reason: r.reason,
    payload: r.payload,
  };
}

/** The hour's value from a stored aggregate; one this version cannot read shows 0 rather than failing the page. */
function rawValue(text: string, mode: AggregationMode): number {
  try {
    return hourValue(parseBucketAggregate(JSON.parse(text), mode));
  } catch {
    return 0;
  }
}
