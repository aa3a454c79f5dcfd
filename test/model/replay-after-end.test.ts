import request from 'supertest';
import { TEST_API_KEY } from '../support/harness';
import { activeCustomer, meteringHarness, setState, sumProduct, T0 } from '../metering/metering-support';

/**
 * A record accepted while the buyer was active, sent again with the same idempotency key and body
 * after the subscription ended and the final flush ran, is answered as a replay: a client retrying
 * after a lost answer learns its record was recorded. (The money model checks this for every buyer;
 * these cases pin the end of a subscription, including an end dated before the record, where a
 * new record would be refused.)
 */
describe('usage replay after the subscription ended', () => {
  it('answers the replay of an accepted record as accepted, replayed', async () => {
    const h = await meteringHarness();
    try {
      const c = await activeCustomer(h, sumProduct);
      const record = { customer: c.id, dimension: 'api_calls', quantity: 3, timestamp: '2026-03-10T10:35:00Z', idempotencyKey: 'r1' };
      const send = () =>
        request(h.app)
          .post('/v1/usage')
          .set('Authorization', `Bearer ${TEST_API_KEY}`)
          .send({ records: [record] });
      h.clock.set('2026-03-10T10:40:00Z');
      expect((await send()).body.results[0]).toMatchObject({ status: 'accepted', replayed: false });
      const end = new Date('2026-03-10T10:45:00Z');
      h.clock.set('2026-03-10T10:50:00Z');
      await setState(h, c.id, {
        status: 'unsubscribed',
        statusEventTime: end,
        activatedAt: new Date(T0),
        finalWindowOpenedAt: end,
        endedAt: end,
      });
      await h.container.emitter.runOnce(); // the final flush
      expect((await send()).body.results[0]).toMatchObject({ status: 'accepted', replayed: true });
    } finally {
      await h.close();
    }
  });

  it('answers the replay as accepted even when the end delivered since is dated before the record', async () => {
    const h = await meteringHarness();
    try {
      const c = await activeCustomer(h, sumProduct);
      const send = (idempotencyKey: string) =>
        request(h.app)
          .post('/v1/usage')
          .set('Authorization', `Bearer ${TEST_API_KEY}`)
          .send({ records: [{ customer: c.id, dimension: 'api_calls', quantity: 3, timestamp: '2026-03-10T10:35:00Z', idempotencyKey }] });
      h.clock.set('2026-03-10T10:40:00Z');
      expect((await send('r1')).body.results[0]).toMatchObject({ status: 'accepted', replayed: false });
      // AWS says the licence ended at 10:30, before the record's own time.
      const end = new Date('2026-03-10T10:30:00Z');
      await setState(h, c.id, {
        status: 'unsubscribed',
        statusEventTime: end,
        activatedAt: new Date(T0),
        finalWindowOpenedAt: end,
        endedAt: end,
      });
      expect((await send('r1')).body.results[0]).toMatchObject({ status: 'accepted', replayed: true });
      // A new record for the same time is refused.
      expect((await send('r2')).body.results[0]).toMatchObject({ status: 'rejected', code: 'customer_not_active' });
    } finally {
      await h.close();
    }
  });
});
