import { BatchMeterUsageCommand, ResolveCustomerCommand } from '@aws-sdk/client-marketplace-metering';
import { startSimulator, type ClockAdvance, type SimulatorClock } from '../../src/simulator';
import { activeSubscription, drain, errorOf, legacyProduct, snsMessages, startKit, type TestKit } from './support';

const HOUR = 3_600_000;

describe('the demo clock: advancing the simulator clock runs what became due (docs/simulator.md, "Demo clock")', () => {
  let kit: TestKit;
  beforeAll(async () => {
    kit = await startKit({ confirmDelayMs: 120_000, unsubscribeDelayMs: HOUR });
    legacyProduct(kit.sim);
  });
  afterAll(() => kit.close());

  const advance = (body: string, contentType = 'application/json') =>
    fetch(`${kit.sim.url}/simulator/api/clock/advance`, { method: 'POST', headers: { 'content-type': contentType }, body });

  it('POST /simulator/api/clock/advance {"hours": 1} fires a due unsubscribe-success one hour after unsubscribe-pending', async () => {
    const s = await activeSubscription(kit.sim, 'legacy-product');
    const queue = kit.sim.queueUrl('marketplace-subscription');
    await drain(kit.sqs, queue);
    await kit.sim.cancel(s.id);
    expect(snsMessages(await drain(kit.sqs, queue)).map((m) => m.message.action)).toEqual(['unsubscribe-pending']);
    const before = kit.sim.now();
    const half = await advance('{"minutes": 30}');
    expect(half.status).toBe(200);
    expect(await drain(kit.sqs, queue)).toEqual([]);
    const res = await advance('{"hours": 0.5}');
    const body = (await res.json()) as { advancedMs: number; fired: number; now: string };
    expect(body).toEqual(expect.objectContaining({ advancedMs: 30 * 60_000, fired: 1, now: new Date(before + HOUR).toISOString() }));
    const [done] = snsMessages(await drain(kit.sqs, queue));
    expect(done!.message.action).toBe('unsubscribe-success');
    // The notification is stamped with the time it became due, not with the wall clock.
    expect(done!.envelope.Timestamp).toBe(new Date(before + HOUR).toISOString());
    expect(kit.sim.subscription(s.id)).toEqual(expect.objectContaining({ status: 'unsubscribed', endedAt: before + HOUR }));
  });

  it('fires a pending subscribe-success (confirmDelayMs) and expires registration tokens on the advanced clock', async () => {
    const s = await kit.sim.subscribe({ productCode: 'legacy-product' });
    expect((await kit.metering.send(new ResolveCustomerCommand({ RegistrationToken: s.registrationToken }))).CustomerIdentifier).toBe(
      s.customerIdentifier,
    );
    await kit.sim.advanceClock(120_000);
    expect(kit.sim.subscription(s.id).status).toBe('active');
    await kit.sim.advanceClock(HOUR);
    const err = await errorOf(kit.metering.send(new ResolveCustomerCommand({ RegistrationToken: s.registrationToken })));
    expect(err.name).toBe('ExpiredTokenException');
  });

  it('BatchMeterUsage window rules follow the advanced clock', async () => {
    const s = await activeSubscription(kit.sim, 'legacy-product');
    const at = new Date(kit.sim.now());
    const record = () => ({
      ProductCode: 'legacy-product',
      UsageRecords: [{ Timestamp: at, CustomerIdentifier: s.customerIdentifier, Dimension: 'users', Quantity: 1 }],
    });
    await kit.sim.advanceClock(23 * HOUR);
    expect((await kit.metering.send(new BatchMeterUsageCommand(record()))).Results![0]!.Status).toBe('Success');
    await kit.sim.advanceClock(HOUR);
    const err = await errorOf(kit.metering.send(new BatchMeterUsageCommand(record())));
    expect(err.name).toBe('TimestampOutOfBoundsException');
    // A record dated "now" on the advanced clock is in the window (and would be "in the future" on the base clock).
    const now = await kit.metering.send(
      new BatchMeterUsageCommand({
        ProductCode: 'legacy-product',
        UsageRecords: [{ Timestamp: new Date(kit.sim.now()), CustomerIdentifier: s.customerIdentifier, Dimension: 'users', Quantity: 2 }],
      }),
    );
    expect(now.Results![0]!.Status).toBe('Success');
  });

  it.each([
    ['an empty body', ''],
    ['bad JSON', '{"hours": '],
    ['a list', '[1]'],
    ['no amount', '{}'],
    ['both units', '{"hours": 1, "minutes": 5}'],
    ['an unknown unit', '{"days": 1}'],
    ['zero', '{"hours": 0}'],
    ['a negative amount', '{"hours": -1}'],
    ['a string', '{"hours": "1"}'],
    ['a non-number', '{"minutes": null}'],
    ['too far (over 31 days)', '{"hours": 745}'],
    ['a sub-millisecond amount', '{"minutes": 0.000001}'],
  ])('answers 400 to %s, and the clock does not move', async (_label, body) => {
    const before = kit.sim.now();
    const res = await advance(body);
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: string }).error).toBeTruthy();
    expect(kit.sim.now()).toBe(before);
  });

  it('GET /simulator/api/clock tells the time; the page has an "Advance one hour" button that does so', async () => {
    const clock = (await (await fetch(`${kit.sim.url}/simulator/api/clock`)).json()) as { now: string; epochMs: number };
    expect(clock.epochMs).toBe(kit.sim.now());
    const page = await (await fetch(`${kit.sim.url}/simulator`)).text();
    expect(page).toMatch(
      /<form method="post" action="\/simulator\/ui\/clock\/advance">\s*<button type="submit">Advance one hour<\/button>/,
    );
    const before = kit.sim.now();
    const res = await fetch(`${kit.sim.url}/simulator/ui/clock/advance`, { method: 'POST', redirect: 'manual' });
    expect([res.status, res.headers.get('location')]).toEqual([303, '/simulator']);
    expect(kit.sim.now()).toBe(before + HOUR);
  });

  it('advanceClock rejects bad amounts with a RangeError and tells onClockAdvanced listeners', async () => {
    await expect(kit.sim.advanceClock(0)).rejects.toThrow(RangeError);
    await expect(kit.sim.advanceClock(1.5)).rejects.toThrow(RangeError);
    const seen: ClockAdvance[] = [];
    const off = kit.sim.onClockAdvanced((a) => seen.push(a));
    const a = await kit.sim.advanceClock(5000);
    off();
    await kit.sim.advanceClock(5000);
    expect(seen).toEqual([a]);
    expect(a.now - a.from).toBe(5000);
  });
});

describe('a clock shared with the embedding process (option `clock`)', () => {
  it('reads now() from it and moves it with advance(ms), step by step through due tasks', async () => {
    let t = Date.parse('2026-06-15T10:00:00.000Z');
    const steps: number[] = [];
    const shared: SimulatorClock = {
      now: () => t,
      advance: (ms) => {
        steps.push(ms);
        t += ms;
      },
    };
    const sim = await startSimulator({ clock: shared, confirmDelayMs: 600_000, quotas: { batchMeterUsage: 0 } });
    try {
      sim.createProduct({ productCode: 'p', pricingModel: 'subscription', identity: 'license', dimensions: [{ name: 'd' }] });
      const s = await sim.subscribe({ productCode: 'p' });
      expect(s.createdAt).toBe(t);
      await sim.advanceClock(HOUR);
      expect(steps).toEqual([600_000, HOUR - 600_000]);
      expect(sim.subscription(s.id).activatedAt).toBe(Date.parse('2026-06-15T10:10:00.000Z'));
      expect(sim.now()).toBe(t);
      t += 1000; // the embedding process's own time moves too: the simulator follows it
      expect(sim.now()).toBe(Date.parse('2026-06-15T11:00:01.000Z'));
    } finally {
      await sim.stop();
    }
  });

  it('refuses `now` together with `clock`', async () => {
    await expect(startSimulator({ now: Date.now, clock: { now: Date.now, advance: () => undefined } })).rejects.toThrow(
      /either `now` or `clock`/,
    );
  });
});
