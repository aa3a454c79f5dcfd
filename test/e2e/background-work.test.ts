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

type H = Awaited<ReturnType<typeof meteringHarness>>;

/**
 * A metering harness with one active customer and one usage record of `quantity` at `timestamp`;
 * `body` runs with `start()` to launch the background work as main.ts does. Everything stops after.
 */
async function withService(
  env: Record<string, string>,
  usage: { quantity: number; timestamp: string },
  body: (h: H, customer: { id: string; customerIdentifier: string | null }, start: () => Promise<void>) => Promise<void>,
): Promise<void> {
  const h = await meteringHarness({ env });
  let parts: Stoppable[] = [];
  try {
    const c = await activeCustomer(h, sumProduct);
    const res = await request(h.app)
      .post('/v1/usage')
      .set(auth)
      .send({ records: [{ customer: c.id, dimension: 'api_calls', ...usage, idempotencyKey: `bg-${usage.quantity}` }] });
    expect(res.body.accepted).toBe(1);
    await body(h, c, async () => {
      parts = await startBackgroundWork({ container: h.container, config: h.config, clock: h.clock, logger: h.logger });
    });
  } finally {
    for (const p of parts) await p.stop();
    await h.close();
  }
}

const billedCalls = (h: H) => h.sim.billed({ productCode: sumProduct.code }).filter((b) => b.dimension === 'api_calls');

describe('background work', () => {
  it('starts the metering tick: finished hours are billed without anyone calling the emitter', () =>
    withService({ METERING_POLL_SECONDS: '1' }, { quantity: 42, timestamp: '2026-03-10T10:31:00Z' }, async (h, c, start) => {
      h.clock.set('2026-03-10T11:10:30Z');
      await start();
      expect(await waitFor(() => billedCalls(h).length > 0)).toBe(true);
      expect(billedCalls(h)).toEqual([
        expect.objectContaining({ customerIdentifier: c.customerIdentifier, hour: '2026-03-10T10:00:00.000Z', quantity: 42 }),
      ]);
    }));

  it('flushes a customer whose final window opened, from the domain event, before the next tick', () =>
    // Poll once an hour: only the domain event can bring the flush forward.
    withService(
      { METERING_POLL_SECONDS: '3600', METERING_FINAL_FLUSH_DELAY_MINUTES: '0' },
      { quantity: 7, timestamp: '2026-03-10T10:32:00Z' },
      async (h, c, start) => {
        await start();
        await new Promise((r) => setTimeout(r, 300)); // the start-up pass: nothing to send yet
        expect(h.sim.billed({ productCode: sumProduct.code })).toHaveLength(0);
        h.clock.set('2026-03-10T10:40:00Z');
        await setState(h, c.id, {
          status: 'unsubscribe_pending',
          statusEventTime: h.clock.now(),
          activatedAt: new Date('2026-03-10T10:30:00Z'),
          finalWindowOpenedAt: h.clock.now(),
          endedAt: null,
        });
        await h.container.bus.publish({ type: 'final-window-opened', customerId: c.id });
        expect(await waitFor(() => billedCalls(h).length > 0)).toBe(true);
        expect(billedCalls(h)).toEqual([expect.objectContaining({ hour: '2026-03-10T10:00:00.000Z', quantity: 7 })]);
      },
    ));

  it('with METERING_ENABLED=false records usage but sends nothing, and says so', () =>
    withService(
      { METERING_ENABLED: 'false', METERING_POLL_SECONDS: '1' },
      { quantity: 3, timestamp: '2026-03-10T10:31:00Z' },
      async (h, _c, start) => {
        h.clock.set('2026-03-10T11:10:30Z');
        await start();
        await new Promise((r) => setTimeout(r, 1500));
        expect(h.sim.billed()).toHaveLength(0);
        expect(h.logs()).toContain('METERING_ENABLED=false');
      },
    ));
});
