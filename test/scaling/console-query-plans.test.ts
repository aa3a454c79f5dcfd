import { CompiledQuery, sql, type KyselyPlugin, type RootOperationNode } from 'kysely';
import { emptyAggregate } from '../../src/metering/aggregation';
import { ConsoleRepository } from '../../src/console/console.repository';
import type { Db } from '../../src/store/schema';
import { describeDialects, openTestStore, type TestStore } from '../support/stores';

const CUSTOMERS = 1_000;
const HOURS = 100;
const EMPTY_SUM = JSON.stringify(emptyAggregate('sum'));

/**
 * The console's statements read an index, never the whole of the metering tables (usage events,
 * hour buckets) and, for the searches, never the whole customers table: 100,000 buckets and usage
 * events over 1,000 customers and 20,000 notifications, planner statistics refreshed as the service does, each statement
 * captured as the repository runs it and EXPLAINed with the same parameters. Plans are asserted,
 * not timings (bench/console-pages.ts measures those).
 */
describeDialects('console query plans at scale on %s', (dialect) => {
  let t: TestStore;
  beforeAll(async () => {
    t = await openTestStore(dialect);
    const db = t.store.db;
    const rows = CUSTOMERS * HOURS;
    if (dialect === 'sqlite') {
      await sql`pragma foreign_keys = off`.execute(db);
      await sql`
        insert into customers (id, product_code, customer_aws_account_id, license_arn, free_trial, status, email, external_id,
                               created_at, updated_at, version)
        with recursive n(i) as (select 0 union all select i + 1 from n where i < ${CUSTOMERS - 1})
        select printf('c%06d', i), 'prod', printf('%012d', i), printf('arn:l-%d', i), 0,
               case when i % 10 = 0 then 'pending' else 'active' end, printf('b%d@x.example', i), printf('t-%d', i),
               strftime('%Y-%m-%dT%H:%M:%fZ', '2026-01-01', '+' || i || ' seconds'), '2026-01-01T00:00:00.000Z', 1
        from n`.execute(db);
      await sql`
        insert into meter_buckets (id, customer_id, product_code, dimension, hour, api, mode, aggregate, state, quantity,
                                   next_attempt_at, created_at, updated_at)
        with recursive n(i) as (select 0 union all select i + 1 from n where i < ${rows - 1})
        select printf('b%08d', i), printf('c%06d', i % ${CUSTOMERS}), 'prod', 'd',
               strftime('%Y-%m-%dT%H:00:00.000Z', '2026-03-01', '+' || (i / ${CUSTOMERS}) || ' hours'),
               'batch', 'sum', ${EMPTY_SUM}, case when i % 97 = 0 then 'failed' else 'accepted' end, 1,
               '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z'
        from n`.execute(db);
      await sql`pragma foreign_keys = on`.execute(db);
    } else {
      await sql`set session_replication_role = replica`.execute(db);
      await sql`
        insert into customers (id, product_code, customer_aws_account_id, license_arn, free_trial, status, email, external_id,
                               created_at, updated_at, version)
        select 'c' || lpad(i::text, 6, '0'), 'prod', lpad(i::text, 12, '0'), 'arn:l-' || i, 0,
               case when i % 10 = 0 then 'pending' else 'active' end, 'b' || i || '@x.example', 't-' || i,
               timestamptz '2026-01-01T00:00:00Z' + i * interval '1 second', now(), 1
        from generate_series(0, ${CUSTOMERS - 1}) as i`.execute(db);
      await sql`
        insert into meter_buckets (id, customer_id, product_code, dimension, hour, api, mode, aggregate, state, quantity,
                                   next_attempt_at, created_at, updated_at, usage_count, heartbeat, attempts)
        select 'b' || lpad(i::text, 8, '0'), 'c' || lpad((i % ${CUSTOMERS})::text, 6, '0'), 'prod', 'd',
               timestamptz '2026-03-01T00:00:00Z' + (i / ${CUSTOMERS}) * interval '1 hour',
               'batch', 'sum', ${EMPTY_SUM}, case when i % 97 = 0 then 'failed' else 'accepted' end, 1,
               now(), now(), now(), 0, 0, 0
        from generate_series(0, ${rows - 1}) as i`.execute(db);
      await sql`set session_replication_role = origin`.execute(db);
    }
    await sql`
      insert into usage_events (id, customer_id, idempotency_key, fingerprint, dimension, quantity, usage_time,
                                bucket_id, bucket_hour, rolled_forward, received_at)
      select 'e' || substr(id, 2), customer_id, 'k' || substr(id, 2), 'f', 'd', 1, hour, id, hour, 0, hour from meter_buckets`.execute(db);
    await sql`
      insert into events (dedupe_key, channel, kind, received_at, customer_id, outcome, payload)
      select 'k' || id, case when substr(id, 9, 1) in ('0', '1') then 'sqs:subscription' else 'sns-sqs' end, 'subscribe-success',
             hour, customer_id, 'applied', '{}'
      from meter_buckets where id < 'b00020000'`.execute(db);
    await t.store.refreshPlannerStatistics();
  }, 120_000);
  afterAll(async () => t.dispose());

  async function capture(work: (repo: ConsoleRepository) => Promise<unknown>): Promise<RootOperationNode[]> {
    const nodes: RootOperationNode[] = [];
    const recorder: KyselyPlugin = {
      transformQuery: ({ node }) => {
        nodes.push(node);
        return node;
      },
      transformResult: ({ result }) => Promise.resolve(result),
    };
    await work(new ConsoleRepository(t.store.db.withPlugin(recorder) as Db));
    return nodes;
  }

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

  const statements: Record<string, { tables: RegExp; run: (repo: ConsoleRepository) => Promise<unknown> }> = {
    'units billed per hour, 48 hours': {
      tables: /meter_buckets|usage_events/,
      run: (r) => r.billedPerHour(new Date('2026-03-03T04:00:00Z'), new Date('2026-03-05T04:00:00Z')),
    },
    'problem counts': { tables: /meter_buckets|usage_events/, run: (r) => r.problemCounts() },
    'problem list': { tables: /meter_buckets|usage_events/, run: (r) => r.problems(undefined, 200) },
    "one customer's grid": {
      tables: /meter_buckets|usage_events/,
      run: (r) => r.customerGrid('c000007', new Date('2026-03-03T04:00:00Z'), 500),
    },
    'search by LicenseArn, account, e-mail, external id': {
      tables: /customers|meter_buckets|usage_events/,
      run: (r) => r.listCustomers({ search: 'arn:l-77', limit: 51 }),
    },
    'first page of customers': { tables: /customers|meter_buckets|usage_events/, run: (r) => r.listCustomers({ limit: 51 }) },
    'last message per channel': { tables: /events/, run: (r) => r.lastReceived(['sqs:subscription', 'sns-sqs']) },
  };

  it.each(Object.keys(statements))('%s reads an index', async (name) => {
    const { tables, run } = statements[name]!;
    const found = await plans(await capture(run));
    expect(found.length).toBeGreaterThan(0);
    for (const plan of found) {
      const full =
        dialect === 'sqlite'
          ? new RegExp(`SCAN (${tables.source})(?! USING)`).exec(plan)
          : new RegExp(`Seq Scan on (${tables.source})\\b`).exec(plan);
      expect({ name, plan, fullScan: full?.[0] ?? null }).toEqual({ name, plan, fullScan: null });
    }
  });
});
