import { Client } from 'pg';
import { sql } from 'kysely';
import { isTransientDbError } from '../../src/store/dialect';
import { isAppError } from '../../src/platform/errors';
import { translateError } from '../../routes/support/problem-json';
import { openTestStore, postgresAvailable, type TestStore } from '../support/stores';
import { until } from '../support/until';

/**
 * A PostgreSQL connection lost in the middle of a transaction (the server restarted, a proxy cut
 * it): the next statement and the rollback fail with node-postgres's "Client has encountered a
 * connection error and is not queryable", an error without a code, which Kysely raises in place of
 * the first. It is the store being away like any other, a 503 the caller retries, not a 500
 * (found by the store-outage reliability suite).
 */
const onPostgres = postgresAvailable('a connection lost inside a transaction');

(onPostgres ? describe : describe.skip)('a PostgreSQL connection lost inside a transaction', () => {
  let t: TestStore;
  beforeAll(async () => {
    t = await openTestStore('postgres');
  });
  afterAll(async () => {
    await t?.dispose();
  });

  it('fails as the store being unavailable (503), and the store serves the next request', async () => {
    const admin = new Client({ connectionString: process.env.TEST_DATABASE_URL });
    await admin.connect();
    const failure = await t.store.db
      .transaction()
      .execute(async (tx) => {
        const { rows } = await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(tx);
        await admin.query('select pg_terminate_backend($1)', [rows[0]!.pid]);
        // Until the client has seen its connection go (the server's notice arrives on its own).
        await until(
          'the client to see its connection lost',
          async () => {
            const probe = await sql`select 1 as one`.execute(tx).then(
              () => undefined,
              (error: unknown) => error,
            );
            return probe ?? undefined;
          },
          { timeoutMs: 10_000, intervalMs: 20 },
        );
        await sql`select 1 as one`.execute(tx);
      })
      .then(
        () => undefined,
        (error: unknown) => error,
      );
    await admin.end();

    expect(failure).toBeInstanceOf(Error);
    expect(isTransientDbError(failure)).toBe(true);
    const translated = translateError(failure);
    expect(isAppError(translated) && { status: translated.httpStatus, code: translated.code }).toEqual({
      status: 503,
      code: 'store_unavailable',
    });
    // The pool dropped the broken client: the next statement runs on a fresh connection.
    const { rows } = await sql<{ one: number }>`select 1 as one`.execute(t.store.db);
    expect(rows).toEqual([{ one: 1 }]);
  });

  it('does not take the process down when the connection is lost while the transaction awaits other work', async () => {
    // No statement in flight: node-postgres emits the loss on the checked-out client itself, and
    // an 'error' nobody listens to would be an uncaught exception.
    const admin = new Client({ connectionString: process.env.TEST_DATABASE_URL });
    await admin.connect();
    const uncaught: unknown[] = [];
    const onUncaught = (error: unknown) => uncaught.push(error);
    process.prependListener('uncaughtException', onUncaught);
    try {
      const failure = await t.store.db
        .transaction()
        .execute(async (tx) => {
          const { rows } = await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(tx);
          const { rows: gone } = await admin.query<{ gone: boolean }>('select pg_terminate_backend($1) as gone', [rows[0]!.pid]);
          expect(gone).toEqual([{ gone: true }]);
          await new Promise((r) => setTimeout(r, 300));
          await sql`select 1 as one`.execute(tx);
        })
        .then(
          () => undefined,
          (error: unknown) => error,
        );
      expect(isTransientDbError(failure)).toBe(true);
    } finally {
      process.removeListener('uncaughtException', onUncaught);
      await admin.end();
    }
    expect(uncaught).toEqual([]);
  });
});

describe("node-postgres's errors of a lost connection", () => {
  it.each([
    'Client has encountered a connection error and is not queryable',
    'Client was closed and is not queryable',
    'Connection terminated unexpectedly',
    'Connection terminated',
  ])('knows node-postgres\'s "%s" as the store being away', (message) => {
    expect(isTransientDbError(new Error(message))).toBe(true);
  });

  it('does not take a statement error for the store being away', () => {
    expect(isTransientDbError(Object.assign(new Error('relation "nope" does not exist'), { code: '42P01' }))).toBe(false);
    expect(isTransientDbError(new Error('Client has already been connected. You cannot reuse a client.'))).toBe(false);
  });
});
