import type { ManualClock } from '../../src/platform/clock';
import type { Harness } from '../support/harness';
import { describeDialects } from '../support/stores';
import { activeCustomer, drain, meteringHarness, meterUsageProduct, setState, sumProduct } from './metering-support';

/**
 * After a downtime the emitter gives every idle past hour that AWS still accepts its zero record
 * (facts §6), for each heartbeat dimension of each active customer: BatchMeterUsage takes 24 hours
 * back and nothing of the previous month after 06:00 UTC on the 1st (facts §1.6), MeterUsage 6 hours
 * (facts §1.7). Never an hour before the activation hour, never one from the end on.
 */
type H = Harness & { clock: ManualClock };
const HOUR = 3_600_000;

/** `hour ISO` of every billed zero record of (customer, dimension), sorted. */
function zeroHours(h: H, who: { customerIdentifier?: string | null }, dimension: string): string[] {
  return h.sim
    .billed()
    .filter((b) => b.customerIdentifier === who.customerIdentifier && b.dimension === dimension && b.quantity === 0)
    .map((b) => b.hour)
    .sort();
}

/** Hour starts from `from` (inclusive) to `to` (exclusive), ISO. */
function hoursFrom(from: string, to: string): string[] {
  const out: string[] = [];
  for (let t = Date.parse(from); t < Date.parse(to); t += HOUR) out.push(new Date(t).toISOString());
  return out;
}

describeDialects('heartbeats after a downtime (%s)', (dialect) => {
  let h: H;
  beforeEach(async () => {
    h = await meteringHarness({ dialect, products: [sumProduct, meterUsageProduct] });
  });
  afterEach(async () => h.close());

  it('7 days down (168 idle hours): every hour still inside the AWS window gets its zero record, none before activation or after the end', async () => {
    const steady = await activeCustomer(h, sumProduct); // active since 10:30 on the 10th
    const ending = await activeCustomer(h, sumProduct);
    const machine = await activeCustomer(h, meterUsageProduct);
    h.clock.set('2026-03-10T11:10:00Z');
    await drain(h); // hour 10 done: the last completed hour before the downtime
    expect(zeroHours(h, steady, 'api_calls')).toEqual(['2026-03-10T10:00:00.000Z']);

    // Down for a week. Meanwhile a customer subscribes, and another one's subscription ends.
    h.clock.set('2026-03-17T02:30:00Z');
    const late = await activeCustomer(h, sumProduct);
    // Its agreement ended at 20:00 on the 16th: the final-metering window opened then.
    await setState(h, ending.id, {
      status: 'unsubscribe_pending',
      statusEventTime: new Date('2026-03-16T20:00:00Z'),
      activatedAt: new Date('2026-03-10T10:30:00Z'),
      finalWindowOpenedAt: new Date('2026-03-16T20:00:00Z'),
      endedAt: new Date('2026-03-16T20:00:00Z'),
    });
    h.clock.set('2026-03-17T11:10:00Z');
    const run = await h.container.emitter.runOnce();
    await drain(h);

    // 168 idle hours (11:00 on the 10th to 10:00 on the 17th): BatchMeterUsage still takes the
    // ones after 11:10 on the 16th, i.e. 12:00 on the 16th to 10:00 on the 17th (23 hours).
    const inWindow = hoursFrom('2026-03-16T12:00:00Z', '2026-03-17T11:00:00Z');
    expect(inWindow).toHaveLength(23);
    for (const dimension of ['api_calls', 'peak_hosts'])
      expect(zeroHours(h, steady, dimension)).toEqual(['2026-03-10T10:00:00.000Z', ...inWindow]);
    // Subscribed at 02:30 on the 17th: from its activation hour on.
    expect(zeroHours(h, late, 'api_calls')).toEqual(hoursFrom('2026-03-17T02:00:00Z', '2026-03-17T11:00:00Z'));
    // Ended at 20:00 on the 16th: its hours before the end that AWS still takes, nothing from the end on.
    expect(zeroHours(h, ending, 'api_calls').filter((x) => x >= '2026-03-16T20:00:00.000Z')).toEqual([]);
    expect(zeroHours(h, ending, 'api_calls').filter((x) => x > '2026-03-10T10:00:00.000Z')).toEqual(
      hoursFrom('2026-03-16T12:00:00Z', '2026-03-16T20:00:00Z'),
    );
    // MeterUsage: 6 hours back (06:00 to 10:00 after 05:10).
    expect(
      h.sim
        .billed({ productCode: meterUsageProduct.code })
        .filter((b) => b.hour > '2026-03-10T10:00:00.000Z')
        .map((b) => b.hour)
        .sort(),
    ).toEqual(hoursFrom('2026-03-17T06:00:00Z', '2026-03-17T11:00:00Z'));
    expect(machine.id).toBeTruthy();
    expect(run.heartbeats).toBeGreaterThanOrEqual(23 * 2 + 9 + 8 + 5);
    // No hour outside the window was even created (nothing to expire, nothing sent late).
    expect(await h.container.meterBuckets.list({ state: 'expired', limit: 10 })).toEqual([]);
  });

  it('a first run ever, a week after the customers were activated: not only the last hour, every hour still inside the window', async () => {
    const c = await activeCustomer(h, sumProduct); // activated 10:30 on the 10th; the emitter has never completed an hour
    h.clock.set('2026-03-17T11:10:00Z');
    await drain(h);
    expect(zeroHours(h, c, 'api_calls')).toEqual(hoursFrom('2026-03-16T12:00:00Z', '2026-03-17T11:00:00Z'));
  });

  it('20 hours down: every idle hour gets its zero record', async () => {
    const c = await activeCustomer(h, sumProduct);
    h.clock.set('2026-03-10T11:10:00Z');
    await drain(h);
    h.clock.set('2026-03-11T07:10:00Z'); // hours 11:00 on the 10th to 06:00 on the 11th: 20 hours
    await drain(h);
    const idle = hoursFrom('2026-03-10T11:00:00Z', '2026-03-11T07:00:00Z');
    expect(idle).toHaveLength(20);
    expect(zeroHours(h, c, 'api_calls')).toEqual(['2026-03-10T10:00:00.000Z', ...idle]);
    expect(zeroHours(h, c, 'peak_hosts')).toEqual(['2026-03-10T10:00:00.000Z', ...idle]);
  });

  it('20 hours down across a month end: the previous month is cut at 06:00 UTC on the 1st', async () => {
    await h.close();
    h = await meteringHarness({ dialect, products: [sumProduct], start: '2026-03-31T10:30:00Z' });
    const c = await activeCustomer(h, sumProduct);
    h.clock.set('2026-03-31T11:10:00Z');
    await drain(h);
    h.clock.set('2026-04-01T07:10:00Z'); // idle: 11:00 on the 31st to 06:00 on the 1st
    await drain(h);
    // March's hours are refused after 06:00 on 1 April (though younger than 24 h); April's are sent.
    expect(zeroHours(h, c, 'api_calls')).toEqual([
      '2026-03-31T10:00:00.000Z',
      ...hoursFrom('2026-04-01T00:00:00Z', '2026-04-01T07:00:00Z'),
    ]);
  });
});
