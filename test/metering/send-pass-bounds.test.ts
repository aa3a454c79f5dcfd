import request from 'supertest';
import { SdkMeteringGateway } from '../../src/aws/metering.gateway';
import { MeteringEmitter, type EmitterSettings } from '../../src/metering/emitter';
import { ManualClock } from '../../src/platform/clock';
import { TEST_API_KEY, type Harness } from '../support/harness';
import { describeDialects } from '../support/stores';
import { activeCustomer, meteringHarness, sumProduct } from './metering-support';

/** Time moves on while a pass runs: every reading of the clock is a few seconds later. */
class TickingClock extends ManualClock {
  override now(): Date {
    this.advance(3_000);
    return super.now();
  }
}

const auth = { Authorization: `Bearer ${TEST_API_KEY}` };

/** An emitter over the harness's store and simulator with its own settings. */
function emitterWith(h: Harness & { clock: ManualClock }, settings: Partial<EmitterSettings>): MeteringEmitter {
  return new MeteringEmitter({
    db: h.db.store.db,
    dialect: h.db.store.dialect,
    catalog: h.container.catalog,
    gateway: new SdkMeteringGateway(h.aws.metering),
    clock: h.clock,
    logger: h.logger,
    settings: { ...h.container.emitter.settings, ...settings },
  });
}

describeDialects('a send pass (%s)', (dialect) => {
  let h: Harness & { clock: ManualClock };
  afterEach(async () => h.close());

  it('tries each record once during a long outage and ends, so sealing and final flushes are not held up', async () => {
    h = await meteringHarness({ dialect, clock: new TickingClock('2026-03-10T10:30:00Z') });
    for (let i = 0; i < 30; i++) await activeCustomer(h, sumProduct);
    h.clock.set('2026-03-10T11:10:00Z');
    h.sim.setFaults({ operations: { BatchMeterUsage: { serverErrorRate: 1 } } });
    // Claims smaller than the backlog: the first records' retries fall due while the rest are sent.
    const emitter = emitterWith(h, { claimSize: 10, concurrency: 1 });
    const run = await emitter.runOnce();
    // 60 heartbeat records in claims of 10: 6 calls, each failing once; the retries wait for the next pass.
    expect(run.send.calls).toBe(6);
    expect(run.send.outcomes).toEqual({ retry: 60 });
    h.sim.setFaults({});
    // After the outage every record goes through (a later pass picks up any call that failed again).
    for (let pass = 0; pass < 5 && h.sim.billed().length < 60; pass++) {
      h.clock.advance(10 * 60_000);
      await emitter.runOnce();
    }
    expect(h.sim.billed()).toHaveLength(60);
    expect(h.sim.meteringLog().filter((e) => e.outcome === 'DuplicateRecord')).toEqual([]);
  });

  it('a store failure mid-pass stops new calls, records every result of the calls made, and surfaces the error', async () => {
    h = await meteringHarness({ dialect });
    const customers = [];
    for (let i = 0; i < 30; i++) customers.push(await activeCustomer(h, sumProduct));
    await request(h.app)
      .post('/v1/usage')
      .set(auth)
      .send({
        records: customers.map((c, i) => ({
          customer: c.id,
          dimension: 'api_calls',
          quantity: i + 1,
          timestamp: '2026-03-10T10:31:00Z',
          idempotencyKey: `k${i}`,
        })),
      });
    h.clock.set('2026-03-10T11:10:00Z');
    const emitter = emitterWith(h, { concurrency: 2 });
    const buckets = (emitter as unknown as { transitions: { renewLeases: (...a: unknown[]) => Promise<Set<string>> } }).transitions;
    // The first call's lease renewal fails (the store is gone for a moment) while the second
    // worker is already on its way with the next call.
    const original = buckets.renewLeases.bind(buckets);
    let renewals = 0;
    buckets.renewLeases = async (...a: unknown[]) => {
      if (++renewals === 1) throw Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
      return original(...a);
    };
    await expect(emitter.runOnce()).rejects.toThrow('ECONNREFUSED');
    const billedAfterFailure = h.sim.billed().length;
    // The call already under way was made and all of its results written before the pass gave
    // up; no call started after the failure.
    expect(billedAfterFailure).toBe(25);
    expect((await h.container.meterBuckets.countByState()).accepted).toBe(25);
    // Nothing goes on behind the rejected pass.
    await new Promise((r) => setTimeout(r, 300));
    expect(h.sim.billed()).toHaveLength(billedAfterFailure);
    buckets.renewLeases = original;
    // The claims that were not sent are resent once their lease lapses: everything is billed once.
    h.clock.advance(5 * 60_000);
    await emitter.start();
    await emitter.runOnce();
    expect(h.sim.billed()).toHaveLength(60);
    expect(h.sim.meteringLog().filter((e) => e.outcome === 'DuplicateRecord')).toEqual([]);
  });
});
