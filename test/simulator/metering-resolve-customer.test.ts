import { ResolveCustomerCommand } from '@aws-sdk/client-marketplace-metering';
import { activeSubscription, errorOf, legacyProduct, licenseProduct, startKit, type TestKit } from './support';

describe('ResolveCustomer (facts §1.5)', () => {
  let kit: TestKit;
  beforeAll(async () => {
    kit = await startKit({ tokenTtlMs: 3_600_000 });
    legacyProduct(kit.sim);
    licenseProduct(kit.sim);
  });
  afterAll(() => kit.close());

  it('returns CustomerIdentifier, ProductCode and CustomerAWSAccountId for a legacy product', async () => {
    const s = await kit.sim.subscribe({ productCode: 'legacy-product', awsAccountId: '123456789012', confirmation: 'manual' });
    const out = await kit.metering.send(new ResolveCustomerCommand({ RegistrationToken: s.registrationToken }));
    expect(out.CustomerIdentifier).toBe(s.customerIdentifier);
    expect(out.CustomerIdentifier).not.toBe('123456789012');
    expect(out.ProductCode).toBe('legacy-product');
    expect(out.CustomerAWSAccountId).toBe('123456789012');
    expect(out.LicenseArn).toBeUndefined();
  });

  it('returns LicenseArn and no CustomerIdentifier for a license product', async () => {
    const s = await kit.sim.subscribe({ productCode: 'license-product', confirmation: 'manual' });
    const out = await kit.metering.send(new ResolveCustomerCommand({ RegistrationToken: s.registrationToken }));
    expect(out.CustomerIdentifier).toBeUndefined();
    expect(out.ProductCode).toBe('license-product');
    expect(out.CustomerAWSAccountId).toBe(s.customerAWSAccountId);
    expect(out.LicenseArn).toBe(s.licenseArn);
    expect(out.LicenseArn).toMatch(/^arn:aws:license-manager::\d{12}:license:l-[0-9a-f]{32}$/);
  });

  it('resolves the same token repeatedly to the same values until it expires', async () => {
    const s = await activeSubscription(kit.sim, 'legacy-product');
    const a = await kit.metering.send(new ResolveCustomerCommand({ RegistrationToken: s.registrationToken }));
    const b = await kit.metering.send(new ResolveCustomerCommand({ RegistrationToken: s.registrationToken }));
    expect(b.CustomerIdentifier).toBe(a.CustomerIdentifier);
  });

  it('keeps one customer identifier per buyer account across products', async () => {
    legacyProduct(kit.sim, 'legacy-second');
    const a = await kit.sim.subscribe({ productCode: 'legacy-product', awsAccountId: '222233334444', confirmation: 'manual' });
    const b = await kit.sim.subscribe({ productCode: 'legacy-second', awsAccountId: '222233334444', confirmation: 'manual' });
    expect(a.customerIdentifier).toBe(b.customerIdentifier);
  });

  it('answers InvalidTokenException (client fault, HTTP 400) for an unknown token', async () => {
    const err = await errorOf(kit.metering.send(new ResolveCustomerCommand({ RegistrationToken: 'not-a-token' })));
    expect(err.name).toBe('InvalidTokenException');
    expect(err.$fault).toBe('client');
    expect(err.$metadata?.httpStatusCode).toBe(400);
  });

  it('answers ExpiredTokenException once the token lifetime has passed on the simulator clock', async () => {
    const s = await kit.sim.subscribe({ productCode: 'legacy-product', confirmation: 'manual' });
    kit.clock.advance(3_600_000 - 1);
    await expect(kit.metering.send(new ResolveCustomerCommand({ RegistrationToken: s.registrationToken }))).resolves.toBeDefined();
    kit.clock.advance(1);
    const err = await errorOf(kit.metering.send(new ResolveCustomerCommand({ RegistrationToken: s.registrationToken })));
    expect(err.name).toBe('ExpiredTokenException');
  });

  it('mints a fresh token for re-registration; the fresh one resolves to the same customer', async () => {
    const s = await activeSubscription(kit.sim, 'legacy-product');
    const fresh = kit.sim.newRegistrationToken(s.id);
    expect(fresh).not.toBe(s.registrationToken);
    expect(kit.sim.subscription(s.id).registrationToken).toBe(fresh);
    const out = await kit.metering.send(new ResolveCustomerCommand({ RegistrationToken: fresh }));
    expect(out.CustomerIdentifier).toBe(s.customerIdentifier);
  });

  it('rejects an empty token with a ValidationException', async () => {
    const err = await errorOf(kit.metering.send(new ResolveCustomerCommand({ RegistrationToken: '' })));
    expect(err.name).toBe('ValidationException');
    expect(err.message).toMatch(/registrationToken/);
  });
});
