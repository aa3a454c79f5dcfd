import { ConsoleRepository } from '../../src/console/console.repository';
import type { Db } from '../../src/store/schema';
import { describeDialects, openTestStore, type TestStore } from '../support/stores';

const H = (iso: string) => new Date(iso);

async function customer(db: Db, id: string, fields: Record<string, unknown>): Promise<void> {
  await db
    .insertInto('customers')
    .values({
      id,
      product_code: 'p1',
      customer_identifier: null,
      customer_aws_account_id: null,
      license_arn: null,
      offer_id: null,
      agreement_id: null,
      free_trial: 0,
      status: 'active',
      status_event_time: null,
      status_event_rank: null,
      activated_at: null,
      final_window_opened_at: null,
      ended_at: null,
      email: null,
      company: null,
      contact_name: null,
      registered_at: null,
      onboarded_at: null,
      entitlements_fetched_at: null,
      created_at: '2026-03-01T00:00:00.000Z',
      updated_at: '2026-03-01T00:00:00.000Z',
      version: 1,
      subscription_bookkeeping: null,
      agreement_status: null,
      agreement_intent: null,
      external_id: null,
      personal_data_erased_at: null,
      ...fields,
    })
    .execute();
}

async function bucket(db: Db, id: string, customerId: string, hour: string, state: string, quantity: number | null): Promise<void> {
  await db
    .insertInto('meter_buckets')
    .values({
      id,
      customer_id: customerId,
      product_code: 'p1',
      dimension: 'api_calls',
      hour,
      api: 'batch',
      mode: 'sum',
      aggregate: JSON.stringify({ mode: 'sum', total: quantity ?? 3, parts: {} }),
      usage_count: 1,
      heartbeat: 0,
      state,
      quantity,
      attempts: 1,
      created_at: hour,
      updated_at: hour,
      customer_identifier: 'ci-1',
    })
    .execute();
}

describeDialects('console repository (%s)', (dialect) => {
  let t: TestStore;
  let repo: ConsoleRepository;
  beforeAll(async () => {
    t = await openTestStore(dialect);
    const db = t.store.db;
    repo = new ConsoleRepository(db);
    await customer(db, 'c1', { customer_identifier: 'ci-1', email: 'a@buyer.example', created_at: '2026-03-01T00:00:01.000Z' });
    await customer(db, 'c2', {
      customer_aws_account_id: '111122223333',
      license_arn: 'arn:aws:license-manager::111122223333:license:l-1',
      status: 'pending',
      created_at: '2026-03-01T00:00:02.000Z',
    });
    await customer(db, 'c3', { product_code: 'p2', external_id: 'tenant-9', created_at: '2026-03-01T00:00:03.000Z' });
    await bucket(db, 'b1', 'c1', '2026-03-10T08:00:00.000Z', 'accepted', 5);
    await bucket(db, 'b2', 'c2', '2026-03-10T08:00:00.000Z', 'accepted', 7);
    await bucket(db, 'b3', 'c1', '2026-03-10T09:00:00.000Z', 'failed', 4);
    await bucket(db, 'b4', 'c1', '2026-03-08T09:00:00.000Z', 'accepted', 100);
    await bucket(db, 'b5', 'c2', '2026-03-10T09:00:00.000Z', 'held', null);
  });
  afterAll(async () => t.dispose());

  it('counts customers by product and state', async () => {
    const counts = await repo.customerCounts();
    expect(counts.sort((a, b) => (a.productCode + a.status < b.productCode + b.status ? -1 : 1))).toEqual([
      { productCode: 'p1', status: 'active', count: 1 },
      { productCode: 'p1', status: 'pending', count: 1 },
      { productCode: 'p2', status: 'active', count: 1 },
    ]);
  });

  it('sums the accepted units per hour inside the range only', async () => {
    const billed = await repo.billedPerHour(H('2026-03-09T11:00:00.000Z'), H('2026-03-10T11:00:00.000Z'));
    expect([...billed]).toEqual([[H('2026-03-10T08:00:00.000Z').getTime(), 12]]);
  });

  it('counts and lists the problem records', async () => {
    expect(await repo.problemCounts()).toEqual({ expired: 0, duplicate: 0, not_subscribed: 0, failed: 1, held: 1 });
    expect((await repo.problems(undefined, 10)).map((p) => p.id).sort()).toEqual(['b3', 'b5']);
    expect((await repo.problems('held', 10)).map((p) => [p.id, p.billed, p.rawUsage])).toEqual([['b5', null, 3]]);
  });

  it('finds a customer by id, account, LicenseArn, CustomerIdentifier, e-mail and external id', async () => {
    for (const [q, id] of [
      ['c2', 'c2'],
      ['111122223333', 'c2'],
      ['arn:aws:license-manager::111122223333:license:l-1', 'c2'],
      ['ci-1', 'c1'],
      ['a@buyer.example', 'c1'],
      ['A@Buyer.example', 'c1'],
      ['tenant-9', 'c3'],
    ] as const)
      expect({ q, ids: (await repo.listCustomers({ search: q, limit: 10 })).map((c) => c.id) }).toEqual({ q, ids: [id] });
    expect(await repo.listCustomers({ search: 'nobody', limit: 10 })).toEqual([]);
  });

  it('pages newest first by keyset, with filters', async () => {
    const first = await repo.listCustomers({ limit: 2 });
    expect(first.map((c) => c.id)).toEqual(['c3', 'c2']);
    const next = await repo.listCustomers({ limit: 2, after: await repo.cursorOf('c2') });
    expect(next.map((c) => c.id)).toEqual(['c1']);
    expect((await repo.listCustomers({ limit: 10, productCode: 'p1', status: 'active' })).map((c) => c.id)).toEqual(['c1']);
  });

  it("reads one customer's grid from a given hour, newest first", async () => {
    const grid = await repo.customerGrid('c1', H('2026-03-09T12:00:00.000Z'), 10);
    expect(grid.map((g) => [g.id, g.state, g.billed])).toEqual([
      ['b3', 'failed', 4],
      ['b1', 'accepted', 5],
    ]);
  });

  it('finds the last message per channel', async () => {
    await t.store.db
      .insertInto('events')
      .values(
        ['2026-03-10T08:00:00.000Z', '2026-03-10T09:00:00.000Z'].map((at, i) => ({
          dedupe_key: `k${i}`,
          secondary_key: null,
          channel: 'sqs:subscription',
          kind: null,
          event_time: null,
          received_at: at,
          customer_id: null,
          outcome: 'rejected',
          reason: 'x',
          payload: '"x"',
          agreement_id: null,
        })),
      )
      .execute();
    const last = await repo.lastReceived(['sqs:subscription', 'sns-http']);
    expect(last.get('sqs:subscription')).toEqual(H('2026-03-10T09:00:00.000Z'));
    expect(last.get('sns-http')).toBeNull();
    expect(await repo.openNotificationCount()).toBe(2);
  });
});
