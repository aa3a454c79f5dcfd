import { randomUUID } from 'node:crypto';
import { CustomerRepository } from '../../src/customers/customer.repository';
import { toDbTime } from '../../src/store/dialect';
import { EndpointRepository } from '../../src/webhooks/endpoint.repository';
import { meteringRecordEvent } from '../../src/webhooks/metering-events';
import { appendOutboxEvent, type WebhookPayload } from '../../src/webhooks/outbox.repository';
import { describeDialects, openTestStore, type TestStore } from '../support/stores';

const now = new Date('2026-12-01T10:20:00Z');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The outbox API the metering transitions use: an event appended in a caller's Kysely transaction
 * exists exactly when that transaction commits, with one delivery per interested endpoint.
 */
describeDialects('webhook outbox on %s', (dialect) => {
  let t: TestStore;
  let customerId: string;
  beforeEach(async () => {
    t = await openTestStore(dialect);
    customerId = (await new CustomerRepository(t.store.db).upsert({ productCode: 'p', customerIdentifier: 'ci' }, now)).id;
    const endpoints = new EndpointRepository(t.store.db);
    await endpoints.create({ url: 'https://app.example.com/all', kind: 'standard' }, now);
    await endpoints.create({ url: 'https://app.example.com/metering', kind: 'standard', eventTypes: ['metering.record_duplicate'] }, now);
    await endpoints.create({ url: 'https://app.example.com/activations', kind: 'standard', eventTypes: ['customer.activated'] }, now);
  });
  afterEach(async () => t.dispose());

  /** A bucket row, as the metering code keeps them. */
  async function bucket(): Promise<string> {
    const id = randomUUID();
    await t.store.db
      .insertInto('meter_buckets')
      .values({
        id,
        customer_id: customerId,
        product_code: 'p',
        dimension: 'api_calls',
        hour: toDbTime(new Date('2026-12-01T09:00:00Z')),
        api: 'batch',
        mode: 'sum',
        aggregate: JSON.stringify({ mode: 'sum', total: 7, parts: {} }),
        usage_count: 1,
        heartbeat: 0,
        state: 'sending',
        quantity: 7,
        allocations: null,
        identity_kind: null,
        customer_identifier: 'ci',
        customer_aws_account_id: null,
        license_arn: null,
        attempts: 1,
        first_attempt_at: null,
        last_attempt_at: null,
        next_attempt_at: null,
        lease_owner: 'me',
        lease_until: null,
        metering_record_id: null,
        last_error: null,
        created_at: toDbTime(now),
        updated_at: toDbTime(now),
        sealed_at: toDbTime(now),
        completed_at: null,
        record_timestamp: null,
        meter_usage_slot: null,
      })
      .execute();
    return id;
  }

  /** What a metering transition does: one conditional UPDATE, then its event, in one transaction. */
  async function markDuplicate(bucketId: string, fail?: Error): Promise<void> {
    await t.store.db.transaction().execute(async (tx) => {
      const r = await tx
        .updateTable('meter_buckets')
        .set({ state: 'duplicate', last_error: 'DuplicateRecord' })
        .where('id', '=', bucketId)
        .where('state', '=', 'sending')
        .executeTakeFirst();
      if (Number(r.numUpdatedRows) !== 1) return;
      await appendOutboxEvent(
        tx,
        meteringRecordEvent(
          {
            id: bucketId,
            customerId,
            productCode: 'p',
            dimension: 'api_calls',
            hour: new Date('2026-12-01T09:00:00Z'),
            quantity: 7,
            state: 'duplicate',
            reason: 'DuplicateRecord',
          },
          now,
        ),
      );
      if (fail) throw fail;
    });
  }

  it('an event appended in a transaction that commits is in the outbox with a delivery per interested endpoint', async () => {
    await markDuplicate(await bucket());
    const events = await t.store.db.selectFrom('webhook_events').selectAll().where('type', '=', 'metering.record_duplicate').execute();
    expect(events).toHaveLength(1);
    const payload = JSON.parse(events[0]!.payload) as WebhookPayload;
    expect(payload).toMatchObject({
      id: events[0]!.id,
      type: 'metering.record_duplicate',
      timestamp: now.toISOString(),
      data: {
        customer: { id: customerId, customerIdentifier: 'ci', productCode: 'p' },
        meteringRecord: {
          dimension: 'api_calls',
          hour: '2026-12-01T09:00:00.000Z',
          quantity: 7,
          state: 'duplicate',
          reason: 'DuplicateRecord',
        },
      },
    });
    const deliveries = await t.store.db.selectFrom('webhook_deliveries').selectAll().where('event_id', '=', events[0]!.id).execute();
    expect(deliveries.map((d) => d.status)).toEqual(['pending', 'pending']);
    expect(deliveries.every((d) => d.ordering_key === customerId)).toBe(true);
  });

  it('an event appended in a transaction that rolls back never existed', async () => {
    const id = await bucket();
    await expect(markDuplicate(id, new Error('crash after the append'))).rejects.toThrow('crash after the append');
    expect(await t.store.db.selectFrom('webhook_events').select('id').where('type', 'like', 'metering.%').execute()).toEqual([]);
    expect(await t.store.db.selectFrom('webhook_deliveries').select('id').execute()).toEqual([]);
    const row = await t.store.db.selectFrom('meter_buckets').select('state').where('id', '=', id).executeTakeFirstOrThrow();
    expect(row.state).toBe('sending');
  });

  it('refuses an event with neither a customer nor an ordering key', async () => {
    await expect(
      t.store.db.transaction().execute((tx) => appendOutboxEvent(tx, { type: 'metering.record_failed', at: now })),
    ).rejects.toThrow(/needs a customer or an ordering key/);
  });

  if (dialect === 'postgres') {
    it('appends of one key take their sequence numbers in commit order, even when the first to start commits last', async () => {
      let release!: () => void;
      const gate = new Promise<void>((r) => (release = r));
      const order: string[] = [];
      const first = t.store.db.transaction().execute(async (tx) => {
        await appendOutboxEvent(tx, { type: 'customer.activated', at: now, customerId });
        await gate;
        order.push('first committed');
      });
      await sleep(50);
      const second = t.store.db.transaction().execute(async (tx) => {
        await appendOutboxEvent(tx, { type: 'customer.ending', at: now, customerId });
        order.push('second appended');
      });
      await sleep(100);
      // The second waits for the first: it cannot take a number before the first has committed.
      expect(order).toEqual([]);
      release();
      await Promise.all([first, second]);
      expect(order).toEqual(['first committed', 'second appended']);
      const rows = await t.store.db
        .selectFrom('webhook_events')
        .select(['type', 'seq'])
        .where('customer_id', '=', customerId)
        .orderBy('seq')
        .execute();
      expect(rows.map((r) => r.type)).toEqual(['customer.activated', 'customer.ending']);
    });
  }
});
