import { BatchMeterUsageCommand, type UsageRecord } from '@aws-sdk/client-marketplace-metering';
import { activeSubscription, errorOf, legacyProduct, licenseProduct, startKit, type TestKit } from './support';

const HOUR = 3_600_000;

describe('BatchMeterUsage with CustomerAWSAccountId + LicenseArn (facts §1.6, §1.10, §6)', () => {
  let kit: TestKit;
  beforeAll(async () => {
    kit = await startKit();
    legacyProduct(kit.sim);
    licenseProduct(kit.sim);
    licenseProduct(kit.sim, 'license-other');
  });
  afterAll(() => kit.close());

  const send = (records: UsageRecord[], productCode?: string) =>
    kit.metering.send(new BatchMeterUsageCommand({ ...(productCode ? { ProductCode: productCode } : {}), UsageRecords: records }));

  it('accepts LicenseArn records without a request ProductCode and bills them per license', async () => {
    const s = await activeSubscription(kit.sim, 'license-product');
    const out = await send([
      {
        Timestamp: kit.clock.date(),
        Dimension: 'seats',
        Quantity: 12,
        CustomerAWSAccountId: s.customerAWSAccountId,
        LicenseArn: s.licenseArn,
      },
    ]);
    expect(out.Results![0]!.Status).toBe('Success');
    expect(kit.sim.billed({ customer: s.licenseArn! })).toEqual([
      expect.objectContaining({
        productCode: 'license-product',
        licenseArn: s.licenseArn,
        customerAWSAccountId: s.customerAWSAccountId,
        dimension: 'seats',
        quantity: 12,
      }),
    ]);
  });

  it('dedupes per (LicenseArn, dimension, hour): a different quantity is DuplicateRecord', async () => {
    const s = await activeSubscription(kit.sim, 'license-product');
    const r = {
      Timestamp: kit.clock.date(),
      Dimension: 'api_calls',
      CustomerAWSAccountId: s.customerAWSAccountId,
      LicenseArn: s.licenseArn,
    };
    expect((await send([{ ...r, Quantity: 1 }])).Results![0]!.Status).toBe('Success');
    expect((await send([{ ...r, Quantity: 1 }])).Results![0]!.Status).toBe('Success');
    expect((await send([{ ...r, Quantity: 2 }])).Results![0]!.Status).toBe('DuplicateRecord');
    expect(kit.sim.billed({ customer: s.licenseArn! }).map((b) => b.quantity)).toEqual([1]);
  });

  it('answers InvalidLicenseException when the LicenseArn does not belong to the account', async () => {
    const s = await activeSubscription(kit.sim, 'license-product');
    const err = await errorOf(
      send([
        { Timestamp: kit.clock.date(), Dimension: 'seats', Quantity: 1, CustomerAWSAccountId: '999999999999', LicenseArn: s.licenseArn },
      ]),
    );
    expect(err.name).toBe('InvalidLicenseException');
  });

  it('answers InvalidLicenseException for a well-formed LicenseArn that does not exist', async () => {
    const err = await errorOf(
      send([
        {
          Timestamp: kit.clock.date(),
          Dimension: 'seats',
          Quantity: 1,
          CustomerAWSAccountId: '123456789012',
          LicenseArn: 'arn:aws:license-manager::123456789012:license:l-00000000000000000000000000000000',
        },
      ]),
    );
    expect(err.name).toBe('InvalidLicenseException');
  });

  it('rejects a malformed LicenseArn with a ValidationException (model pattern)', async () => {
    const err = await errorOf(
      send([
        { Timestamp: kit.clock.date(), Dimension: 'seats', Quantity: 1, CustomerAWSAccountId: '123456789012', LicenseArn: 'license-1' },
      ]),
    );
    expect(err.name).toBe('ValidationException');
    expect(err.message).toMatch(/licenseArn/);
  });

  it('keeps one product per call: LicenseArns of two products are rejected', async () => {
    const a = await activeSubscription(kit.sim, 'license-product');
    const b = await activeSubscription(kit.sim, 'license-other');
    const err = await errorOf(
      send([
        {
          Timestamp: kit.clock.date(),
          Dimension: 'seats',
          Quantity: 1,
          CustomerAWSAccountId: a.customerAWSAccountId,
          LicenseArn: a.licenseArn,
        },
        {
          Timestamp: kit.clock.date(),
          Dimension: 'seats',
          Quantity: 1,
          CustomerAWSAccountId: b.customerAWSAccountId,
          LicenseArn: b.licenseArn,
        },
      ]),
    );
    expect(err.name).toBe('InvalidLicenseException');
    expect(err.message).toMatch(/one product/);
  });

  it('requires a LicenseArn for a license-identity product metered by account id', async () => {
    const s = await activeSubscription(kit.sim, 'license-product');
    const err = await errorOf(
      send(
        [{ Timestamp: kit.clock.date(), Dimension: 'seats', Quantity: 1, CustomerAWSAccountId: s.customerAWSAccountId }],
        'license-product',
      ),
    );
    expect(err.name).toBe('InvalidLicenseException');
  });

  it('answers CustomerNotSubscribed for a CustomerIdentifier on a license-identity product', async () => {
    const legacy = await activeSubscription(kit.sim, 'legacy-product');
    const out = await send(
      [{ Timestamp: kit.clock.date(), Dimension: 'seats', Quantity: 1, CustomerIdentifier: legacy.customerIdentifier }],
      'license-product',
    );
    expect(out.Results![0]!.Status).toBe('CustomerNotSubscribed');
  });

  it('answers CustomerNotSubscribed for a license that has been deprovisioned', async () => {
    const s = await activeSubscription(kit.sim, 'license-product');
    await kit.sim.endNow(s.id);
    const out = await send([
      {
        Timestamp: kit.clock.date(),
        Dimension: 'seats',
        Quantity: 1,
        CustomerAWSAccountId: s.customerAWSAccountId,
        LicenseArn: s.licenseArn,
      },
    ]);
    expect(out.Results![0]!.Status).toBe('CustomerNotSubscribed');
  });

  it('bills both identity styles for the same subscription/dimension/hour and logs it as double-billed', async () => {
    kit.clock.advance(HOUR);
    const s = await activeSubscription(kit.sim, 'legacy-product');
    const ts = kit.clock.date();
    const legacy = await send(
      [{ Timestamp: ts, Dimension: 'users', Quantity: 4, CustomerIdentifier: s.customerIdentifier }],
      'legacy-product',
    );
    expect(kit.sim.meteringLog().filter((e) => e.outcome === 'double-billed')).toHaveLength(0);
    const modern = await send([
      { Timestamp: ts, Dimension: 'users', Quantity: 4, CustomerAWSAccountId: s.customerAWSAccountId, LicenseArn: s.licenseArn },
    ]);
    expect(legacy.Results![0]!.Status).toBe('Success');
    expect(modern.Results![0]!.Status).toBe('Success');
    expect(
      kit.sim
        .billed({ productCode: 'legacy-product' })
        .filter((b) => b.customerAWSAccountId === s.customerAWSAccountId && b.dimension === 'users'),
    ).toHaveLength(2);
    const doubles = kit.sim.meteringLog().filter((e) => e.outcome === 'double-billed');
    expect(doubles).toHaveLength(1);
    expect(doubles[0]!.detail).toEqual(expect.objectContaining({ subscriptionId: s.id, dimension: 'users' }));
  });
});
