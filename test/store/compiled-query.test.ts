import type { KyselyPlugin } from 'kysely';
import { compiledRowStatement, compiledStatement } from '../../src/store/compiled-query';
import { describeDialects, openTestStore, postgresAvailable, type TestStore } from '../support/stores';

describeDialects('compiled statements on %s', (dialect) => {
  let t: TestStore;
  beforeEach(async () => {
    t = await openTestStore(dialect);
  });
  afterEach(async () => t.dispose());

  const lease = (name: string, holder: string, fencing: number) => ({
    name,
    holder,
    expires_at: '2026-12-01T10:00:00.000Z',
    acquired_at: '2026-12-01T09:00:00.000Z',
    fencing,
  });

  it('runs one compiled text with each call’s values, in a transaction too, and keeps the statement’s own constants', async () => {
    const db = t.store.db;
    let builds = 0;
    const insert = compiledStatement((db, name: string, holder: string, fencing: number) => {
      builds += 1;
      return db.insertInto('leases').values({ ...lease(name, holder, fencing), expires_at: '2026-12-01T10:00:00.000Z' });
    });
    // A constant (the holder) between two arguments, an argument used twice.
    const find = compiledStatement((db, name: string, fencing: number) => {
      builds += 1;
      return db
        .selectFrom('leases')
        .select(['name', 'holder', 'fencing'])
        .where('holder', '<>', 'nobody')
        .where((eb) => eb.or([eb('name', '=', name), eb('fencing', '=', fencing), eb('name', '=', `${name}`)]))
        .orderBy('name');
    });
    await insert(db, 'a', 'alice', 1);
    await insert(db, 'b', 'bob', 2);
    await db.transaction().execute(async (tx) => {
      await insert(tx, 'c', 'carol', 3);
      expect((await find(tx, 'c', -1)).rows).toEqual([{ name: 'c', holder: 'carol', fencing: 3 }]);
    });
    expect((await find(db, 'a', -1)).rows).toEqual([{ name: 'a', holder: 'alice', fencing: 1 }]);
    expect((await find(db, 'zzz', 2)).rows).toEqual([{ name: 'b', holder: 'bob', fencing: 2 }]);
    expect((await find(db, 'b', 1)).rows.map((r) => r.name)).toEqual(['a', 'b']);
    expect((await find(db, 'nothing', 0)).rows).toEqual([]);
    // Built (and compiled) once each, whatever the number of calls.
    expect(builds).toBe(2);
  });

  it('reports affected rows of a compiled update and leaves other rows alone', async () => {
    const db = t.store.db;
    await db
      .insertInto('leases')
      .values([lease('x', 'h1', 1), lease('y', 'h2', 1)])
      .execute();
    const bump = compiledStatement((db, name: string, fencing: number) =>
      db.updateTable('leases').set({ fencing }).where('name', '=', name).where('holder', '<>', 'nobody'),
    );
    expect(Number((await bump(db, 'x', 7)).numAffectedRows)).toBe(1);
    expect(Number((await bump(db, 'missing', 9)).numAffectedRows)).toBe(0);
    const rows = await db.selectFrom('leases').select(['name', 'fencing']).orderBy('name').execute();
    expect(rows).toEqual([
      { name: 'x', fencing: 7 },
      { name: 'y', fencing: 1 },
    ]);
  });

  it('builds the statement per call on a handle with plugins, so they see (and may change) every query', async () => {
    const db = t.store.db;
    await db
      .insertInto('leases')
      .values([lease('p', 'h1', 1), lease('q', 'h2', 2)])
      .execute();
    const byName = compiledStatement((db, name: string) => db.selectFrom('leases').select('holder').where('name', '=', name));
    expect((await byName(db, 'p')).rows).toEqual([{ holder: 'h1' }]);
    const seen: string[] = [];
    const recorder: KyselyPlugin = {
      transformQuery: ({ node }) => {
        seen.push(node.kind);
        return node;
      },
      transformResult: ({ result }) => Promise.resolve(result),
    };
    expect((await byName(db.withPlugin(recorder), 'q')).rows).toEqual([{ holder: 'h2' }]);
    expect((await byName(db.withPlugin(recorder), 'p')).rows).toEqual([{ holder: 'h1' }]);
    expect(seen).toEqual(['SelectQueryNode', 'SelectQueryNode']);
    expect((await byName(db, 'q')).rows).toEqual([{ holder: 'h2' }]);
  });

  it('inserts one row of fixed columns per call, and refuses a row with other columns', async () => {
    const db = t.store.db;
    const insert = compiledRowStatement(['name', 'holder', 'expires_at', 'acquired_at', 'fencing'], (db, row: ReturnType<typeof lease>) =>
      db.insertInto('leases').values(row),
    );
    await insert(db, lease('r1', 'h1', 1));
    await insert(db, lease('r2', 'h2', 2));
    const { holder: _dropped, ...missing } = lease('r3', 'h3', 3);
    await expect(insert(db, missing as never)).rejects.toThrow(/columns name, expires_at, acquired_at, fencing, the statement/);
    await expect(insert(db, { ...lease('r4', 'h4', 4), extra: 1 } as never)).rejects.toThrow(/compiledRowStatement/);
    expect(await db.selectFrom('leases').select(['name', 'holder', 'fencing']).orderBy('name').execute()).toEqual([
      { name: 'r1', holder: 'h1', fencing: 1 },
      { name: 'r2', holder: 'h2', fencing: 2 },
    ]);
  });

  it('refuses a statement that does not use an argument as a value (it would run with a stale one)', async () => {
    const db = t.store.db;
    const ignoresOne = compiledStatement((db, name: string, _unused: string) =>
      db.selectFrom('leases').selectAll().where('name', '=', name),
    );
    await expect(ignoresOne(db, 'a', 'b')).rejects.toThrow(/1 of 2 placeholders are not parameters/);
  });
});

describe('a compiled statement on two dialects', () => {
  const run = postgresAvailable('a compiled statement on two dialects') ? it : it.skip;
  run('is compiled for each: one statement serves a SQLite and a PostgreSQL store in turn', async () => {
    const byName = compiledStatement((db, name: string) => db.selectFrom('leases').select('holder').where('name', '=', name));
    const stores = [await openTestStore('sqlite'), await openTestStore('postgres'), await openTestStore('sqlite')];
    try {
      for (const [i, s] of stores.entries()) {
        await s.store.db
          .insertInto('leases')
          .values({
            name: 'n',
            holder: `h${i}`,
            expires_at: '2026-12-01T10:00:00.000Z',
            acquired_at: '2026-12-01T09:00:00.000Z',
            fencing: 1,
          })
          .execute();
      }
      for (const [i, s] of [...stores.entries(), ...stores.entries()])
        expect((await byName(s.store.db, 'n')).rows).toEqual([{ holder: `h${i}` }]);
    } finally {
      for (const s of stores) await s.dispose();
    }
  });
});
