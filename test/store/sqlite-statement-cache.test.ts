import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { openStore, type Store } from '../../src/store/database';

/**
 * The SQLite store keeps prepared statements per SQL text. Answers must stay right when a cached
 * statement's table changes shape, when more texts are used than the cache holds, and when a
 * statement is reused with other parameters.
 */
describe('SQLite prepared-statement cache', () => {
  let dir: string;
  let store: Store;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'mb-stmt-'));
    store = openStore({ kind: 'sqlite', path: join(dir, 'db.sqlite') });
  });
  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a cached select * sees a column added after it was first run', async () => {
    await sql`create table t (id integer primary key, a text)`.execute(store.db);
    await sql`insert into t (id, a) values (1, 'x')`.execute(store.db);
    const selectAll = () => sql<Record<string, unknown>>`select * from t where id = ${1}`.execute(store.db);
    expect((await selectAll()).rows).toEqual([{ id: 1, a: 'x' }]);
    await sql`alter table t add column b text default 'y'`.execute(store.db);
    expect((await selectAll()).rows).toEqual([{ id: 1, a: 'x', b: 'y' }]);
  });

  it('reused statements bind their own parameters; more texts than the cache holds still answer right', async () => {
    await sql`create table n (v integer)`.execute(store.db);
    for (let i = 0; i < 50; i++) await sql`insert into n (v) values (${i})`.execute(store.db);
    for (let round = 0; round < 2; round++) {
      for (let k = 0; k < 700; k++) {
        // 700 distinct texts (the literal differs), each with a bound parameter.
        const { rows } = await sql<{ c: number }>`select count(*) + ${sql.lit(k)} as c from n where v < ${k % 50}`.execute(store.db);
        expect(rows[0]!.c).toBe((k % 50) + k);
      }
    }
  });
});
