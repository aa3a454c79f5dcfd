import { SdkMeteringGateway } from '../../src/aws/metering.gateway';
import { MeteringEmitter } from '../../src/metering/emitter';
import type { MeteringGateway } from '../../src/metering/ports';
import { METERING_SENDER_LEASE, SenderLease } from '../../src/metering/sender-lease';
import type { LeaseStore } from '../../src/platform/leases';
import { systemClock, type ManualClock } from '../../src/platform/clock';
import { toDbTime } from '../../src/store/dialect';
import { LeaseRepository } from '../../src/store/lease.repository';
import type { Harness } from '../support/harness';
import { captureLogger } from '../support/log-capture';
import { activeCustomer, meteringHarness, sumProduct, T0 } from './metering-support';

/** A lease store in memory whose answers the test sets. */
function fakeLeases(): LeaseStore & { calls: string[]; acquireAnswer: boolean; renewAnswer: boolean } {
  const f = {
    calls: [] as string[],
    acquireAnswer: true,
    renewAnswer: true,
    acquire: (name: string, holder: string, ttl: number) => {
      f.calls.push(`acquire ${name} ${holder} ${ttl}`);
      return Promise.resolve(f.acquireAnswer);
    },
    renew: (name: string, holder: string, ttl: number) => {
      f.calls.push(`renew ${name} ${holder} ${ttl}`);
      return Promise.resolve(f.renewAnswer);
    },
    release: (name: string, holder: string) => {
      f.calls.push(`release ${name} ${holder}`);
      return Promise.resolve();
    },
  };
  return f;
}

describe('SenderLease', () => {
  const pacer = { t: 0, nowMs: () => pacer.t, sleep: () => Promise.resolve() };
  const make = (leases: LeaseStore) => new SenderLease({ leases, holder: 'me', ttlMs: 3000, pacer, logger: captureLogger().logger });

  beforeEach(() => (pacer.t = 0));

  it('says acquired on taking the lease, held while it keeps it, standby when another has it', async () => {
    const f = fakeLeases();
    const lease = make(f);
    expect(await lease.enterPass()).toBe('acquired');
    expect(await lease.enterPass()).toBe('held');
    f.acquireAnswer = false;
    expect(await lease.enterPass()).toBe('standby');
    expect(lease.holding).toBe(false);
    f.acquireAnswer = true;
    expect(await lease.enterPass()).toBe('acquired');
    expect(f.calls[0]).toBe(`acquire ${METERING_SENDER_LEASE} me 3000`);
  });

  it('renews before a call only once a third of the lease has gone by, and refuses every call once a renewal fails', async () => {
    const f = fakeLeases();
    const lease = make(f);
    expect(await lease.checkBeforeCall()).toBe(false); // never taken
    await lease.enterPass();
    pacer.t = 999;
    expect(await lease.checkBeforeCall()).toBe(true);
    expect(f.calls.filter((c) => c.startsWith('renew'))).toHaveLength(0);
    pacer.t = 1000;
    expect(await lease.checkBeforeCall()).toBe(true);
    expect(f.calls.filter((c) => c.startsWith('renew'))).toHaveLength(1);
    pacer.t = 1500;
    expect(await lease.checkBeforeCall()).toBe(true); // renewed at 1000
    expect(f.calls.filter((c) => c.startsWith('renew'))).toHaveLength(1);
    pacer.t = 2000;
    f.renewAnswer = false;
    expect(await lease.checkBeforeCall()).toBe(false);
    expect(lease.holding).toBe(false);
    f.renewAnswer = true;
    expect(await lease.checkBeforeCall()).toBe(false); // lost: only a new pass may take it again
  });

  it('releases only a lease it holds', async () => {
    const f = fakeLeases();
    const lease = make(f);
    await lease.release();
    expect(f.calls).toEqual([]);
    await lease.enterPass();
    await lease.release();
    expect(f.calls.at(-1)).toBe(`release ${METERING_SENDER_LEASE} me`);
    expect(lease.holding).toBe(false);
  });
});

describe('emitters sharing the metering sender lease (SQLite)', () => {
  let h: Harness & { clock: ManualClock };
  let leases: LeaseRepository;

  beforeEach(async () => {
    h = await meteringHarness({ products: [sumProduct] });
    leases = new LeaseRepository(h.db.store.db, h.db.store.dialect, systemClock);
  });
  afterEach(async () => {
    await h.close();
  });

  /** 60 customers with usage in the 10:00 hour, sealed at 11:10: 120 records, 5 calls of 25. */
  async function sixtyCustomersSealable(): Promise<void> {
    const customers = [];
    for (let i = 0; i < 60; i++) customers.push(await activeCustomer(h, sumProduct));
    const results = await h.container.ledger.record(
      customers.map((c, i) => ({ customer: c.id, dimension: 'api_calls', quantity: i + 1, timestamp: T0, idempotencyKey: `k${i}` })),
    );
    expect(results.every((r) => r.status === 'accepted')).toBe(true);
    h.clock.set('2026-03-10T11:10:00.000Z');
  }

  function emitter(calls: string[], name: string, opts: { senderLeaseMs?: number; onCall?: () => Promise<void> } = {}): MeteringEmitter {
    const real = new SdkMeteringGateway(h.aws.metering);
    const gateway: MeteringGateway = {
      async batchMeterUsage(batch) {
        calls.push(name);
        await opts.onCall?.();
        return real.batchMeterUsage(batch);
      },
      meterUsage: (record, o) => real.meterUsage(record, o),
    };
    return new MeteringEmitter({
      db: h.db.store.db,
      dialect: h.db.store.dialect,
      catalog: h.container.catalog,
      gateway,
      clock: h.clock,
      logger: h.logger,
      leases,
      settings: { minute: 10, heartbeat: false, concurrency: 1, senderLeaseMs: opts.senderLeaseMs ?? 30_000 },
    });
  }

  it('only the holder sends; a standby seals but makes no call, and takes over at once when the holder stops', async () => {
    await sixtyCustomersSealable();
    const calls: string[] = [];
    const b = emitter(calls, 'B');
    const c = emitter(calls, 'C');
    // A is stopped (SIGTERM) during its first call, part-way through the hour: it makes no
    // further call and gives the lease up; its claims not sent stay `sending` under its name.
    let stopping: Promise<void> | undefined;
    const a = emitter(calls, 'A', {
      onCall: () => {
        // stop() waits for the pass in flight: started here, awaited below.
        stopping ??= a.stop();
        return Promise.resolve();
      },
    });
    await a.runOnce();
    await stopping;
    expect(calls).toEqual(['A']);
    expect((await h.container.meterBuckets.countByState()).sending).toBe(35);
    await b.runOnce();
    expect(calls.filter((x) => x === 'B').length).toBe(2);
    expect(await h.container.meterBuckets.countByState()).toEqual({ accepted: 60 });
    // While B holds the lease, C is a standby.
    await c.runOnce();
    expect(calls.filter((x) => x === 'C')).toEqual([]);
    await c.stop();
    await b.stop();
    expect(h.sim.billed({ productCode: sumProduct.code })).toHaveLength(60);
  });

  it('a standby makes no call while the holder lives, and sends the claims a dead holder left mid-send', async () => {
    await sixtyCustomersSealable();
    const calls: string[] = [];
    const holder = emitter(calls, 'A');
    const standby = emitter(calls, 'B');
    // A holds the lease and its first pass would send; its process "dies" before: the lease
    // stays, and 10 records are left `sending` under A's claim.
    await leases.acquire(METERING_SENDER_LEASE, 'dead-holder', 30_000);
    await standby.runOnce();
    expect(calls).toEqual([]);
    expect((await h.container.meterBuckets.countByState()).sealed).toBe(60);
    const ids = await h.db.store.db.selectFrom('meter_buckets').select('id').limit(10).execute();
    await h.db.store.db
      .updateTable('meter_buckets')
      .set({ state: 'sending', lease_owner: 'dead-holder', lease_until: toDbTime(new Date('2026-03-10T12:00:00.000Z')) })
      .where(
        'id',
        'in',
        ids.map((r) => r.id),
      )
      .execute();
    // The lease expires (the dead holder never renews it).
    await h.db.store.db
      .updateTable('leases')
      .set({ expires_at: toDbTime(new Date(Date.now() - 1)) })
      .where('name', '=', METERING_SENDER_LEASE)
      .execute();
    await standby.runOnce();
    expect(calls.length).toBeGreaterThanOrEqual(3);
    expect(calls.every((c) => c === 'B')).toBe(true);
    expect(await h.container.meterBuckets.countByState()).toEqual({ accepted: 60 });
    expect(h.logs()).toMatch(/records another instance left mid-send will be resent unchanged/);
    await holder.stop();
    await standby.stop();
  });

  it('an instance whose lease is taken during a pass makes no further call', async () => {
    await sixtyCustomersSealable();
    const calls: string[] = [];
    const a = emitter(calls, 'A', {
      senderLeaseMs: 300,
      onCall: async () => {
        // Another instance takes the lease over (A looked dead to it); A notices before its next call.
        await h.db.store.db
          .updateTable('leases')
          .set({ holder: 'other-instance', expires_at: toDbTime(new Date(Date.now() + 60_000)) })
          .where('name', '=', METERING_SENDER_LEASE)
          .execute();
        await new Promise((r) => setTimeout(r, 150));
      },
    });
    await a.runOnce();
    expect(calls).toEqual(['A']);
    const counts = await h.container.meterBuckets.countByState();
    expect(counts.accepted).toBe(25);
    expect(h.logs()).toMatch(/metering sender lease lost before a call/);
    await a.stop();
  });
});
