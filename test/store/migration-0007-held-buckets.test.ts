import { randomUUID } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import type { Store } from '../../src/store/database';
import { applyMigrations } from '../../src/store/migration-runner';
import { migrations } from '../../src/store/migrations';
import { BucketRepository } from '../../src/metering/bucket.repository';
import { describeDialects, openTestStoreAt, type TestStore } from '../support/stores';

/**
 * Migration 0007 on a database an earlier release wrote: the records that release kept `sealed`
 * (or `sending`, mid-completion) without their quantity or identity, with the reason in
 * `last_error`, become `held` with that reason; every other row is left exactly as it was.
 */
describeDialects('migration 0007 (held buckets) on %s', (dialect) => {
  let t: TestStore;
  afterEach(async () => t?.dispose());

  /** A store migrated up to 0006 only. */
  async function storeAt0006(): Promise<{ store: Store; db: Kysely<unknown>; schema: string | undefined }> {
    const at = await openTestStoreAt(dialect, migrations.slice(0, 6));
    t = at;
    return { store: at.store, db: at.db, schema: at.schema };
  }

  it('turns sealed or sending rows that lack their quantity or identity into held, with their reason; leaves the rest alone', async () => {
    const { store, db, schema } = await storeAt0006();
    const at = '2026-03-10T11:10:00.000Z';
    await sql`insert into customers (id, product_code, customer_identifier, free_trial, status, created_at, updated_at, version)
              values ('c1', 'prod-1', 'cust-1', 0, 'active', ${at}, ${at}, 1)`.execute(db);
    const row = (
      id: string,
      hour: string,
      state: string,
      fields: { quantity?: number | null; identity?: boolean; lastError?: string | null; lease?: boolean; next?: string | null },
    ) =>
      sql`insert into meter_buckets (id, customer_id, product_code, dimension, hour, api, mode, aggregate, usage_count, heartbeat, state,
                quantity, identity_kind, customer_identifier, attempts, next_attempt_at, lease_owner, lease_until, last_error,
                created_at, updated_at, sealed_at, record_timestamp)
              values (${id}, 'c1', 'prod-1', 'calls', ${hour}, 'batch', 'sum', '{"mode":"sum","total":5,"parts":{"":5}}', 1, 0, ${state},
                ${fields.quantity ?? null}, ${fields.identity ? 'customer-identifier' : null}, ${fields.identity ? 'cust-1' : null}, 1,
                ${fields.next === undefined ? at : fields.next}, ${fields.lease ? 'old-owner' : null}, ${fields.lease ? at : null},
                ${fields.lastError ?? null}, ${at}, ${at}, ${at}, ${hour})`.execute(db);
    const waitingIdentity = randomUUID();
    const waitingEntitlement = randomUUID();
    const midCompletion = randomUUID();
    const retrying = randomUUID();
    const inFlight = randomUUID();
    const accepted = randomUUID();
    await row(waitingIdentity, '2026-03-10T06:00:00.000Z', 'sealed', {
      quantity: 5,
      identity: false,
      lastError: "waiting for the customer's metering identity (CustomerIdentifier)",
    });
    await row(waitingEntitlement, '2026-03-10T07:00:00.000Z', 'sealed', {
      quantity: null,
      identity: true,
      lastError: 'waiting for an integer entitlement for overage dimension calls: none is known',
    });
    await row(midCompletion, '2026-03-10T08:00:00.000Z', 'sending', { quantity: null, identity: true, lease: true, next: null });
    await row(retrying, '2026-03-10T09:00:00.000Z', 'sealed', { quantity: 5, identity: true, lastError: 'ThrottlingException: slow down' });
    await row(inFlight, '2026-03-10T10:00:00.000Z', 'sending', { quantity: 5, identity: true, lease: true });
    await row(accepted, '2026-03-10T05:00:00.000Z', 'accepted', { quantity: 5, identity: true });
    const before = await sql<Record<string, unknown>>`select * from meter_buckets order by id`.execute(db);

    expect(await applyMigrations(db, dialect, schema, migrations.slice(0, 7))).toEqual(['0007-held-buckets']);
    const buckets = new BucketRepository(store.db, store.dialect);
    const get = async (id: string) => (await buckets.findById(id))!;

    expect(await get(waitingIdentity)).toMatchObject({
      state: 'held',
      quantity: 5,
      holdReason: expect.stringMatching(/metering identity/),
      lastError: null,
    });
    expect(await get(waitingEntitlement)).toMatchObject({
      state: 'held',
      quantity: null,
      holdReason: expect.stringMatching(/entitlement/),
      lastError: null,
    });
    const mid = await get(midCompletion);
    expect(mid).toMatchObject({ state: 'held', leaseOwner: null, leaseUntil: null, holdReason: expect.stringMatching(/waiting/) });
    expect(mid.nextAttemptAt).not.toBeNull(); // looked at again on the next pass
    // Complete records keep their state, their reason and their lease: nothing about them changed.
    expect(await get(retrying)).toMatchObject({ state: 'sealed', lastError: 'ThrottlingException: slow down', holdReason: null });
    expect(await get(inFlight)).toMatchObject({ state: 'sending', leaseOwner: 'old-owner', holdReason: null });
    expect(await get(accepted)).toMatchObject({ state: 'accepted', holdReason: null, awsRequestId: null });
    // Frozen content is untouched on every row.
    const after = await sql<Record<string, unknown>>`select * from meter_buckets order by id`.execute(db);
    const frozen = (r: Record<string, unknown>) => [
      r.id,
      r.quantity,
      r.identity_kind,
      r.customer_identifier,
      r.record_timestamp,
      r.aggregate,
    ];
    expect(after.rows.map(frozen)).toEqual(before.rows.map(frozen));
    // Forward-only and idempotent: a second run applies nothing.
    expect(await applyMigrations(db, dialect, schema, migrations.slice(0, 7))).toEqual([]);
  });
});
