import request from 'supertest';
import { startBackgroundWork, type Stoppable } from '../../handlers/background-work';
import { TEST_API_KEY } from '../support/harness';
import { activeCustomer, meteringHarness, setState, sumProduct } from '../metering/metering-support';

/**
 * The background work as `main.ts` starts it: the hourly tick must actually run the emitter (a
 * service that records usage and never sends it bills nobody), and the final-metering window
 * must reach the emitter through the domain events.
 */
const auth = { Authorization: `Bearer ${TEST_API_KEY}` };

async function waitFor(check: () => boolean, ms = 8000): Promise<boolean> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (check()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return check();
}

describe('background work', () => {
  let parts: Stoppable[] = [];

  it('starts the metering tick: finished hours are billed without anyone calling the emitter', async () => {
    const h = await meteringHarness({ env: { METERING_POLL_SECONDS: '1' } });
    try {
      const c = await activeCustomer(h, sumProduct);
      const res = await request(h.app)
        .post('/v1/usage')
        .set(auth)
        .send({ records: [{ customer: c.id, dimension: 'api_calls', quantity: 42, timestamp: '2026-03-10T10:31:00Z', idempotencyKey: 'bg-1' }] });
      expect(res.body.accepted).toBe(1);
      h.clock.set('2026-03-10T11:10:30Z');
      parts = await startBackgroundWork({ container: h.container, config: h.config, clock: h.clock, logger: h.logger });
      expect(await waitFor(() => h.sim.billed({ productCode: sumProduct.code }).some((b) => b.dimension === 'api_calls'))).toBe(true);
      const calls = h.sim.billed({ productCode: sumProduct.code }).filter((b) => b.dimension === 'api_calls');
      expect(calls).toEqual([expect.objectContaining({ customerIdentifier: c.customerIdentifier, hour: '2026-03-10T10:00:00.000Z', quantity: 42 })]);
    } finally {
      for (const p of parts) await p.stop();
      parts = [];
      await h.close();
    }
  });

  it('flushes a customer whose final window opened, from the domain event, before the next tick', async () => {
    // Poll once an hour: only the domain event can bring the flush forward.
    const h = await meteringHarness({ env: { METERING_POLL_SECONDS: '3600', METERING_FINAL_FLUSH_DELAY_MINUTES: '0' } });
    try {
      const c = await activeCustomer(h, sumProduct);
      await request(h.app)
        .post('/v1/usage')
        .set(auth)
        .send({ records: [{ customer: c.id, dimension: 'api_calls', quantity: 7, timestamp: '2026-03-10T10:32:00Z', idempotencyKey: 'bg-2' }] });
      parts = await startBackgroundWork({ container: h.container, config: h.config, clock: h.clock, logger: h.logger });
      await new Promise((r) => setTimeout(r, 300)); // the start-up pass: nothing to send yet
      expect(h.sim.billed({ productCode: sumProduct.code })).toHaveLength(0);
      h.clock.set('2026-03-10T10:40:00Z');
      await setState(h, c.id, { status: 'unsubscribe_pending', statusEventTime: h.clock.now(), activatedAt: new Date('2026-03-10T10:30:00Z'), finalWindowOpenedAt: h.clock.now(), endedAt: null });
      await h.container.bus.publish({ type: 'final-window-opened', customerId: c.id });
      expect(await waitFor(() => h.sim.billed({ productCode: sumProduct.code }).some((b) => b.dimension === 'api_calls'))).toBe(true);
      expect(h.sim.billed({ productCode: sumProduct.code }).find((b) => b.dimension === 'api_calls')).toEqual(expect.objectContaining({ hour: '2026-03-10T10:00:00.000Z', quantity: 7 }));
    } finally {
      for (const p of parts) await p.stop();
      parts = [];
      await h.close();
    }
  });

  it('with METERING_ENABLED=false records usage but sends nothing, and says so', async () => {
    const h = await meteringHarness({ env: { METERING_ENABLED: 'false', METERING_POLL_SECONDS: '1' } });
    try {
      const c = await activeCustomer(h, sumProduct);
      await request(h.app)
        .post('/v1/usage')
        .set(auth)
        .send({ records: [{ customer: c.id, dimension: 'api_calls', quantity: 3, timestamp: '2026-03-10T10:31:00Z', idempotencyKey: 'bg-3' }] });
      h.clock.set('2026-03-10T11:10:30Z');
      parts = await startBackgroundWork({ container: h.container, config: h.config, clock: h.clock, logger: h.logger });
      await new Promise((r) => setTimeout(r, 1500));
      expect(h.sim.billed()).toHaveLength(0);
      expect(h.logs()).toContain('METERING_ENABLED=false');
    } finally {
      for (const p of parts) await p.stop();
      parts = [];
      await h.close();
    }
  });
});
