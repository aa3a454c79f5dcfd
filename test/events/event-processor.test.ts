import fc from 'fast-check';
import type { Kysely } from 'kysely';
import { CustomerRepository } from '../../src/customers/customer.repository';
import type { Entitlement } from '../../src/customers/customer';
import type { EntitlementReader } from '../../src/customers/ports';
import {
  compareTransitions,
  foldTransitions,
  initialSubscriptionState,
  type StatusTransition,
} from '../../src/customers/subscription-state';
import { parseQueueMessage } from '../../src/events/envelope';
import { EventRepository } from '../../src/events/event.repository';
import { EventProcessor } from '../../src/events/event-processor';
import { ManualClock } from '../../src/platform/clock';
import { DomainEventBus, type DomainEvent } from '../../src/platform/domain-events';
import { ProductCatalog } from '../../src/products/product-config';
import type { Database } from '../../src/store/schema';
import { captureLogger } from '../support/log-capture';
import { contract, ebBody, legacy, snsBody } from './processor-support';
import { describeDialects, openTestStore, type TestStore } from '../support/stores';

type SnsAction = 'subscribe-success' | 'subscribe-fail' | 'unsubscribe-pending' | 'unsubscribe-success';

class FakeReader implements EntitlementReader {
  answer: Entitlement[] = [];
  failures = 0;
  calls = 0;
  async readEntitlements(): Promise<Entitlement[]> {
    this.calls++;
    if (this.failures > 0) {
      this.failures--;
      throw Object.assign(new Error('throttled'), { retryable: true });
    }
    return this.answer;
  }
}

describeDialects('event processor on %s', (dialect) => {
  let t: TestStore;
  let processor: EventProcessor;
  let customers: CustomerRepository;
  let reader: FakeReader;
  let published: DomainEvent[];
  let down: boolean;
  const clock = new ManualClock('2026-11-22T12:00:00Z');

  function build(db: Kysely<Database>) {
    const bus = new DomainEventBus();
    published = [];
    bus.subscribe((e) => {
      published.push(e);
    });
    customers = new CustomerRepository(db);
    return new EventProcessor({
      db,
      customers,
      events: new EventRepository(db),
      entitlements: reader,
      catalog: new ProductCatalog([legacy, contract]),
      bus,
      clock,
      logger: captureLogger().logger,
    });
  }

  beforeEach(async () => {
    t = await openTestStore(dialect);
    reader = new FakeReader();
    down = false;
    // The store "goes down" when `down` is set: every query fails as a lost connection does.
    const flaky = new Proxy(t.store.db, {
      get(target, prop, receiver) {
        if (down && ['selectFrom', 'transaction', 'insertInto', 'updateTable'].includes(String(prop))) {
          return () => {
            throw Object.assign(new Error('connection refused'), { code: 'ECONNREFUSED' });
          };
        }
        const value: unknown = Reflect.get(target, prop, receiver);
        // Kysely keeps private fields: methods must run on the real object.
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
    processor = build(flaky);
  });
  afterEach(async () => t.dispose());

  const deliver = (body: string, messageId = 'm') =>
    processor.handle(parseQueueMessage(body, { messageId, sentTimestamp: clock.now() }), {
      dedupeKey: `sqs:${messageId}`,
      channel: 'sqs:test',
      body,
    });
  const stateOf = async () => (await customers.findByIdentity({ productCode: legacy.code, customerIdentifier: 'CUST-1' }))?.subscription;

  it('applies each subscription action and publishes the domain event after commit', async () => {
    const t0 = new Date('2026-11-22T10:00:00Z');
    expect((await deliver(snsBody('a', 'subscribe-success', t0))).outcome).toBe('applied');
    expect((await stateOf())?.status).toBe('active');
    expect(published).toEqual([{ type: 'customer-activated', customerId: expect.any(String) }]);
    await deliver(snsBody('b', 'unsubscribe-pending', new Date(t0.getTime() + 1000)));
    expect(await stateOf()).toMatchObject({ status: 'unsubscribe_pending', finalWindowOpenedAt: new Date(t0.getTime() + 1000) });
    await deliver(snsBody('c', 'unsubscribe-success', new Date(t0.getTime() + 2000)));
    expect(await stateOf()).toMatchObject({ status: 'unsubscribed', endedAt: new Date(t0.getTime() + 2000) });
    expect(published.map((e) => e.type)).toEqual(['customer-activated', 'final-window-opened', 'customer-ended']);
  });

  it('a duplicate delivery is a no-op and a stale event never undoes a newer one', async () => {
    const t0 = new Date('2026-11-22T10:00:00Z');
    await deliver(snsBody('first', 'subscribe-success', t0));
    await deliver(snsBody('new', 'unsubscribe-success', new Date(t0.getTime() + 5000)));
    expect((await deliver(snsBody('new', 'unsubscribe-success', new Date(t0.getTime() + 5000)))).outcome).toBe('duplicate');
    // A late subscribe-success older than the end (and adding nothing: the activation time is known).
    const old = await deliver(snsBody('old', 'subscribe-success', new Date(t0.getTime() + 1000)));
    expect(old.outcome).toBe('stale');
    expect(old.reason).toMatch(/older than the unsubscribe-success/);
    expect(await stateOf()).toMatchObject({ status: 'unsubscribed', activatedAt: t0, endedAt: new Date(t0.getTime() + 5000) });
    const rows = await t.store.db.selectFrom('events').select(['dedupe_key', 'outcome']).orderBy('id').execute();
    expect(rows).toEqual([
      { dedupe_key: 'first', outcome: 'applied' },
      { dedupe_key: 'new', outcome: 'applied' },
      { dedupe_key: 'old', outcome: 'stale' },
    ]);
  });

  it('records garbage as rejected with a reason, and acknowledges it (no throw)', async () => {
    for (const [i, body] of [
      'not json',
      '{}',
      '[1,2]',
      JSON.stringify({ Type: 'Notification', MessageId: 'z', Message: '{"action":"explode"}' }),
      snsBody('foreign', 'subscribe-success', new Date(), { 'product-code': 'not-ours' }),
    ].entries()) {
      const r = await deliver(body, `g${i}`);
      expect(r.outcome).toBe('rejected');
      expect(r.reason).toEqual(expect.any(String));
    }
    const rejected = await t.store.db.selectFrom('events').select(['outcome', 'reason']).where('outcome', '=', 'rejected').execute();
    expect(rejected).toHaveLength(5);
    expect(rejected.find((r) => /not-ours/.test(r.reason ?? ''))).toBeDefined();
  });

  it('a store outage throws (the message stays on the queue) and the redelivery applies it once', async () => {
    down = true;
    await expect(deliver(snsBody('x', 'subscribe-success', new Date('2026-11-22T10:00:00Z')))).rejects.toThrow(/connection refused/);
    down = false;
    expect((await deliver(snsBody('x', 'subscribe-success', new Date('2026-11-22T10:00:00Z')))).outcome).toBe('applied');
    expect((await stateOf())?.status).toBe('active');
  });

  it('entitlement-updated re-reads GetEntitlements; a throttled read is retried by redelivery; empty opens the final window', async () => {
    const t0 = new Date('2026-11-22T10:00:00Z');
    const lic = 'arn:aws:license-manager::444455556666:license:l-abc';
    const detail = {
      product: { id: 'prod-1', code: contract.code },
      license: { arn: lic },
      acceptor: { accountId: '444455556666' },
      agreement: { id: 'agmt-1' },
      requestId: 'r1',
    };
    reader.answer = [{ dimension: 'seats', value: { type: 'integer', value: 10 }, expirationDate: null }];
    expect((await deliver(ebBody('e1', 'License Updated - Manufacturer', t0, detail))).outcome).toBe('applied');
    const c = await customers.findByIdentity({ licenseArn: lic });
    expect(c?.subscription.status).toBe('active');
    expect(await customers.listEntitlements(c!.id)).toHaveLength(1);

    const update = JSON.stringify({
      Type: 'Notification',
      MessageId: 'u1',
      TopicArn: 'arn:aws:sns:us-east-1:1:t',
      Timestamp: new Date(t0.getTime() + 60_000).toISOString(),
      Message: JSON.stringify({
        action: 'entitlement-updated',
        'customer-aws-account-id': '444455556666',
        'license-arn': lic,
        'product-code': contract.code,
      }),
    });
    reader.failures = 1;
    await expect(deliver(update, 'u1')).rejects.toThrow(/throttled/);
    reader.answer = [];
    expect((await deliver(update, 'u1')).outcome).toBe('applied');
    const after = await customers.findById(c!.id);
    expect(after?.subscription.status).toBe('unsubscribe_pending');
    expect(await customers.listEntitlements(c!.id)).toEqual([]);
  });

  it('agreement events that arrive before their customer wait, then apply once License Updated names the agreement', async () => {
    const t0 = new Date('2026-11-22T10:00:00Z');
    const ended = await deliver(
      ebBody('pa-end', 'Purchase Agreement Ended - Proposer', new Date(t0.getTime() + 120_000), {
        agreement: { id: 'agmt-9', status: 'CANCELLED' },
        acceptor: { accountId: '999988887777' },
        requestId: 'r9',
      }),
    );
    expect(ended.outcome).toBe('unmatched');
    reader.answer = [{ dimension: 'seats', value: { type: 'integer', value: 1 }, expirationDate: null }];
    const lic = 'arn:aws:license-manager::999988887777:license:l-9';
    await deliver(
      ebBody('lu', 'License Updated - Manufacturer', t0, {
        product: { code: contract.code },
        license: { arn: lic },
        acceptor: { accountId: '999988887777' },
        agreement: { id: 'agmt-9' },
        requestId: 'r10',
      }),
    );
    const c = await customers.findByIdentity({ licenseArn: lic });
    expect(c?.subscription.status).toBe('unsubscribe_pending');
    const row = await t.store.db.selectFrom('events').select('outcome').where('dedupe_key', '=', 'pa-end').executeTakeFirst();
    expect(row?.outcome).toBe('applied');
  });

  it('any delivery order with duplicates yields the state of the in-order history (property)', async () => {
    const action = fc.constantFrom<SnsAction>('subscribe-success', 'subscribe-fail', 'unsubscribe-pending', 'unsubscribe-success');
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ action, minute: fc.integer({ min: 0, max: 50 }) }), { minLength: 1, maxLength: 6 }),
        fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 6, maxLength: 6 }),
        fc.integer(),
        async (history, copies, seed) => {
          await t.store.db.deleteFrom('events').execute();
          await t.store.db.deleteFrom('customer_changes').execute();
          await t.store.db.deleteFrom('customers').execute();
          const base = Date.parse('2026-11-22T10:00:00Z');
          const messages = history.map((h, i) => ({ id: `p${i}`, body: snsBody(`p${i}`, h.action, new Date(base + h.minute * 60_000)) }));
          const deliveries = shuffledCopies(messages, copies, seed);
          for (const d of deliveries) await deliver(d.body, d.id);
          const expected = foldTransitions(
            initialSubscriptionState,
            history
              .map((h): StatusTransition => ({ kind: h.action, eventTime: new Date(base + h.minute * 60_000) }))
              .sort(compareTransitions),
          );
          const got = await stateOf();
          expect(got?.status).toBe(expected.status);
          expect(got?.endedAt?.getTime() ?? null).toBe(expected.endedAt?.getTime() ?? null);
          expect(got?.activatedAt?.getTime() ?? null).toBe(expected.activatedAt?.getTime() ?? null);
        },
      ),
      { numRuns: dialect === 'sqlite' ? 60 : 25 },
    );
  });
});

const ACCOUNT = '123412341234';
const LIC = { L1: `arn:aws:license-manager::${ACCOUNT}:license:l-1`, L2: `arn:aws:license-manager::${ACCOUNT}:license:l-2` } as const;
type EbStep =
  | { kind: 'lu' | 'ld'; minute: number; lic: keyof typeof LIC; agmt: 'agmt-1' | 'agmt-2'; offer: 'offer-1' | 'offer-2' }
  | {
      kind: 'created' | 'amended';
      minute: number;
      agmt: 'agmt-1' | 'agmt-2';
      offer: 'offer-1' | 'offer-2';
      intent: 'NEW' | 'RENEW' | 'REPLACE';
    }
  | { kind: 'ended'; minute: number; agmt: 'agmt-1' | 'agmt-2'; status: 'CANCELLED' | 'EXPIRED' | 'RENEWED' }
  | { kind: 'eu'; minute: number };

function ebStepBody(id: string, s: EbStep): string {
  const at = new Date(Date.parse('2026-11-22T10:00:00Z') + s.minute * 60_000);
  const who = { acceptor: { accountId: ACCOUNT }, requestId: `req-${id}` };
  switch (s.kind) {
    case 'lu':
    case 'ld':
      return JSON.stringify({
        ...JSON.parse(ebBody(id, s.kind === 'lu' ? 'License Updated - Manufacturer' : 'License Deprovisioned - Manufacturer', at, {})),
        detail: {
          ...who,
          product: { code: contract.code },
          license: { arn: LIC[s.lic] },
          agreement: { id: s.agmt },
          offer: { id: s.offer },
        },
      });
    case 'created':
    case 'amended':
      return ebBody(id, s.kind === 'created' ? 'Purchase Agreement Created - Proposer' : 'Purchase Agreement Amended - Manufacturer', at, {
        ...who,
        offer: { id: s.offer },
        agreement: { id: s.agmt, status: 'ACTIVE', intent: s.intent },
      });
    case 'ended':
      return ebBody(id, 'Purchase Agreement Ended - Proposer', at, { ...who, agreement: { id: s.agmt, status: s.status } });
    case 'eu':
      return JSON.stringify({
        Type: 'Notification',
        MessageId: id,
        TopicArn: 'arn:aws:sns:us-east-1:1:t',
        Timestamp: at.toISOString(),
        Message: JSON.stringify({
          action: 'entitlement-updated',
          'customer-aws-account-id': ACCOUNT,
          'license-arn': LIC.L1,
          'product-code': contract.code,
        }),
      });
  }
}

describeDialects('event processor EventBridge histories on %s', (dialect) => {
  let t: TestStore;
  afterEach(async () => t?.dispose());

  it('any delivery order with duplicates of licence, agreement and entitlement events gives the in-order state (property)', async () => {
    t = await openTestStore(dialect);
    const db = t.store.db;
    const minute = fc.integer({ min: 0, max: 30 });
    const agmt = fc.constantFrom<'agmt-1' | 'agmt-2'>('agmt-1', 'agmt-2');
    const offer = fc.constantFrom<'offer-1' | 'offer-2'>('offer-1', 'offer-2');
    const step = (withLicenceChange: boolean): fc.Arbitrary<EbStep> =>
      fc.oneof(
        // Messages share no identity when a licence and an agreement both change at once; a new licence
        // is therefore granted on the same agreement, and a new agreement keeps the licence.
        withLicenceChange
          ? fc.record({
              kind: fc.constantFrom<'lu' | 'ld'>('lu', 'lu', 'ld'),
              minute,
              lic: fc.constantFrom<'L1' | 'L2'>('L1', 'L2'),
              agmt: fc.constant<'agmt-1'>('agmt-1'),
              offer,
            })
          : fc.record({ kind: fc.constantFrom<'lu' | 'ld'>('lu', 'lu', 'ld'), minute, lic: fc.constant<'L1'>('L1'), agmt, offer }),
        fc.record({
          kind: fc.constantFrom<'created' | 'amended'>('created', 'amended'),
          minute,
          agmt,
          offer,
          intent: fc.constantFrom<'NEW' | 'RENEW' | 'REPLACE'>('NEW', 'RENEW', 'REPLACE'),
        }),
        fc.record({
          kind: fc.constant<'ended'>('ended'),
          minute,
          agmt,
          status: fc.constantFrom<'CANCELLED' | 'EXPIRED' | 'RENEWED'>('CANCELLED', 'EXPIRED', 'RENEWED'),
        }),
        // A message naming the licence alone finds its customer only once that licence is known; with a
        // single licence the first message of any kind makes it known, so order cannot matter.
        ...(withLicenceChange ? [] : [fc.record({ kind: fc.constant<'eu'>('eu'), minute })]),
      );
    const snapshotOf = async () => {
      const customers = await db.selectFrom('customers').selectAll().orderBy('license_arn').execute();
      const entitlements = await db
        .selectFrom('entitlements')
        .select(['customer_id', 'dimension', 'integer_value'])
        .orderBy('dimension')
        .execute();
      const unmatched = await db
        .selectFrom('events')
        .select('dedupe_key')
        .where('outcome', '=', 'unmatched')
        .orderBy('dedupe_key')
        .execute();
      return {
        customers: customers.map((c) => ({
          license: c.license_arn,
          agreement: c.agreement_id,
          offer: c.offer_id,
          agreementStatus: (c as Record<string, unknown>).agreement_status,
          agreementIntent: (c as Record<string, unknown>).agreement_intent,
          status: c.status,
          activatedAt: c.activated_at ? new Date(c.activated_at).getTime() : null,
          finalWindowOpenedAt: c.final_window_opened_at ? new Date(c.final_window_opened_at).getTime() : null,
          endedAt: c.ended_at ? new Date(c.ended_at).getTime() : null,
          entitlements: entitlements.filter((e) => e.customer_id === c.id).map((e) => [e.dimension, Number(e.integer_value)]),
        })),
        unmatched: unmatched.map((u) => u.dedupe_key),
      };
    };
    const wipe = async () => {
      for (const table of ['entitlements', 'events', 'customer_agreements', 'customer_licences', 'customer_changes', 'customers'] as const)
        await (db as unknown as Kysely<Record<string, Record<string, unknown>>>).deleteFrom(table).execute();
    };
    await fc.assert(
      fc.asyncProperty(
        fc.boolean().chain((change) => fc.array(step(change), { minLength: 1, maxLength: 7 })),
        fc.array(fc.integer({ min: 1, max: 2 }), { minLength: 7, maxLength: 7 }),
        fc.option(fc.integer({ min: 1, max: 50 }), { nil: undefined }),
        fc.integer(),
        async (history, copies, seatCount, seed) => {
          const reader = new FakeReader();
          // GetEntitlements answers the contract as it is now, whatever event prompted the read.
          reader.answer =
            seatCount === undefined ? [] : [{ dimension: 'seats', value: { type: 'integer', value: seatCount }, expirationDate: null }];
          const clock = new ManualClock('2026-11-22T12:00:00Z');
          const customers = new CustomerRepository(db);
          const processor = new EventProcessor({
            db,
            customers,
            events: new EventRepository(db),
            entitlements: reader,
            catalog: new ProductCatalog([legacy, contract]),
            bus: new DomainEventBus(),
            clock,
            logger: captureLogger().logger,
          });
          const deliver = async (id: string, body: string) => {
            clock.advance(1000);
            await processor.handle(parseQueueMessage(body, { messageId: id, sentTimestamp: clock.now() }), {
              dedupeKey: `sqs:${id}`,
              channel: 'sqs:test',
              body,
            });
          };
          const messages = history.map((s, i) => ({ id: `q${i}`, body: ebStepBody(`q${i}`, s), minute: s.minute }));

          await wipe();
          const inOrder = [...messages].sort((a, b) => a.minute - b.minute);
          for (const m of inOrder) await deliver(m.id, m.body);
          const expected = await snapshotOf();

          await wipe();
          const deliveries = shuffledCopies(messages, copies, seed);
          for (const d of deliveries) await deliver(d.id, d.body);
          expect(await snapshotOf()).toEqual(expected);
        },
      ),
      { numRuns: dialect === 'sqlite' ? 150 : 40 },
    );
  }, 120_000);
});

/** Each message delivered `copies[i]` times, in an order shuffled deterministically from `seed`. */
function shuffledCopies<T>(messages: readonly T[], copies: readonly number[], seed: number): T[] {
  const deliveries = messages.flatMap((m, i) => Array.from({ length: copies[i] ?? 1 }, () => m));
  let s = seed;
  for (let i = deliveries.length - 1; i > 0; i--) {
    s = (s * 1103515245 + 12345) & 0x7fffffff;
    const j = s % (i + 1);
    [deliveries[i], deliveries[j]] = [deliveries[j]!, deliveries[i]!];
  }
  return deliveries;
}
