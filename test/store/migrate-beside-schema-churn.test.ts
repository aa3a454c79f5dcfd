import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { dialects, openTestStore } from '../support/stores';

/**
 * Migrations and readiness on a PostgreSQL database that other applications share: schemas
 * created and dropped meanwhile must not fail the start-up migration or the readiness probe.
 */
const postgres = dialects('migrations beside schema churn').includes('postgres');

(postgres ? describe : describe.skip)('migrations while other schemas come and go (postgres)', () => {
  it('migrate and isReady succeed while another client creates and drops schemas', async () => {
    const url = process.env.TEST_DATABASE_URL!;
    const churn = new Client({ connectionString: url });
    await churn.connect();
    let stop = false;
    const churning = (async () => {
      while (!stop) {
        const name = `churn_${randomBytes(4).toString('hex')}`;
        await churn.query(`create schema ${name}`);
        await churn.query(`create table ${name}.t (id serial primary key, a text, b text, c text)`);
        await churn.query(`drop schema ${name} cascade`);
        await new Promise((r) => setTimeout(r, 5));
      }
    })();
    try {
      for (let i = 0; i < 12; i++) {
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
      await churning;
      await churn.end();
    }
  }, 60_000);
});
