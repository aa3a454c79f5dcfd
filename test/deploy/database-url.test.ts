import { randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import { Client } from 'pg';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DATABASE_NAME, databaseUrl } from '../../deploy/lib/service-database';
import { loadConfig } from '../../src/config';
import { openStore } from '../../src/store/database';
import { announceSkip } from '../support/skip-notice';
import { products } from './fixtures';

const DATABASE_URL = databaseUrl();
const PG_VARIABLES = ['PGHOST', 'PGPORT', 'PGUSER', 'PGPASSWORD', 'PGDATABASE', 'PGSSLMODE'] as const;

/** Runs `fn` with the PG* variables ECS would set from the RDS secret, then restores the environment. */
async function withPgEnvironment<T>(values: Partial<Record<(typeof PG_VARIABLES)[number], string>>, fn: () => Promise<T> | T): Promise<T> {
  const saved = Object.fromEntries(PG_VARIABLES.map((name) => [name, process.env[name]]));
  for (const name of PG_VARIABLES) delete process.env[name];
  Object.assign(process.env, values);
  try {
    return await fn();
  } finally {
    for (const name of PG_VARIABLES) {
      if (saved[name] === undefined) delete process.env[name];
      else process.env[name] = saved[name];
    }
  }
}

describe('DATABASE_URL of the service stack, completed by the PG* variables from the RDS secret', () => {
  it('node-postgres takes host, port, user and password from PG*, the database and TLS from the URL', async () => {
    // RDS-generated passwords exclude a few characters only; these would break a URL unless escaped.
    const password = 'p:a/ss=w,o.r-d_9';
    const client = await withPgEnvironment(
      { PGHOST: 'mb.abc123.us-east-1.rds.amazonaws.com', PGPORT: '5432', PGUSER: 'mbadmin', PGPASSWORD: password },
      () => new Client({ connectionString: DATABASE_URL }),
    );
    expect({
      host: client.host,
      port: client.port,
      user: client.user,
      password: client.password,
      database: client.database,
      ssl: client.ssl,
    }).toEqual({
      host: 'mb.abc123.us-east-1.rds.amazonaws.com',
      port: 5432,
      user: 'mbadmin',
      password,
      database: DATABASE_NAME,
      // Encrypted; the RDS CA is not in the image, so the certificate is not verified (deploy/README.md).
      ssl: { rejectUnauthorized: false },
    });
  });

  it('with the RDS CA bundle in the image, the certificate and the host name are verified', async () => {
    const bundle = join(mkdtempSync(join(tmpdir(), 'mb-ca-')), 'rds-global-bundle.pem');
    writeFileSync(bundle, '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');
    expect(databaseUrl(bundle)).toBe(`postgres:///marketplace_bridge?sslmode=verify-full&sslrootcert=${encodeURIComponent(bundle)}`);
    const client = await withPgEnvironment(
      { PGHOST: 'mb.abc123.us-east-1.rds.amazonaws.com' },
      () => new Client({ connectionString: databaseUrl(bundle) }),
    );
    // node-postgres verifies unless told not to; the bundle is the only CA trusted.
    expect(client.ssl).toEqual({ ca: expect.stringContaining('BEGIN CERTIFICATE') });
  });

  it('the service configuration accepts it as a PostgreSQL URL in aws mode', () => {
    const config = loadConfig({
      NODE_ENV: 'production',
      MARKETPLACE_MODE: 'aws',
      DATABASE_URL,
      SESSION_SECRET: 'x'.repeat(64),
      API_KEYS: 'y'.repeat(48),
      SUPPORT_EMAIL: 'support@example.com',
      MARKETPLACE_PRODUCTS: JSON.stringify(products),
      PUBLIC_URL: 'https://marketplace.example.com',
    });
    expect(config.database).toEqual({ kind: 'postgres', url: DATABASE_URL });
    // A bare generated key (what the stack's API_KEYS secret holds) is a valid key, named key1.
    expect(config.apiKeys.map((k) => k.name)).toEqual(['key1']);
  });

  const testDatabase = process.env.TEST_DATABASE_URL;
  if (!testDatabase) announceSkip('"DATABASE_URL completed by PG* against PostgreSQL" did not run: TEST_DATABASE_URL is not set.');
  (testDatabase ? it : it.skip)('the service store connects with a URL that names only the database, the rest from PG*', async () => {
    const target = new URL(testDatabase!);
    const schema = `t_${randomBytes(6).toString('hex')}`;
    const database = target.pathname.slice(1);
    await withPgEnvironment(
      {
        PGHOST: target.hostname,
        PGPORT: target.port || '5432',
        PGUSER: decodeURIComponent(target.username),
        ...(target.password ? { PGPASSWORD: decodeURIComponent(target.password) } : {}),
      },
      async () => {
        // The same form as the stack's URL; the local server has no TLS, so no sslmode here.
        const admin = new Client({ connectionString: `postgres:///${database}` });
        await admin.connect();
        await admin.query(`create schema ${schema}`);
        await admin.end();
        const store = openStore({ kind: 'postgres', url: `postgres:///${database}`, schema, poolSize: 1 });
        try {
          await store.migrate();
          expect(await store.isReady()).toBe(true);
          const { rows } = await sql<{ user: string }>`select current_user as user`.execute(store.db);
          expect(rows[0]?.user).toBe(decodeURIComponent(target.username));
        } finally {
          await store.close();
          const cleanup = new Client({ connectionString: `postgres:///${database}` });
          await cleanup.connect();
          await cleanup.query(`drop schema ${schema} cascade`);
          await cleanup.end();
        }
      },
    );
  });
});
