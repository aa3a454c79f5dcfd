import request from 'supertest';
import { clocksForMode, meterOnAdvance } from '../../src/console/demo-clock';
import { ManualClock, systemClock } from '../../src/platform/clock';
import { startHarness, TEST_API_KEY, type Harness } from '../support/harness';
import { until } from '../support/until';

describe('the demo clock', () => {
  it('does not exist in aws mode: the service runs on the system clock and nothing can move it', () => {
    const clocks = clocksForMode('aws');
    expect(clocks.shared).toBeUndefined();
    expect(clocks.service).toBe(systemClock);
  });

  it('in simulator mode, moves the service clock with the shared one, forward only', () => {
    const clocks = clocksForMode('simulator', () => 1_000_000);
    expect(clocks.service.now().getTime()).toBe(1_000_000);
    clocks.shared!.advance(3_600_000);
    expect(clocks.service.now().getTime()).toBe(4_600_000);
    expect(clocks.shared!.now()).toBe(4_600_000);
    for (const bad of [0, -1, Number.NaN]) expect(() => clocks.shared!.advance(bad)).toThrow(RangeError);
    expect(clocks.service.now().getTime()).toBe(4_600_000);
  });

  describe('POST /simulator/api/clock/advance with the service on the same clock', () => {
    let h: Harness;
    // The service's clock, moved only by the simulator (the shared clock), starting now.
    const service = new ManualClock(systemClock.now());
    const shared = { now: () => service.now().getTime(), advance: (ms: number) => service.advance(ms) };
    let off: () => void;

    beforeAll(async () => {
      h = await startHarness({ clock: service, simulator: { clock: shared }, env: { METERING_EMITTER_MINUTE: '0' } });
      await h.container.emitter.start();
      off = meterOnAdvance(h.sim, h.container.emitter, h.logger);
    });
    afterAll(async () => {
      off();
      await h.container.emitter.stop();
      await h.close();
    });

    it('seals and sends the hour just ended, so the bill appears in the simulator within seconds', async () => {
      const sub = await h.sim.subscribe({ productCode: 'legacy-sub-product' });
      const auth = { Authorization: `Bearer ${TEST_API_KEY}` };
      const reg = await request(h.app).post('/v1/registrations').set(auth).send({ token: sub.registrationToken });
      expect(reg.status).toBe(200);
      // The activation (subscribe-success) is what the notification suites test; here it is set directly.
      await h.db.store.db
        .updateTable('customers')
        .set({ status: 'active', activated_at: new Date(h.sim.now() - 60_000).toISOString() })
        .where('id', '=', reg.body.customer.id)
        .execute();

      const timestamp = new Date(h.sim.now()).toISOString();
      const usage = await request(h.app)
        .post('/v1/usage')
        .set(auth)
        .send({
          records: [{ customer: sub.customerIdentifier, dimension: 'api_calls', quantity: 120, timestamp, idempotencyKey: 'demo-1' }],
        });
      expect(usage.body.accepted).toBe(1);
      expect(h.sim.billed({ productCode: 'legacy-sub-product' })).toEqual([]);

      const advance = await fetch(`${h.sim.url}/simulator/api/clock/advance`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ hours: 1 }),
      });
      expect(advance.status).toBe(200);
      // Simulator and service moved together.
      expect(Math.abs(service.now().getTime() - h.sim.now())).toBe(0);
      const billed = await until('the hour to be billed', async () =>
        h.sim.billed({ productCode: 'legacy-sub-product' }).find((b) => b.dimension === 'api_calls' && b.quantity === 120),
      );
      expect(billed.hour).toBe(new Date(Math.floor(Date.parse(timestamp) / 3_600_000) * 3_600_000).toISOString());
      expect(billed.meteringRecordId).toEqual(expect.any(String));
    }, 30_000);
  });
});
