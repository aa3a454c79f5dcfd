import { randomUUID } from 'node:crypto';
import { CustomerRepository } from '../../src/customers/customer.repository';
import { BucketTransitions } from '../../src/metering/bucket-transitions.repository';
import { toDbTime } from '../../src/store/dialect';
import { EndpointRepository } from '../../src/webhooks/endpoint.repository';
import { appendOutboxEvent, type WebhookPayload } from '../../src/webhooks/outbox.repository';
import { describeDialects, openTestStore, type TestStore } from '../support/stores';

const now = new Date('2026-12-01T10:20:00Z');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The outbox API the metering transitions use: an event appended in a caller's Kysely transaction
 * exists exactly when that transaction commits, with one delivery per interested endpoint; the
 * transitions that leave a record unbilled append theirs in the settling transaction.
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

  /** A bucket row, as the metering code keeps them: `n` hours before 09:00. */
  async function bucket(n = 0): Promise<string> {
    const id = randomUUID();
    await t.store.db
      .insertInto('meter_buckets')
      .values({
        id,
        customer_id: customerId,
        product_code: 'p',
        dimension: 'api_calls',
        hour: toDbTime(new Date(Date.parse('2026-12-01T09:00:00Z') - n * 3_600_000)),
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

  const transitions = () => new BucketTransitions(t.store.db, dialect);

  /** What the sender does with AWS's DuplicateRecord answer: the settling UPDATE writes the event too. */
  async function markDuplicate(bucketId: string): Promise<void> {
    const written = await transitions().recordResults('me', [{ id: bucketId, move: 'duplicate', lastError: 'DuplicateRecord' }], now);
    expect([...written]).toEqual([bucketId]);
  }

  const meteringEvents = () =>
    t.store.db.selectFrom('webhook_events').select(['type', 'payload']).where('type', 'like', 'metering.%').orderBy('seq').execute();

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
    await t.store.db.updateTable('meter_buckets').set({ state: 'open', lease_owner: null }).where('id', '=', id).execute();
    await expect(
      t.store.db.transaction().execute(async (tx) => {
        expect(await transitions().reject(tx, { id, usageCount: 1 }, 'no such dimension', now)).toBe(true);
        throw new Error('crash after the append');
      }),
    ).rejects.toThrow('crash after the append');
    expect(await meteringEvents()).toEqual([]);
    expect(await t.store.db.selectFrom('webhook_deliveries').select('id').execute()).toEqual([]);
    const row = await t.store.db.selectFrom('meter_buckets').select('state').where('id', '=', id).executeTakeFirstOrThrow();
    expect(row.state).toBe('open');
  });

  it('each record a call leaves unbilled gets its event, in the settling statement; billed, retried and lost-lease records get none', async () => {
    const [accepted, retried, duplicate, notSubscribed, expired, failed, lost] = await Promise.all(
      Array.from({ length: 7 }, (_, n) => bucket(n)),
    );
    await t.store.db.updateTable('meter_buckets').set({ lease_owner: 'another instance' }).where('id', '=', lost!).execute();
    const written = await transitions().recordResults(
      'me',
      [
        { id: accepted!, move: 'accept', lastError: null, meteringRecordId: 'mr-1' },
        { id: retried!, move: 'retry', lastError: 'ThrottlingException', nextAttemptAt: now },
        { id: duplicate!, move: 'duplicate', lastError: 'DuplicateRecord' },
        { id: notSubscribed!, move: 'notSubscribed', lastError: 'CustomerNotSubscribed' },
        { id: expired!, move: 'expire', lastError: 'past the AWS window' },
        { id: failed!, move: 'fail', lastError: 'InvalidUsageDimension' },
        { id: lost!, move: 'duplicate', lastError: 'DuplicateRecord' },
      ],
      now,
    );
    expect(written.has(lost!)).toBe(false);
    const events = (await meteringEvents()).map((e) => {
      const r = (JSON.parse(e.payload) as { data: { meteringRecord: { id: string; state: string; reason: string } } }).data.meteringRecord;
      return [e.type, r.id, r.state, r.reason];
    });
    expect(events.sort()).toEqual(
      [
        ['metering.record_duplicate', duplicate, 'duplicate', 'DuplicateRecord'],
        ['metering.record_not_subscribed', notSubscribed, 'not_subscribed', 'CustomerNotSubscribed'],
        ['metering.record_expired', expired, 'expired', 'past the AWS window'],
        ['metering.record_failed', failed, 'failed', 'InvalidUsageDimension'],
      ].sort(),
    );
    // Delivered again (a second settle of the same records changes nothing): no second event.
    await transitions().recordResults('me', [{ id: duplicate!, move: 'duplicate', lastError: 'DuplicateRecord' }], now);
    expect(await meteringEvents()).toHaveLength(4);
  });

  it('a held record that expires or fails, and an open one rejected at sealing, tell the app once', async () => {
    const [heldExpiring, heldFailing, open, stale] = await Promise.all(Array.from({ length: 4 }, (_, n) => bucket(n)));
    await t.store.db
      .updateTable('meter_buckets')
      .set({ state: 'held', lease_owner: null })
      .where('id', 'in', [heldExpiring!, heldFailing!])
      .execute();
    await t.store.db.updateTable('meter_buckets').set({ state: 'open', lease_owner: null }).where('id', 'in', [open!, stale!]).execute();
    const tr = transitions();
    expect(await tr.expireHeld(heldExpiring!, 'past the AWS window while waiting for an entitlement', now)).toBe(true);
    expect(await tr.expireHeld(heldExpiring!, 'again', now)).toBe(false);
    expect(await tr.failHeld(heldFailing!, 'the dimension was removed', now)).toBe(true);
    expect(await tr.reject(t.store.db, { id: open!, usageCount: 1 }, 'no such dimension', now)).toBe(true);
    // Usage arrived since it was read: nothing is written, and no event.
    expect(await tr.reject(t.store.db, { id: stale!, usageCount: 0 }, 'no such dimension', now)).toBe(false);
    expect((await meteringEvents()).map((e) => e.type).sort()).toEqual([
      'metering.record_expired',
      'metering.record_failed',
      'metering.record_failed',
    ]);
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
