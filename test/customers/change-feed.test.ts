import { sql } from 'kysely';
import {
  recordCustomerChange,
  CustomerChangeFeed,
  encodeChangeCursor,
  decodeChangeCursor,
  type ChangeCursor,
} from '../../src/customers/customer-changes.repository';
import { CustomerProfileRepository } from '../../src/customers/customer-profile.repository';
import { CustomerRepository } from '../../src/customers/customer.repository';
import { openStore, type Store } from '../../src/store/database';
import { describeDialects, openTestStore, type TestStore } from '../support/stores';
import { until } from '../support/until';

const now = new Date('2026-12-01T10:00:00Z');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** One new version of a customer, written as the repository writes one, committed after `holdMs`. */
async function writeVersion(store: Store, customerId: string, holdMs: number, started?: () => void): Promise<void> {
  await store.db.transaction().execute(async (tx) => {
    await tx
      .updateTable('customers')
      .set((eb) => ({ version: eb('version', '+', 1) }))
      .where('id', '=', customerId)
      .execute();
    await recordCustomerChange(tx, customerId, 'updated', [], now);
    started?.();
    await sleep(holdMs);
  });
}

async function drain(feed: CustomerChangeFeed, from: ChangeCursor | null) {
  const seen: Array<{ seq: number; cursor: string; customerId: string; version: number }> = [];
  let cursor = from;
  for (;;) {
    const page = await feed.read(cursor, 7);
    for (const c of page.changes)
      seen.push({ seq: c.cursor.seq, cursor: encodeChangeCursor(c.cursor), customerId: c.customerId, version: c.version });
    if (page.changes.length > 0) cursor = page.changes[page.changes.length - 1]!.cursor;
    if (!page.hasMore) return { seen, cursor };
  }
}

/**
 * The feed's first page once it holds at least `count` changes. On PostgreSQL a committed row is
 * held back while any older transaction on the server is still running (other suites' included),
 * so a read right after a write may legitimately come back short for a moment.
 */
async function firstPageWith(feed: CustomerChangeFeed, count: number, limit = 10) {
  return until(`${count} changes in the feed`, async () => {
    const page = await feed.read(null, limit);
    return page.changes.length >= count && page;
  });
}

describeDialects('change feed on %s', (dialect) => {
  let t: TestStore;
  let customers: CustomerRepository;
  let feed: CustomerChangeFeed;
  beforeEach(async () => {
    t = await openTestStore(dialect);
    customers = new CustomerRepository(t.store.db);
    feed = new CustomerChangeFeed(t.store.db, t.store.dialect);
  });
  afterEach(async () => t.dispose());

  it('records every customer write as a version with the whole customer, and its kind', async () => {
    const c = await customers.upsert({ productCode: 'p', customerIdentifier: 'ci-1' }, now, { registered: true });
    await customers.saveOnboarding(c.id, { email: 'ann@acme.example', company: 'Acme', contactName: 'Ann' }, now);
    await customers.replaceEntitlements(c.id, [{ dimension: 'seats', value: { type: 'integer', value: 5 }, expirationDate: null }], now);
    await new CustomerProfileRepository(t.store.db).setExternalId(c.id, 'tenant-1', now);
    const page = await firstPageWith(feed, 4);
    const { seen } = await drain(feed, null);
    expect(page.changes.map((x) => x.change)).toEqual(['registered', 'onboarded', 'entitlements_changed', 'external_id_changed']);
    expect(seen.map((s) => s.version)).toEqual([1, 2, 3, 4]);
    const last = page.changes[3]!.customer;
    expect(last).toMatchObject({
      id: c.id,
      externalId: 'tenant-1',
      onboarding: { email: 'ann@acme.example', company: 'Acme' },
      entitlements: [{ dimension: 'seats', valueType: 'integer', value: 5, expirationDate: null }],
    });
    // A re-read that finds the same contract is no new version: once a later write of another
    // customer is visible, the feed still holds four versions of this one.
    await customers.replaceEntitlements(c.id, [{ dimension: 'seats', value: { type: 'integer', value: 5 }, expirationDate: null }], now);
    await customers.upsert({ productCode: 'p', customerIdentifier: 'ci-marker' }, now, { registered: true });
    const later = await firstPageWith(feed, 5);
    expect(later.changes.filter((x) => x.customerId === c.id)).toHaveLength(4);
    expect(later.changes).toHaveLength(5);
  });

  it('a version stored before previousCustomerId existed reads with previousCustomerId null', async () => {
    const c = await customers.upsert({ productCode: 'p', customerIdentifier: 'ci-old' }, now, { registered: true });
    const row = await t.store.db
      .selectFrom('customer_changes')
      .select(['seq', 'customer'])
      .where('customer_id', '=', c.id)
      .executeTakeFirstOrThrow();
    const { previousCustomerId, ...old } = JSON.parse(row.customer) as Record<string, unknown>;
    expect(previousCustomerId).toBeNull();
    await t.store.db
      .updateTable('customer_changes')
      .set({ customer: JSON.stringify(old) })
      .where('seq', '=', row.seq)
      .execute();
    // Read once the row is visible (another suite's transaction on the server may hold it back).
    const page = await firstPageWith(feed, 1);
    expect(page.changes).toHaveLength(1);
    expect(page.changes[0]!.customer).toMatchObject({ id: c.id, previousCustomerId: null });
  });

  it('an erasure scrubs every stored version and appends a tombstone', async () => {
    const c = await customers.upsert({ productCode: 'p', customerIdentifier: 'ci-2' }, now, { registered: true });
    await customers.saveOnboarding(c.id, { email: 'bob@acme.example', company: 'Acme', contactName: 'Bob' }, now);
    await new CustomerProfileRepository(t.store.db).erasePersonalData(c.id, now);
    const page = await firstPageWith(feed, 3);
    expect(page.changes.map((x) => [x.change, x.deleted])).toEqual([
      ['registered', false],
      ['onboarded', false],
      ['personal_data_erased', true],
    ]);
    expect(JSON.stringify(page.changes)).not.toMatch(/bob@acme|"Acme"|"Bob"/);
    expect(page.changes[2]!.customer).toMatchObject({ personalDataErasedAt: now.toISOString(), customerIdentifier: 'ci-2' });
  });

  it('cursors are opaque text that sorts like the feed, and refuse anything else', () => {
    const a = encodeChangeCursor({ txid: 5, seq: 900 });
    const b = encodeChangeCursor({ txid: 6, seq: 1 });
    expect(a < b).toBe(true);
    expect(decodeChangeCursor(a)).toEqual({ txid: 5, seq: 900 });
    for (const bad of ['', 'zz', '0'.repeat(31), `${'f'.repeat(16)}${'0'.repeat(16)}`, '0'.repeat(33)])
      expect(decodeChangeCursor(bad)).toBeUndefined();
  });

  it('a reader never skips a row that commits after a later-started one (late commit)', async () => {
    const a = await customers.upsert({ productCode: 'p', customerIdentifier: 'late-a' }, now);
    const b = await customers.upsert({ productCode: 'p', customerIdentifier: 'late-b' }, now);
    await firstPageWith(feed, 2);
    const { cursor: start } = await drain(feed, null);
    // A second handle on the same database: the reader (and on SQLite, the one writer at a time) is apart from the writer.
    const readerStore = dialect === 'sqlite' ? openStore({ kind: 'sqlite', path: sqlitePath(t) }) : t.store;
    const reader = new CustomerChangeFeed(readerStore.db, readerStore.dialect);
    try {
      let aWritten!: () => void;
      const aStarted = new Promise<void>((r) => (aWritten = r));
      let release!: () => void;
      const gate = new Promise<void>((r) => (release = r));
      // A writes first (so on PostgreSQL it holds the older transaction id) and commits last.
      const slow = t.store.db.transaction().execute(async (tx) => {
        await tx
          .updateTable('customers')
          .set((eb) => ({ version: eb('version', '+', 1) }))
          .where('id', '=', a.id)
          .execute();
        await recordCustomerChange(tx, a.id, 'updated', [], now);
        aWritten();
        await gate;
      });
      await aStarted;
      if (dialect === 'postgres') await writeVersion(t.store, b.id, 0);
      const during = await drain(reader, start);
      // B committed meanwhile on PostgreSQL; it must wait behind A, or A would fall behind the cursor.
      expect(during.seen.map((s) => s.customerId)).toEqual([]);
      release();
      await slow;
      if (dialect === 'sqlite') await writeVersion(t.store, b.id, 0);
      // Both now, A included: on PostgreSQL as soon as no older transaction is running anywhere on the server.
      const after = await until('both rows in the feed', async () => {
        const page = await drain(reader, during.cursor ?? start);
        return page.seen.length >= 2 && page;
      });
      expect(after.seen.map((s) => s.customerId).sort()).toEqual([a.id, b.id].sort());
    } finally {
      if (readerStore !== t.store) await readerStore.close();
    }
  });

  it('concurrent writers holding their transactions open for random times: the reader gets every row once, in cursor order', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 6; i++) ids.push((await customers.upsert({ productCode: 'p', customerIdentifier: `stress-${i}` }, now)).id);
    await firstPageWith(feed, 6);
    const { cursor: start } = await drain(feed, null);
    const readerStore = dialect === 'sqlite' ? openStore({ kind: 'sqlite', path: sqlitePath(t) }) : t.store;
    const reader = new CustomerChangeFeed(readerStore.db, readerStore.dialect);
    let random = 42;
    const rand = () => (random = (random * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    let writing = true;
    const read: Array<{ seq: number; cursor: string }> = [];
    const poller = (async () => {
      let cursor = start;
      while (writing) {
        const page = await drain(reader, cursor);
        read.push(...page.seen);
        cursor = page.cursor ?? cursor;
        await sleep(3);
      }
      // Whatever committed last may still be held back behind an older transaction elsewhere.
      await until('every version read', async () => {
        const page = await drain(reader, cursor);
        read.push(...page.seen);
        cursor = page.cursor ?? cursor;
        return read.length >= 48;
      });
    })();
    try {
      // Four writers at once, each writing versions of its own customers and now and then a shared one.
      await Promise.all(
        [0, 1, 2, 3].map(async (w) => {
          for (let i = 0; i < 12; i++) {
            const customer = i % 4 === 3 ? ids[5]! : ids[w]!;
            await writeVersion(t.store, customer, Math.floor(rand() * 25));
          }
        }),
      );
    } finally {
      writing = false;
      await poller;
      if (readerStore !== t.store) await readerStore.close();
    }
    const all = await t.store.db.selectFrom('customer_changes').select('seq').where('change', '=', 'updated').execute();
    expect(read).toHaveLength(48);
    expect(new Set(read.map((r) => r.seq))).toEqual(new Set(all.map((r) => Number(r.seq))));
    for (let i = 1; i < read.length; i++) expect(read[i]!.cursor > read[i - 1]!.cursor).toBe(true);
    // Per customer the versions are all there; a reader keeping the highest has the newest state.
    const versions = await t.store.db.selectFrom('customers').select(['id', 'version']).where('id', '=', ids[5]!).executeTakeFirstOrThrow();
    const page = await feed.read(null, 500);
    expect(Math.max(...page.changes.filter((c) => c.customerId === ids[5]).map((c) => c.version))).toBe(versions.version);
  });

  if (dialect === 'postgres') {
    it('uses the writing transaction id as the first part of the cursor', async () => {
      const c = await customers.upsert({ productCode: 'p', customerIdentifier: 'xid' }, now);
      const row = await t.store.db.selectFrom('customer_changes').select('txid').where('customer_id', '=', c.id).executeTakeFirstOrThrow();
      const { rows } = await sql<{ now: string }>`select pg_current_xact_id()::text as now`.execute(t.store.db);
      expect(Number(row.txid)).toBeGreaterThan(0);
      expect(Number(row.txid)).toBeLessThan(Number(rows[0]!.now));
    });
  }
});

function sqlitePath(t: TestStore): string {
  if (!t.sqlitePath) throw new Error('not a SQLite test store');
  return t.sqlitePath;
}
