/**
 * The reference for ingestion: what durable, idempotent usage ingestion costs with nothing but
 * better-sqlite3, written the shortest way. Per record an event row with a unique
 * (customer, idempotency key) — a replay changes nothing — and per new record one upsert of its
 * customer/dimension/hour bucket; one WAL transaction per batch, with the service's pragmas
 * (journal_mode=WAL, synchronous=NORMAL). No validation, no answer per record, no ORM.
 */
import Database from 'better-sqlite3';

export interface FloorRecord {
  readonly customer: string;
  readonly dimension: string;
  readonly quantity: number;
  readonly timestamp: string;
  readonly idempotencyKey: string;
}

export function ingestionFloor(path: string): { ingest: (batch: readonly FloorRecord[]) => void; close: () => void } {
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.exec(`
    create table usage_events (customer text not null, idempotency_key text not null, dimension text not null,
      quantity real not null, ts text not null, hour text not null, primary key (customer, idempotency_key));
    create table buckets (customer text not null, dimension text not null, hour text not null, total real not null,
      usage_count integer not null, primary key (customer, dimension, hour));
  `);
  const insertEvent = db.prepare(
    'insert into usage_events (customer, idempotency_key, dimension, quantity, ts, hour) values (?, ?, ?, ?, ?, ?) on conflict do nothing',
  );
  const upsertBucket = db.prepare(
    `insert into buckets (customer, dimension, hour, total, usage_count) values (?, ?, ?, ?, 1)
     on conflict (customer, dimension, hour) do update set total = total + excluded.total, usage_count = usage_count + 1`,
  );
  const ingest = db.transaction((batch: readonly FloorRecord[]) => {
    for (const r of batch) {
      const hour = `${r.timestamp.slice(0, 13)}:00:00.000Z`;
      if (insertEvent.run(r.customer, r.idempotencyKey, r.dimension, r.quantity, r.timestamp, hour).changes === 1)
        upsertBucket.run(r.customer, r.dimension, hour, r.quantity);
    }
  });
  return { ingest: (batch) => ingest(batch), close: () => db.close() };
}
