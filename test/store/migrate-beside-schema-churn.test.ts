import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { postgresAvailable, openTestStore } from '../support/stores';

/**
 * Migrations and readiness on a PostgreSQL database that other applications share: schemas
 * created and dropped meanwhile must not fail the start-up migration or the readiness probe.
 */
const postgres = postgresAvailable('migrations beside schema churn');

(postgres ? describe : describe.skip)('migrations while other schemas come and go (postgres)', () => {
  it('migrate and isReady succeed while another client creates and drops schemas', async () => {
    const url = process.env.TEST_DATABASE_URL!;
    // Several clients create and drop schemas with tables, columns and indexes, as other
    // applications' migrations and test suites sharing the database do.
    const churners = await Promise.all(
      [1, 2, 3].map(async () => {
        const c = new Client({ connectionString: url });
        await c.connect();
        return c;
      }),
    );
    let stop = false;
    const churning = churners.map(async (churn) => {
      while (!stop) {
        const name = `churn_${randomBytes(4).toString('hex')}`;
        await churn.query(`create schema ${name}`);
        await churn.query(`create table ${name}.t (id serial primary key, a text, b text, c text)`);
        await churn.query(`create index on ${name}.t (a, b)`);
        await churn.query(`drop schema ${name} cascade`);
      }
    });
    try {
      for (let i = 0; i < 20; i++) {
        const t = await openTestStore('postgres'); // creates a schema and migrates it
        try {
          expect(await t.store.isReady()).toBe(true);
          expect((await t.store.migrate()).applied).toEqual([]);
        } finally {
          await t.dispose();
        }
      }
    } finally {
      stop = true;
      await Promise.all(churning);
      await Promise.all(churners.map((c) => c.end()));
    }
  }, 60_000);
});
