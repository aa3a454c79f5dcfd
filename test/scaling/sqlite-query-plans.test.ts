import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CompiledQuery, sql } from 'kysely';
import { openStore, type Store } from '../../src/store/database';

/**
 * The sender's claim must read straight off the claim index whatever the backlog: with planner
 * statistics missing SQLite picked another index and sorted every sealed bucket on each claim.
 * The plan is asserted (not a timing), at 10k and at 100k buckets, so the test cannot flake.
 */
describe('SQLite query plans at scale', () => {
  let dir: string;
  let store: Store;
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'mb-plans-'));
    store = openStore({ kind: 'sqlite', path: join(dir, 'db.sqlite') });
    await store.migrate();
  });
  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** `rows` buckets for one customer, one in fifty still sealed, the rest accepted long ago. */
  async function seed(rows: number): Promise<void> {
    await sql`pragma foreign_keys = off`.execute(store.db);
    await sql`
      insert into meter_buckets (id, customer_id, product_code, dimension, hour, api, mode, aggregate, state,
                                 next_attempt_at, created_at, updated_at)
      with recursive n(i) as (select 1 union all select i + 1 from n where i < ${rows})
      select printf('b%08d', i), 'c1', 'prod', 'd', strftime('%Y-%m-%dT%H:00:00.000Z', '2010-01-01', '+' || i || ' hours'),
             'batch', 'sum', 'sum', case when i % 50 = 0 then 'sealed' else 'accepted' end,
             '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z'
      from n`.execute(store.db);
    await sql`pragma foreign_keys = on`.execute(store.db);
  }

  async function claimPlan(): Promise<string[]> {
    const query = store.db
      .selectFrom('meter_buckets')
      .select(['id', 'hour'])
      .where('state', '=', 'sealed')
      .where('next_attempt_at', '<=', '2027-01-01T00:00:00.000Z')
      .orderBy('state')
      .orderBy('hour')
      .orderBy('id')
      .limit(100)
      .compile();
    // EXPLAIN binds the same parameters as the statement it explains.
    const { rows } = await store.db.executeQuery<{ detail: string }>(
      CompiledQuery.raw(`explain query plan ${query.sql}`, [...query.parameters]),
    );
    return rows.map((r) => r.detail);
  }

  it.each([10_000, 100_000])('claims from %i buckets read the claim index in order, with no sort', async (rows) => {
    await seed(rows);
    await store.refreshPlannerStatistics();
    const plan = await claimPlan();
    expect(plan.join(' | ')).toMatch(/USING INDEX meter_buckets_claim/);
    expect(plan.join(' | ')).not.toMatch(/TEMP B-TREE/);
  });
});
