import { sql } from 'kysely';
import type { UsageResult } from '../../src/metering/ledger';
import { postgresAvailable } from '../support/stores';
import { activeCustomer, setState, sumProduct } from './metering-support';
import { hangingGateway, twoInstances, until, type Instance, type TwoInstances } from './multi-instance-support';

/**
 * Several instances side by side on PostgreSQL: the hourly loop is coordinated through the
 * database (claims with FOR UPDATE SKIP LOCKED, leases, conditional state changes), so every
 * customer-dimension-hour is sent once, by one instance, and billed once.
 */
const onPostgres = postgresAvailable('multi-instance metering');

const CUSTOMERS = 60;
const H09 = '2026-03-10T09:00:00.000Z';
const H10 = '2026-03-10T10:00:00.000Z';
const H11 = '2026-03-10T11:00:00.000Z';

type Customer = Awaited<ReturnType<typeof activeCustomer>>;
/** `customerIdentifier|dimension|hour` → quantity AWS must bill. */
type Expected = Map<string, number>;

const key = (customerIdentifier: string, dimension: string, hour: string) => `${customerIdentifier}|${dimension}|${hour}`;

async function ingest(inst: Instance, records: unknown[]): Promise<void> {
  const results: UsageResult[] = await inst.container.ledger.record(records);
  const rejected = results.filter((r) => r.status !== 'accepted');
  expect(rejected).toEqual([]);
}

/**
 * 60 customers, activated at 09:05, with usage on both heartbeat dimensions in hours 09 and 10
 * (`api_calls` sums, `peak_hosts` takes the maximum), half of it reported through each instance.
 */
async function populate(t: TwoInstances): Promise<{ customers: Customer[]; expected: Expected }> {
  const customers: Customer[] = [];
  for (let i = 0; i < CUSTOMERS; i++) customers.push(await activeCustomer(t.h, sumProduct));
  const expected: Expected = new Map();
  for (const [h, hour] of [H09, H10].entries()) {
    const at = (min: number) => new Date(Date.parse(hour) + min * 60_000).toISOString();
    t.h.clock.set(at(45));
    const records = customers.flatMap((c, i) => {
      expected.set(key(c.customerIdentifier!, 'api_calls', hour), i + 1 + (h + 2));
      expected.set(key(c.customerIdentifier!, 'peak_hosts', hour), Math.max((i % 7) + 1, (i % 5) + 2));
      return [
        { customer: c.id, dimension: 'api_calls', quantity: i + 1, timestamp: at(20), idempotencyKey: `${hour}-${i}-a1` },
        { customer: c.id, dimension: 'api_calls', quantity: h + 2, timestamp: at(40), idempotencyKey: `${hour}-${i}-a2` },
        { customer: c.id, dimension: 'peak_hosts', quantity: (i % 7) + 1, timestamp: at(21), idempotencyKey: `${hour}-${i}-p1` },
        { customer: c.id, dimension: 'peak_hosts', quantity: (i % 5) + 2, timestamp: at(41), idempotencyKey: `${hour}-${i}-p2` },
      ];
    });
    const half = records.length / 2;
    await Promise.all([ingest(t.a, records.slice(0, half)), ingest(t.b, records.slice(half))]);
  }
  return { customers, expected };
}

/** The records AWS received, one log entry per record (its answer), whoever sent it. */
function submissions(t: TwoInstances) {
  return t.h.sim
    .meteringLog()
    .filter(
      (e) =>
        e.operation === 'BatchMeterUsage' && ['Success', 'DuplicateRecord', 'CustomerNotSubscribed', 'Unprocessed'].includes(e.outcome),
    );
}

async function countSending(inst: Instance): Promise<number> {
  const row = await inst.store.db
    .selectFrom('meter_buckets')
    .select(sql<number>`count(*)`.as('n'))
    .where('state', '=', 'sending')
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

/** Billed once, with the reported totals; each record received by AWS once; every bucket accepted. */
async function expectExactlyOnce(t: TwoInstances, expected: Expected): Promise<void> {
  const billed = t.h.sim.billed({ productCode: sumProduct.code });
  const times = new Map<string, number>();
  for (const b of billed)
    times.set(key(b.customerIdentifier!, b.dimension, b.hour), (times.get(key(b.customerIdentifier!, b.dimension, b.hour)) ?? 0) + 1);
  expect([...times].filter(([, n]) => n !== 1)).toEqual([]);
  expect(Object.fromEntries(billed.map((b) => [key(b.customerIdentifier!, b.dimension, b.hour), b.quantity]))).toEqual(
    Object.fromEntries(expected),
  );

  const log = t.h.sim.meteringLog();
  expect(log.filter((e) => e.outcome === 'DuplicateRecord' || e.outcome === 'double-billed')).toEqual([]);
  const received = submissions(t);
  // No record was sent by both instances (nor twice by one): AWS received each exactly once.
  expect(received.filter((e) => (e.detail as { replay?: boolean } | undefined)?.replay)).toEqual([]);
  expect(received).toHaveLength(expected.size);

  expect(await t.a.container.meterBuckets.countByState()).toEqual({ accepted: expected.size });
  const accepted = await t.b.container.meterBuckets.list({ state: 'accepted', limit: 10_000 });
  expect(new Set(accepted.map((b) => b.meteringRecordId))).toEqual(new Set(billed.map((b) => b.meteringRecordId)));
}

(onPostgres ? describe : describe.skip)('metering with two instances on one PostgreSQL schema', () => {
  let t: TwoInstances;
  beforeEach(async () => {
    t = await twoInstances({ start: '2026-03-10T09:05:00.000Z' });
  });
  afterEach(async () => t.close());

  it('concurrent hourly passes on both instances, again and again, send and bill every record once', async () => {
    const { customers, expected } = await populate(t);
    // Calls take a moment, so both passes are sending at the same time.
    t.h.sim.setFaults({ operations: { BatchMeterUsage: { latencyMs: 40 } } });
    const settings = { claimSize: 25, concurrency: 2 };
    const ea = t.a.emitter({ settings });
    const eb = t.b.emitter({ settings });

    t.h.clock.set('2026-03-10T11:10:00Z');
    const [ra, rb] = await Promise.all([ea.runOnce(), eb.runOnce()]);
    expect(ra.send.calls).toBeGreaterThan(0);
    expect(rb.send.calls).toBeGreaterThan(0);
    expect((ra.send.outcomes.accepted ?? 0) + (rb.send.outcomes.accepted ?? 0)).toBe(expected.size);
    for (let i = 0; i < 3; i++) {
      t.h.clock.advance(130_000); // past every lease: nothing may look abandoned
      const again = await Promise.all([ea.runOnce(), eb.runOnce(), ea.runOnce()]);
      expect(again.map((r) => r.send.calls)).toEqual([0, 0, 0]);
    }
    await expectExactlyOnce(t, expected);

    // The next hour with each container's own emitter (the production wiring): zero heartbeats, once.
    t.h.sim.setFaults({});
    t.h.clock.set('2026-03-10T12:10:00Z');
    await Promise.all([t.a.container.emitter.runOnce(), t.b.container.emitter.runOnce()]);
    for (const c of customers) for (const d of ['api_calls', 'peak_hosts']) expected.set(key(c.customerIdentifier!, d, H11), 0);
    // Passes of both until nothing waits (one may find the other holding the sender lease and leave
    // the sending to it): every heartbeat is then billed, and none twice.
    for (let round = 0; round < 10; round++) {
      await Promise.all([t.a.container.emitter.runOnce(), t.b.container.emitter.runOnce()]);
      const counts = await t.a.container.meterBuckets.countByState();
      if (!counts.sealed && !counts.sending) break;
      t.h.clock.advance(60_000);
    }
    await expectExactlyOnce(t, expected);
  });

  it('a final flush run by both instances at once, then the hourly pass: still exactly once', async () => {
    const { customers, expected } = await populate(t);
    t.h.sim.setFaults({ operations: { BatchMeterUsage: { latencyMs: 20 } } });
    const settings = { claimSize: 25, concurrency: 2 };
    const ea = t.a.emitter({ settings });
    const eb = t.b.emitter({ settings });
    t.h.clock.set('2026-03-10T11:10:00Z');
    await Promise.all([ea.runOnce(), eb.runOnce()]);

    // Ten customers use the current hour, then their final window opens.
    const leaving = customers.slice(0, 10);
    t.h.clock.set('2026-03-10T11:12:00Z');
    await ingest(
      t.b,
      leaving.flatMap((c, i) => {
        expected.set(key(c.customerIdentifier!, 'api_calls', H11), 100 + i);
        expected.set(key(c.customerIdentifier!, 'peak_hosts', H11), 9);
        return [
          { customer: c.id, dimension: 'api_calls', quantity: 100 + i, timestamp: '2026-03-10T11:11:00Z', idempotencyKey: `f-${i}-a` },
          { customer: c.id, dimension: 'peak_hosts', quantity: 9, timestamp: '2026-03-10T11:11:30Z', idempotencyKey: `f-${i}-p` },
        ];
      }),
    );
    for (const c of leaving) {
      await setState(t.h, c.id, {
        status: 'unsubscribe_pending',
        statusEventTime: t.h.clock.now(),
        activatedAt: c.subscription.activatedAt,
        finalWindowOpenedAt: t.h.clock.now(),
        endedAt: null,
      });
    }
    // 45 minutes later, still in hour 11 and before the next tick: both instances see the flush
    // due and perform it at once, the current partial hour included.
    t.h.clock.set('2026-03-10T11:58:00Z');
    const flush = await Promise.all([ea.runOnce(), eb.runOnce()]);
    expect(flush.reduce((n, r) => n + r.finalFlushes, 0)).toBeGreaterThanOrEqual(leaving.length);
    expect(t.h.sim.billed({ productCode: sumProduct.code }).filter((b) => b.hour === H11)).toHaveLength(leaving.length * 2);
    const late = await t.a.container.ledger.record([
      { customer: leaving[0]!.id, dimension: 'api_calls', quantity: 1, timestamp: '2026-03-10T11:57:00Z', idempotencyKey: 'after-flush' },
    ]);
    expect(late[0]!.status).toBe('rejected');

    // The hourly pass for hour 11 on both: zero heartbeats for the 50 others, nothing more for the ten.
    t.h.clock.set('2026-03-10T12:10:00Z');
    await Promise.all([ea.runOnce(), eb.runOnce()]);
    await Promise.all([ea.runOnce(), eb.runOnce()]);
    for (const c of customers.slice(10)) for (const d of ['api_calls', 'peak_hosts']) expected.set(key(c.customerIdentifier!, d, H11), 0);
    await expectExactlyOnce(t, expected);
  });

  /** A claims 100 records (4 calls): 2 are in flight, hanging, and 2 wait for a free slot; B is idle. */
  async function hungPassOfA() {
    const { expected } = await populate(t);
    t.h.clock.set('2026-03-10T11:10:00Z');
    const hang = hangingGateway();
    const ea = t.a.emitter({ settings: { claimSize: 100, concurrency: 2 }, wrap: hang.wrap });
    const eb = t.b.emitter({ settings: { claimSize: 25, concurrency: 2 } });
    const passA = ea.runOnce();
    passA.catch(() => undefined);
    await until(() => hang.held() === 2, 'two calls of A in flight');
    return { expected, hang, ea, eb, passA };
  }

  it("A's lease expires mid-pass: B takes its records over, and A sends nothing it no longer holds", async () => {
    const { expected, hang, ea, eb, passA } = await hungPassOfA();

    // While A's leases hold, B sends everything else and leaves A's claims alone.
    await eb.runOnce();
    expect(t.h.sim.billed()).toHaveLength(expected.size - 100);
    expect(await countSending(t.b)).toBe(100);

    // A's calls outlast the lease: B resends what A held.
    t.h.clock.advance(130_000);
    await eb.runOnce();
    expect(t.h.sim.billed()).toHaveLength(expected.size);

    // A's calls now fail (never reached AWS) and A carries on with its pass.
    hang.release();
    await passA;
    expect(hang.passed()).toBe(0);
    t.h.clock.advance(130_000);
    expect((await Promise.all([ea.runOnce(), eb.runOnce()])).map((r) => r.send.calls)).toEqual([0, 0]);
    await expectExactlyOnce(t, expected);
    expect(t.a.logs()).toMatch(/"event":"metering.lease_lost"/);
  });

  it('A is stopped while its calls are in flight: it starts no new call, and B takes its claims over once the lease expires', async () => {
    const { expected, hang, ea, eb, passA } = await hungPassOfA();

    // Shutdown: the calls in flight fail on the way down; the two waiting calls are never made.
    const stopped = ea.stop();
    hang.release();
    await stopped;
    await passA;
    expect(hang.passed()).toBe(0);
    expect(t.h.sim.meteringLog()).toEqual([]);

    // B sends everything else and leaves what A still holds alone until its lease expires.
    await eb.runOnce();
    expect(t.h.sim.billed()).toHaveLength(expected.size - 100);
    expect(await countSending(t.b)).toBe(50);
    t.h.clock.advance(130_000);
    await eb.runOnce();
    t.h.clock.advance(130_000);
    expect((await eb.runOnce()).send.calls).toBe(0);
    await expectExactlyOnce(t, expected);
  });
});
