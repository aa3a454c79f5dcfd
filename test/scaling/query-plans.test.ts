import { CompiledQuery, sql, type KyselyPlugin, type RootOperationNode } from 'kysely';
import { emptyAggregate } from '../../src/metering/aggregation';
import { BucketRepository, SQLITE_BUCKET_BY_KEY } from '../../src/metering/bucket.repository';
import { BucketTransitions } from '../../src/metering/bucket-transitions.repository';
import { UsageEventRepository } from '../../src/metering/usage-event.repository';
import type { Db } from '../../src/store/schema';
import { describeDialects, openTestStore, type TestStore } from '../support/stores';

const HOUR = 3_600_000;
const START = Date.parse('2010-01-01T00:00:00Z');
const CUSTOMERS_PER_10K = 100;
const EMPTY_SUM = JSON.stringify(emptyAggregate('sum'));

/**
 * The hot statements of the metering path must read an index whatever the backlog, on both
 * engines: the sender's claim, a usage batch's bucket and idempotency look-ups, the MeterUsage
 * slot holder, one customer's records (the API) and one customer's open buckets (its final flush).
 * The statements are the repositories' own (captured as they run, then EXPLAINed with the same
 * parameters), at 10k and at 100k buckets, after the planner statistics are refreshed as the
 * service does. The plans are asserted, not timings, so the test cannot flake; each statement's
 * cost is bounded by what it returns, so 10x the rows costs the same.
 */
describeDialects('query plans at scale on %s', (dialect) => {
  let t: TestStore;
  beforeEach(async () => {
    t = await openTestStore(dialect);
  });
  afterEach(async () => t.dispose());

  /** `rows` buckets over `rows / 100` customers (100 hours each), one in fifty sealed, and a usage event per bucket. */
  async function seed(rows: number): Promise<void> {
    const customers = (rows / 10_000) * CUSTOMERS_PER_10K;
    if (dialect === 'sqlite') {
      await sql`pragma foreign_keys = off`.execute(t.store.db);
      await sql`
        insert into meter_buckets (id, customer_id, product_code, dimension, hour, api, mode, aggregate, state,
                                   next_attempt_at, created_at, updated_at)
        with recursive n(i) as (select 0 union all select i + 1 from n where i < ${rows - 1})
        select printf('b%08d', i), printf('c%06d', i % ${customers}), 'prod', 'd',
               strftime('%Y-%m-%dT%H:00:00.000Z', '2010-01-01', '+' || (i / ${customers}) || ' hours'),
               'batch', 'sum', ${EMPTY_SUM}, case when i % 50 = 0 then 'sealed' else 'accepted' end,
               '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z'
        from n`.execute(t.store.db);
      await sql`
        insert into usage_events (id, customer_id, idempotency_key, fingerprint, dimension, quantity, usage_time,
                                  bucket_id, bucket_hour, rolled_forward, received_at)
        select 'e' || substr(id, 2), customer_id, 'k' || substr(id, 2), 'f', 'd', 1, hour, id, hour, 0, hour from meter_buckets`.execute(
        t.store.db,
      );
      await sql`pragma foreign_keys = on`.execute(t.store.db);
    } else {
      await sql`set session_replication_role = replica`.execute(t.store.db);
      await sql`
        insert into meter_buckets (id, customer_id, product_code, dimension, hour, api, mode, aggregate, state,
                                   next_attempt_at, created_at, updated_at, usage_count, heartbeat, attempts)
        select 'b' || lpad(i::text, 8, '0'), 'c' || lpad((i % ${customers})::text, 6, '0'), 'prod', 'd',
               timestamptz '2010-01-01T00:00:00Z' + (i / ${customers}) * interval '1 hour',
               'batch', 'sum', ${EMPTY_SUM}, case when i % 50 = 0 then 'sealed' else 'accepted' end,
               timestamptz '2026-01-01T00:00:00Z', now(), now(), 0, 0, 0
        from generate_series(0, ${rows - 1}) as i`.execute(t.store.db);
      await sql`
        insert into usage_events (id, customer_id, idempotency_key, fingerprint, dimension, quantity, usage_time,
                                  bucket_id, bucket_hour, rolled_forward, received_at)
        select 'e' || substr(id, 2), customer_id, 'k' || substr(id, 2), 'f', 'd', 1, hour, id, hour, 0, hour from meter_buckets`.execute(
        t.store.db,
      );
      await sql`set session_replication_role = origin`.execute(t.store.db);
    }
    await t.store.refreshPlannerStatistics();
  }

  /** Runs `work` against a handle that records every statement it sends, and returns them. */
  async function capture(work: (db: Db) => Promise<unknown>): Promise<RootOperationNode[]> {
    const nodes: RootOperationNode[] = [];
    const recorder: KyselyPlugin = {
      transformQuery: ({ node }) => {
        nodes.push(node);
        return node;
      },
      transformResult: ({ result }) => Promise.resolve(result),
    };
    await work(t.store.db.withPlugin(recorder));
    return nodes;
  }

  /** The plan of each SELECT among `nodes`, one line per plan step. */
  async function plans(nodes: readonly RootOperationNode[]): Promise<string[]> {
    const out: string[] = [];
    for (const node of nodes) {
      if (node.kind !== 'SelectQueryNode') continue;
      const q = t.store.db.getExecutor().compileQuery(node, { queryId: 'plan' });
      const prefix = dialect === 'sqlite' ? 'explain query plan ' : 'explain ';
      const { rows } = await t.store.db.executeQuery<Record<string, string>>(CompiledQuery.raw(prefix + q.sql, [...q.parameters]));
      out.push(rows.map((r) => r.detail ?? r['QUERY PLAN']).join(' | '));
    }
    return out;
  }

  /** No step reads the whole of a metering table. */
  function expectIndexed(plan: string): void {
    if (dialect === 'sqlite') expect(plan).not.toMatch(/SCAN (meter_buckets|usage_events)(?! USING)/);
    else expect(plan).not.toMatch(/Seq Scan on (meter_buckets|usage_events)/);
  }

  it.each([10_000, 100_000])('every hot statement reads an index at %i buckets', async (rows) => {
    await seed(rows);
    const customer = 'c000007';
    const lastHour = new Date(START + (rows / ((rows / 10_000) * CUSTOMERS_PER_10K) - 1) * HOUR);
    const statements: Record<string, RootOperationNode[]> = {
      claim: await capture((db) => new BucketTransitions(db, dialect).claimDue('plans', new Date('2027-01-01T00:00:00Z'), 60_000, 100)),
      'lock a batch’s buckets': await capture((db) =>
        db.transaction().execute((tx) =>
          new BucketRepository(db, dialect).lockOrCreateMany(
            tx,
            Array.from({ length: 50 }, (_, i) => ({
              customerId: `c${String(i).padStart(6, '0')}`,
              productCode: 'prod',
              dimension: 'd',
              hour: lastHour,
              api: 'batch' as const,
              mode: 'sum' as const,
            })),
            new Date(),
          ),
        ),
      ),
      'idempotency keys': await capture((db) =>
        db.transaction().execute((tx) =>
          new UsageEventRepository().findByKeys(
            tx,
            Array.from({ length: 200 }, (_, i) => ({
              customerId: `c${String(i % 40).padStart(6, '0')}`,
              idempotencyKey: `k${String(i).padStart(7, '0')}`,
            })),
          ),
        ),
      ),
      // A single-record write (on PostgreSQL through the recording handle; on SQLite see rawPlans).
      'lock one record’s bucket': await capture((db) =>
        db
          .transaction()
          .execute((tx) =>
            new BucketRepository(db, dialect).lockOrCreateMany(
              tx,
              [{ customerId: customer, productCode: 'prod', dimension: 'd', hour: lastHour, api: 'batch' as const, mode: 'sum' as const }],
              new Date(),
            ),
          ),
      ),
      'one idempotency key': await capture((db) =>
        db.transaction().execute((tx) => new UsageEventRepository().findByKeys(tx, [{ customerId: customer, idempotencyKey: 'k0000007' }])),
      ),
      'MeterUsage slot holder': await capture((db) =>
        db
          .transaction()
          .execute((tx) =>
            new BucketRepository(db, dialect).meterUsageHolder(tx, 'prod', customer, new Date(lastHour.getTime() - 6 * HOUR)),
          ),
      ),
      'one customer’s records': await capture((db) => new BucketRepository(db, dialect).list({ customerId: customer, limit: 100 })),
      'one customer’s open buckets (final flush)': await capture((db) =>
        new BucketRepository(db, dialect).listInState('open', new Date('2027-01-01T00:00:00Z'), { customerId: customer }),
      ),
    };
    // On SQLite a batch's buckets, one record's included, are read by a statement prepared on the
    // connection, one per bucket.
    const bucketByKey =
      dialect === 'sqlite'
        ? (
            await t.store.db.executeQuery<Record<string, string>>(
              CompiledQuery.raw(`explain query plan ${SQLITE_BUCKET_BY_KEY}`, ['c000007', 'd', lastHour.toISOString()]),
            )
          ).rows.map((r) => r.detail!)
        : [];
    const rawPlans: Record<string, string[]> =
      dialect === 'sqlite' ? { 'lock a batch’s buckets': bucketByKey, 'lock one record’s bucket': bucketByKey } : {};
    for (const [name, nodes] of Object.entries(statements)) {
      const found = [...(await plans(nodes)), ...(rawPlans[name] ?? [])];
      expect([name, found.length > 0]).toEqual([name, true]);
      for (const plan of found) {
        try {
          expectIndexed(plan);
        } catch (error) {
          throw new Error(`${name}: ${plan}`, { cause: error });
        }
      }
    }
  });

  if (dialect === 'sqlite')
    it('the claim reads the claim index in order, with no sort', async () => {
      await seed(100_000);
      const [sealed] = await plans(
        await capture((db) => new BucketTransitions(db, dialect).claimDue('plans', new Date('2027-01-01T00:00:00Z'), 60_000, 100)),
      );
      expect(sealed).toMatch(/USING INDEX meter_buckets_claim/);
      expect(sealed).not.toMatch(/TEMP B-TREE/);
    });
});
