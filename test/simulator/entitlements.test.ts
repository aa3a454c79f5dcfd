import {
  GetEntitlementsCommand,
  type MarketplaceEntitlementServiceClient,
  paginateGetEntitlements,
  type Entitlement,
} from '@aws-sdk/client-marketplace-entitlement-service';
import { activeSubscription, errorOf, legacyProduct, licenseProduct, startKit, type TestKit } from './support';

describe('GetEntitlements (facts §2.2, §2.3, §2.5)', () => {
  let kit: TestKit;
  let legacyA: Awaited<ReturnType<typeof activeSubscription>>;
  let legacyB: Awaited<ReturnType<typeof activeSubscription>>;
  let license: Awaited<ReturnType<typeof activeSubscription>>;
  const expiry = new Date('2027-01-01T00:00:00.000Z');

  beforeAll(async () => {
    kit = await startKit();
    kit.sim.createProduct({
      productCode: 'contract-product',
      pricingModel: 'contract',
      identity: 'customer-identifier',
      dimensions: [
        { name: 'seats', type: 'Integer' },
        { name: 'sso', type: 'Boolean' },
        { name: 'tier', type: 'String' },
        { name: 'ratio', type: 'Double' },
      ],
    });
    licenseProduct(kit.sim);
    legacyProduct(kit.sim);
    legacyA = await activeSubscription(kit.sim, 'contract-product');
    await kit.sim.setEntitlements(legacyA.id, [
      { dimension: 'seats', integerValue: 10, expirationDate: expiry },
      { dimension: 'sso', booleanValue: true },
      { dimension: 'tier', stringValue: 'gold' },
      { dimension: 'ratio', doubleValue: 0.5 },
    ]);
    legacyB = await activeSubscription(kit.sim, 'contract-product');
    await kit.sim.setEntitlements(legacyB.id, [{ dimension: 'seats', integerValue: 3 }]);
    license = await activeSubscription(kit.sim, 'license-product');
    await kit.sim.setEntitlements(license.id, [{ dimension: 'seats', integerValue: 50 }]);
  });
  afterAll(() => kit.close());

  const get = (input: Partial<ConstructorParameters<typeof GetEntitlementsCommand>[0]>) =>
    kit.entitlement.send(new GetEntitlementsCommand({ ProductCode: 'contract-product', ...input }));

  it('returns typed values with exactly one Value member each, and ExpirationDate as a Date', async () => {
    const out = await get({ Filter: { CUSTOMER_IDENTIFIER: [legacyA.customerIdentifier!] } });
    const byDim = Object.fromEntries(out.Entitlements!.map((e) => [e.Dimension, e]));
    expect(byDim.seats!.Value).toEqual({ IntegerValue: 10 });
    expect(byDim.seats!.ExpirationDate).toEqual(expiry);
    expect(byDim.sso!.Value).toEqual({ BooleanValue: true });
    expect(byDim.tier!.Value).toEqual({ StringValue: 'gold' });
    expect(byDim.ratio!.Value).toEqual({ DoubleValue: 0.5 });
    expect(byDim.sso!.ExpirationDate).toBeUndefined();
    expect(byDim.seats).toEqual(
      expect.objectContaining({
        ProductCode: 'contract-product',
        CustomerIdentifier: legacyA.customerIdentifier,
        CustomerAWSAccountId: legacyA.customerAWSAccountId,
      }),
    );
  });

  it('unions values within a filter key and intersects keys', async () => {
    const both = await get({
      Filter: { CUSTOMER_IDENTIFIER: [legacyA.customerIdentifier!, legacyB.customerIdentifier!], DIMENSION: ['seats'] },
    });
    expect(both.Entitlements!.map((e) => e.Value?.IntegerValue).sort()).toEqual([10, 3].sort());
    const byAccount = await get({ Filter: { CUSTOMER_AWS_ACCOUNT_ID: [legacyB.customerAWSAccountId] } });
    expect(byAccount.Entitlements!.map((e) => e.CustomerIdentifier)).toEqual([legacyB.customerIdentifier]);
  });

  it('filters license products by LICENSE_ARN and returns no CustomerIdentifier for them', async () => {
    const out = await get({ ProductCode: 'license-product', Filter: { LICENSE_ARN: [license.licenseArn!] } });
    expect(out.Entitlements).toEqual([
      expect.objectContaining({
        Dimension: 'seats',
        LicenseArn: license.licenseArn,
        CustomerAWSAccountId: license.customerAWSAccountId,
        Value: { IntegerValue: 50 },
      }),
    ]);
    expect(out.Entitlements![0]!.CustomerIdentifier).toBeUndefined();
  });

  it('answers InvalidParameterException when CUSTOMER_IDENTIFIER and CUSTOMER_AWS_ACCOUNT_ID are combined', async () => {
    const err = await errorOf(
      get({ Filter: { CUSTOMER_IDENTIFIER: [legacyA.customerIdentifier!], CUSTOMER_AWS_ACCOUNT_ID: [legacyA.customerAWSAccountId] } }),
    );
    expect(err.name).toBe('InvalidParameterException');
    expect(err.$fault).toBe('client');
  });

  it.each([0, 26])('rejects MaxResults %d (range 1–25) with a ValidationException', async (n) => {
    const err = await errorOf(get({ MaxResults: n }));
    expect(err.name).toBe('ValidationException');
    expect(err.message).toMatch(/maxResults/);
  });

  it('pages with NextToken; paginateGetEntitlements collects every entitlement', async () => {
    const first = await get({ MaxResults: 2 });
    expect(first.Entitlements).toHaveLength(2);
    expect(first.NextToken).toBeDefined();
    const all: Entitlement[] = [];
    for await (const page of paginateGetEntitlements(
      { client: kit.entitlement as MarketplaceEntitlementServiceClient, pageSize: 2 },
      { ProductCode: 'contract-product' },
    )) {
      all.push(...(page.Entitlements ?? []));
    }
    expect(all).toHaveLength(5);
    expect(new Set(all.map((e) => `${e.CustomerIdentifier}/${e.Dimension}`)).size).toBe(5);
  });

  it('rejects a NextToken from another query', async () => {
    const first = await get({ MaxResults: 1 });
    const err = await errorOf(get({ MaxResults: 1, NextToken: first.NextToken, Filter: { DIMENSION: ['seats'] } }));
    expect(err.name).toBe('InvalidParameterException');
  });

  it("shows a contract's entitlements from the purchase, while the subscription is still pending (the seller reads them at registration)", async () => {
    const s = await kit.sim.subscribe({
      productCode: 'contract-product',
      confirmation: 'manual',
      entitlements: [{ dimension: 'seats', integerValue: 7 }],
    });
    expect(kit.sim.subscription(s.id).status).toBe('pending');
    const pending = await get({ Filter: { CUSTOMER_IDENTIFIER: [s.customerIdentifier!] } });
    expect(pending.Entitlements!.map((e) => [e.Dimension, e.Value?.IntegerValue])).toEqual([['seats', 7]]);
    await kit.sim.failPayment(s.id);
    expect((await get({ Filter: { CUSTOMER_IDENTIFIER: [s.customerIdentifier!] } })).Entitlements).toEqual([]);
  });

  it('shows entitlements while unsubscribe-pending and not after the subscription ended', async () => {
    await kit.sim.cancel(legacyB.id);
    expect((await get({ Filter: { CUSTOMER_IDENTIFIER: [legacyB.customerIdentifier!] } })).Entitlements).toHaveLength(1);
    await kit.sim.endNow(legacyB.id);
    expect((await get({ Filter: { CUSTOMER_IDENTIFIER: [legacyB.customerIdentifier!] } })).Entitlements).toEqual([]);
  });

  it('sends ExpirationDate as epoch seconds on the wire', async () => {
    const res = await fetch(kit.sim.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-amz-json-1.1',
        'x-amz-target': 'AWSMPEntitlementService.GetEntitlements',
        authorization: 'AWS4-HMAC-SHA256 Credential=AKID/20260310/us-east-1/aws-marketplace/aws4_request, SignedHeaders=host, Signature=00',
      },
      body: JSON.stringify({
        ProductCode: 'contract-product',
        Filter: { DIMENSION: ['seats'], CUSTOMER_IDENTIFIER: [legacyA.customerIdentifier] },
      }),
    });
    const body = (await res.json()) as { Entitlements: Array<{ ExpirationDate: unknown }> };
    expect(body.Entitlements[0]!.ExpirationDate).toBe(1798761600);
  });
});
