import { BatchMeterUsageCommand, type UsageRecord } from '@aws-sdk/client-marketplace-metering';
import { activeSubscription, errorOf, legacyProduct, startKit, type TestKit } from './support';

const HOUR = 3_600_000;

describe('BatchMeterUsage with CustomerIdentifier + ProductCode (facts §1.6, §6)', () => {
  let kit: TestKit;
  let customer: string;
  let subscriptionId: string;
  const send = (records: UsageRecord[], productCode = 'legacy-product') =>
    kit.metering.send(new BatchMeterUsageCommand({ ProductCode: productCode, UsageRecords: records }));
  const rec = (over: Partial<UsageRecord> = {}): UsageRecord => ({
    Timestamp: kit.clock.date(),
    Dimension: 'users',
    Quantity: 1,
    CustomerIdentifier: customer,
    ...over,
  });

  beforeAll(async () => {
    kit = await startKit();
    legacyProduct(kit.sim);
    const s = await activeSubscription(kit.sim, 'legacy-product');
    customer = s.customerIdentifier!;
    subscriptionId = s.id;
    kit.clock.advance(HOUR); // work in the hour after activation
  });
  afterAll(() => kit.close());

  it('accepts a record: Status Success, a MeteringRecordId, the record echoed, billed once for the floored hour', async () => {
    const ts = kit.clock.date(-5 * 60_000);
    const out = await send([rec({ Timestamp: ts, Quantity: 7 })]);
    expect(out.UnprocessedRecords).toEqual([]);
    expect(out.Results).toHaveLength(1);
    const r = out.Results![0]!;
    expect(r.Status).toBe('Success');
    expect(r.MeteringRecordId).toMatch(/^[0-9a-f-]{36}$/);
    expect(r.UsageRecord?.Quantity).toBe(7);
    expect(r.UsageRecord?.Timestamp?.getTime()).toBe(ts.getTime());
    const billed = kit.sim.billed({ customer });
    expect(billed).toEqual([
      expect.objectContaining({
        productCode: 'legacy-product',
        customerIdentifier: customer,
        dimension: 'users',
        quantity: 7,
        hour: new Date(Math.floor(ts.getTime() / HOUR) * HOUR).toISOString(),
        meteringRecordId: r.MeteringRecordId,
      }),
    ]);
  });

  it('is idempotent for an identical resubmission: same MeteringRecordId, billed once', async () => {
    const record = rec({ Dimension: 'storage', Quantity: 3 });
    const first = await send([record]);
    const again = await send([record]);
    expect(again.Results![0]!.Status).toBe('Success');
    expect(again.Results![0]!.MeteringRecordId).toBe(first.Results![0]!.MeteringRecordId);
    expect(kit.sim.billed({ customer }).filter((b) => b.dimension === 'storage')).toHaveLength(1);
  });

  it('answers DuplicateRecord for a different quantity in the same customer/dimension/hour; the first stands', async () => {
    kit.clock.advance(HOUR);
    await send([rec({ Quantity: 10 })]);
    const out = await send([rec({ Quantity: 11, Timestamp: kit.clock.date(-60_000) })]);
    expect(out.Results![0]!.Status).toBe('DuplicateRecord');
    const hour = new Date(Math.floor(kit.clock.t / HOUR) * HOUR).toISOString();
    expect(
      kit.sim
        .billed({ customer })
        .filter((b) => b.hour === hour && b.dimension === 'users')
        .map((b) => b.quantity),
    ).toEqual([10]);
    expect(kit.sim.meteringLog().some((e) => e.outcome === 'DuplicateRecord')).toBe(true);
  });

  it('answers CustomerNotSubscribed before subscribe-success and after unsubscribe-success, and accepts while unsubscribe-pending', async () => {
    const s = await kit.sim.subscribe({ productCode: 'legacy-product', confirmation: 'manual' });
    const r = (q: number) => ({ Timestamp: kit.clock.date(), Dimension: 'users', Quantity: q, CustomerIdentifier: s.customerIdentifier });
    expect((await send([r(1)])).Results![0]!.Status).toBe('CustomerNotSubscribed');
    await kit.sim.confirm(s.id);
    kit.clock.advance(60_000);
    expect((await send([r(1)])).Results![0]!.Status).toBe('Success');
    await kit.sim.cancel(s.id);
    kit.clock.advance(HOUR);
    expect(kit.sim.subscription(s.id).status).toBe('unsubscribe-pending');
    expect((await send([r(2)])).Results![0]!.Status).toBe('Success');
    await kit.sim.endNow(s.id);
    kit.clock.advance(60_000);
    const late = await send([{ ...r(3), Timestamp: kit.clock.date(-2 * HOUR) }]);
    expect(late.Results![0]!.Status).toBe('CustomerNotSubscribed');
  });

  it('answers CustomerNotSubscribed for a record dated in an hour before the activation hour', async () => {
    const s = await kit.sim.subscribe({ productCode: 'legacy-product', confirmation: 'manual' });
    await kit.sim.confirm(s.id);
    const out = await send([
      { Timestamp: kit.clock.date(-HOUR), Dimension: 'users', Quantity: 1, CustomerIdentifier: s.customerIdentifier },
    ]);
    expect(out.Results![0]!.Status).toBe('CustomerNotSubscribed');
  });

  it('returns one result per record with mixed statuses in one call', async () => {
    kit.clock.advance(HOUR);
    const pending = await kit.sim.subscribe({ productCode: 'legacy-product', confirmation: 'manual' });
    const out = await send([
      rec({ Quantity: 4 }),
      { Timestamp: kit.clock.date(), Dimension: 'users', Quantity: 1, CustomerIdentifier: pending.customerIdentifier },
      rec({ Quantity: 5 }),
    ]);
    expect(out.Results!.map((r) => r.Status)).toEqual(['Success', 'CustomerNotSubscribed', 'DuplicateRecord']);
  });

  describe('time window', () => {
    it('accepts a record just under 24 hours old and rejects the whole batch for one 24 hours old', async () => {
      const ok = await send([rec({ Timestamp: kit.clock.date(-24 * HOUR + 1000), Dimension: 'storage', Quantity: 2 })]);
      // Inside the window (no exception); the hour precedes this customer's activation, so not billed.
      expect(ok.Results![0]!.Status).toBe('CustomerNotSubscribed');
      const err = await errorOf(
        send([
          rec({ Quantity: 99, Dimension: 'storage', Timestamp: kit.clock.date(-60_000) }),
          rec({ Timestamp: kit.clock.date(-24 * HOUR) }),
        ]),
      );
      expect(err.name).toBe('TimestampOutOfBoundsException');
      expect(err.$metadata?.httpStatusCode).toBe(400);
      // Whole batch rejected: the valid first record was not billed either.
      expect(kit.sim.billed({ customer }).some((b) => b.quantity === 99)).toBe(false);
    });

    it('rejects a timestamp in the future', async () => {
      const err = await errorOf(send([rec({ Timestamp: kit.clock.date(60_000) })]));
      expect(err.name).toBe('TimestampOutOfBoundsException');
    });

    it('applies the month-end rule: previous-month records only until 06:00 UTC on the 1st', async () => {
      const k = await startKit();
      try {
        legacyProduct(k.sim);
        k.clock.t = Date.parse('2026-03-31T20:00:00Z');
        const s = await activeSubscription(k.sim, 'legacy-product');
        const r = {
          Timestamp: new Date('2026-03-31T22:10:00Z'),
          Dimension: 'users',
          Quantity: 1,
          CustomerIdentifier: s.customerIdentifier,
        };
        k.clock.t = Date.parse('2026-04-01T05:59:59Z');
        const ok = await k.metering.send(new BatchMeterUsageCommand({ ProductCode: 'legacy-product', UsageRecords: [r] }));
        expect(ok.Results![0]!.Status).toBe('Success');
        k.clock.t = Date.parse('2026-04-01T06:00:00Z');
        const err = await errorOf(
          k.metering.send(new BatchMeterUsageCommand({ ProductCode: 'legacy-product', UsageRecords: [{ ...r, Dimension: 'storage' }] })),
        );
        expect(err.name).toBe('TimestampOutOfBoundsException'); // only 8 h old, but March is closed
      } finally {
        await k.close();
      }
    });
  });

  describe('request validation', () => {
    it('rejects more than 25 records with a ValidationException (400)', async () => {
      const records = Array.from({ length: 26 }, (_, i) => rec({ Quantity: i }));
      const err = await errorOf(send(records));
      expect(err.name).toBe('ValidationException');
      expect(err.message).toMatch(/usageRecords.*less than or equal to 25/);
      expect(err.$metadata?.httpStatusCode).toBe(400);
    });

    it('accepts exactly 25 records', async () => {
      kit.clock.advance(HOUR);
      const subs = await Promise.all(Array.from({ length: 25 }, () => activeSubscription(kit.sim, 'legacy-product')));
      kit.clock.advance(60_000);
      const out = await send(
        subs.map((s) => ({ Timestamp: kit.clock.date(), Dimension: 'users', Quantity: 1, CustomerIdentifier: s.customerIdentifier })),
      );
      expect(out.Results!.filter((r) => r.Status === 'Success')).toHaveLength(25);
    });

    it.each([
      ['a fractional quantity', { Quantity: 1.5 }, /integer/],
      ['a negative quantity', { Quantity: -1 }, /greater than or equal to 0/],
      ['a quantity above 2147483647', { Quantity: 2_147_483_648 }, /less than or equal to 2147483647/],
      ['an empty dimension', { Dimension: '' }, /dimension/],
    ])('rejects %s with a ValidationException', async (_label, over, message) => {
      const err = await errorOf(send([rec(over as Partial<UsageRecord>)]));
      expect(err.name).toBe('ValidationException');
      expect(err.message).toMatch(message);
    });

    it('rejects a record without a Timestamp (the SDK does not check it, facts §0.1)', async () => {
      const err = await errorOf(send([{ Dimension: 'users', Quantity: 1, CustomerIdentifier: customer } as UsageRecord]));
      expect(err.name).toBe('ValidationException');
      expect(err.message).toMatch(/timestamp.*must not be null/);
    });

    it('answers InvalidUsageDimensionException for an unknown dimension (whole call)', async () => {
      const err = await errorOf(send([rec({ Dimension: 'gigabytes' })]));
      expect(err.name).toBe('InvalidUsageDimensionException');
    });

    it('answers InvalidProductCodeException for an unknown product', async () => {
      const err = await errorOf(send([rec()], 'someone-elses-product'));
      expect(err.name).toBe('InvalidProductCodeException');
    });

    it('answers InvalidCustomerIdentifierException for an identifier that was never issued', async () => {
      const err = await errorOf(send([rec({ CustomerIdentifier: 'NOPE0000000' })]));
      expect(err.name).toBe('InvalidCustomerIdentifierException');
    });

    it('answers InvalidUsageAllocationsException when allocations do not sum to the quantity', async () => {
      const err = await errorOf(
        send([
          rec({
            Quantity: 5,
            UsageAllocations: [{ AllocatedUsageQuantity: 2, Tags: [{ Key: 'team', Value: 'a' }] }, { AllocatedUsageQuantity: 2 }],
          }),
        ]),
      );
      expect(err.name).toBe('InvalidUsageAllocationsException');
    });

    it('answers InvalidUsageAllocationsException for two allocations with the same tag set', async () => {
      const tags = [{ Key: 'team', Value: 'a' }];
      const err = await errorOf(
        send([
          rec({
            Quantity: 2,
            UsageAllocations: [
              { AllocatedUsageQuantity: 1, Tags: tags },
              { AllocatedUsageQuantity: 1, Tags: tags },
            ],
          }),
        ]),
      );
      expect(err.name).toBe('InvalidUsageAllocationsException');
    });

    it('answers InvalidTagException for more than 5 tags and for characters outside the allowed set', async () => {
      const six = Array.from({ length: 6 }, (_, i) => ({ Key: `k${i}`, Value: 'v' }));
      expect((await errorOf(send([rec({ Quantity: 1, UsageAllocations: [{ AllocatedUsageQuantity: 1, Tags: six }] })]))).name).toBe(
        'InvalidTagException',
      );
      expect(
        (
          await errorOf(
            send([rec({ Quantity: 1, UsageAllocations: [{ AllocatedUsageQuantity: 1, Tags: [{ Key: 'team', Value: 'a#b' }] }] })]),
          )
        ).name,
      ).toBe('InvalidTagException');
    });

    it('accepts valid allocations and records them with the billed record', async () => {
      kit.clock.advance(HOUR);
      const out = await send([
        rec({
          Dimension: 'storage',
          Quantity: 5,
          UsageAllocations: [{ AllocatedUsageQuantity: 3, Tags: [{ Key: 'team', Value: 'blue-1' }] }, { AllocatedUsageQuantity: 2 }],
        }),
      ]);
      expect(out.Results![0]!.Status).toBe('Success');
      const billed = kit.sim.billed({ customer }).find((b) => b.meteringRecordId === out.Results![0]!.MeteringRecordId);
      expect(billed?.allocations).toEqual([{ quantity: 3, tags: [{ key: 'team', value: 'blue-1' }] }, { quantity: 2 }]);
    });

    it('rejects a record naming both CustomerIdentifier and CustomerAWSAccountId (mutually exclusive)', async () => {
      const err = await errorOf(send([rec({ CustomerAWSAccountId: kit.sim.subscription(subscriptionId).customerAWSAccountId })]));
      expect(err.name).toBe('ValidationException');
    });

    it('accepts CustomerAWSAccountId with ProductCode for a legacy product (ProductCode-based identity)', async () => {
      kit.clock.advance(HOUR);
      const account = kit.sim.subscription(subscriptionId).customerAWSAccountId;
      const out = await send([{ Timestamp: kit.clock.date(), Dimension: 'users', Quantity: 8, CustomerAWSAccountId: account }]);
      expect(out.Results![0]!.Status).toBe('Success');
      // Same customer/dimension/hour by CustomerIdentifier now collides with it.
      expect((await send([rec({ Quantity: 9 })])).Results![0]!.Status).toBe('DuplicateRecord');
    });
  });
});
