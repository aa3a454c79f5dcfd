import { MeterUsageCommand, RegisterUsageCommand } from '@aws-sdk/client-marketplace-metering';
import { activeSubscription, errorOf, startKit, type TestKit } from './support';

const HOUR = 3_600_000;

describe('MeterUsage and RegisterUsage (facts §1.7, §1.8)', () => {
  let kit: TestKit;
  beforeAll(async () => {
    kit = await startKit();
    kit.sim.createProduct({
      productCode: 'ami-product',
      pricingModel: 'subscription',
      identity: 'customer-identifier',
      dimensions: [{ name: 'hosts' }],
    });
    kit.sim.createProduct({
      productCode: 'unsold-product',
      pricingModel: 'subscription',
      identity: 'customer-identifier',
      dimensions: [{ name: 'hosts' }],
    });
    await activeSubscription(kit.sim, 'ami-product');
  });
  afterAll(() => kit.close());

  const meter = (over: Record<string, unknown> = {}) =>
    kit.metering.send(
      new MeterUsageCommand({
        ProductCode: 'ami-product',
        Timestamp: kit.clock.date(),
        UsageDimension: 'hosts',
        UsageQuantity: 2,
        ...over,
      }),
    );

  it('returns a MeteringRecordId and bills the hour', async () => {
    const out = await meter({ ClientToken: 'token-1' });
    expect(out.MeteringRecordId).toMatch(/^[0-9a-f-]{36}$/);
    expect(kit.sim.billed({ productCode: 'ami-product' })).toEqual([
      expect.objectContaining({ operation: 'MeterUsage', dimension: 'hosts', quantity: 2 }),
    ]);
  });

  it('is idempotent for the same ClientToken and answers IdempotencyConflictException (409) for different parameters', async () => {
    const a = await meter({ ClientToken: 'token-1' });
    expect((await meter({ ClientToken: 'token-1' })).MeteringRecordId).toBe(a.MeteringRecordId);
    const err = await errorOf(meter({ ClientToken: 'token-1', UsageQuantity: 3 }));
    expect(err.name).toBe('IdempotencyConflictException');
    expect(err.$metadata?.httpStatusCode).toBe(409);
  });

  it('answers DuplicateRequestException for another quantity in the same hour and dimension', async () => {
    const err = await errorOf(meter({ UsageQuantity: 5 }));
    expect(err.name).toBe('DuplicateRequestException');
  });

  it('accepts records up to 6 hours old and rejects older ones with TimestampOutOfBoundsException', async () => {
    await expect(meter({ Timestamp: kit.clock.date(-6 * HOUR + 1000), UsageQuantity: 1 })).resolves.toHaveProperty('MeteringRecordId');
    const err = await errorOf(meter({ Timestamp: kit.clock.date(-6 * HOUR) }));
    expect(err.name).toBe('TimestampOutOfBoundsException');
  });

  it('answers CustomerNotEntitledException without an active subscription and InvalidProductCodeException for an unknown product', async () => {
    expect((await errorOf(meter({ ProductCode: 'unsold-product' }))).name).toBe('CustomerNotEntitledException');
    expect((await errorOf(meter({ ProductCode: 'no-such-product' }))).name).toBe('InvalidProductCodeException');
  });

  it('answers DryRunOperation instead of metering when DryRun is set', async () => {
    kit.clock.advance(HOUR);
    const err = await errorOf(meter({ DryRun: true }));
    expect(err.name).toBe('DryRunOperation');
    expect(kit.sim.billed({ productCode: 'ami-product' })).toHaveLength(2);
  });

  it('RegisterUsage returns a signed JWT for PublicKeyVersion 1 and rejects other versions', async () => {
    const out = await kit.metering.send(new RegisterUsageCommand({ ProductCode: 'ami-product', PublicKeyVersion: 1, Nonce: 'n-1' }));
    const [, payload] = out.Signature!.split('.');
    expect(JSON.parse(Buffer.from(payload!, 'base64url').toString())).toEqual(
      expect.objectContaining({ productCode: 'ami-product', nonce: 'n-1' }),
    );
    expect(out.PublicKeyRotationTimestamp).toBeInstanceOf(Date);
    expect((await errorOf(kit.metering.send(new RegisterUsageCommand({ ProductCode: 'ami-product', PublicKeyVersion: 2 })))).name).toBe(
      'InvalidPublicKeyVersionException',
    );
  });
});
