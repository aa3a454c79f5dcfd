import { drain, licenseProduct, startKit, type TestKit } from './support';

type Event = {
  version: string;
  id: string;
  'detail-type': string;
  source: string;
  account: string;
  time: string;
  region: string;
  resources: string[];
  detail: Record<string, any>;
};

describe('EventBridge events on the eventBridge queue (facts §5.4)', () => {
  let kit: TestKit;
  let queue: string;
  const events = async () => (await drain(kit.sqs, queue)).map((m) => JSON.parse(m.Body!) as Event);

  beforeAll(async () => {
    kit = await startKit({ sellerAccountId: '555566667777' });
    licenseProduct(kit.sim);
    kit.sim.createProduct({
      productCode: 'legacy-sns-only',
      pricingModel: 'subscription',
      identity: 'customer-identifier',
      dimensions: [{ name: 'users' }],
    });
    queue = kit.sim.queueUrl('marketplace-eventbridge');
  });
  afterAll(() => kit.close());

  it('sends Purchase Agreement Created - Proposer at subscribe, with no product and no license', async () => {
    const s = await kit.sim.subscribe({ productCode: 'license-product', confirmation: 'manual', offerId: 'offer-xyz' });
    const [e, ...rest] = await events();
    expect(rest).toEqual([]);
    expect(e).toEqual(
      expect.objectContaining({
        version: '0',
        'detail-type': 'Purchase Agreement Created - Proposer',
        source: 'aws.agreement-marketplace',
        account: '555566667777',
        region: 'us-east-1',
        resources: [`arn:aws:aws-marketplace::aws:agreement:${s.agreementId}`],
      }),
    );
    expect(e!.time).toBe(new Date(kit.clock.t).toISOString().replace(/\.\d{3}Z$/, 'Z'));
    expect(e!.detail).toEqual(
      expect.objectContaining({
        catalog: 'AWSMarketplace',
        offer: { id: 'offer-xyz' },
        acceptor: { accountId: s.customerAWSAccountId },
        proposer: { accountId: '555566667777' },
        agreement: expect.objectContaining({ id: s.agreementId, intent: 'NEW', status: 'ACTIVE' }),
      }),
    );
    // A contract runs 12 months from acceptance (an open-ended subscription ends 9999-01-01, below).
    const start = new Date(kit.clock.t);
    start.setUTCFullYear(start.getUTCFullYear() + 1);
    expect(e!.detail.agreement.endTime).toBe(start.toISOString().replace(/\.\d{3}Z$/, 'Z'));
    expect(e!.detail.product).toBeUndefined();
    expect(e!.detail.license).toBeUndefined();
  });

  it('gives an open-ended subscription endTime 9999-01-01 and an amendment intent AMEND', async () => {
    kit.sim.createProduct({
      productCode: 'license-sub',
      pricingModel: 'subscription',
      identity: 'license',
      dimensions: [{ name: 'calls' }],
    });
    await kit.sim.subscribe({ productCode: 'license-sub', confirmation: 'manual' });
    const [created] = await events();
    expect(created!.detail.agreement).toEqual(expect.objectContaining({ intent: 'NEW', endTime: '9999-01-01T00:00:00Z' }));
    const c = await kit.sim.subscribe({ productCode: 'license-product', confirmation: 'manual' });
    await kit.sim.confirm(c.id);
    await events();
    await kit.sim.setEntitlements(c.id, [{ dimension: 'seats', integerValue: 3 }]);
    const [amended] = await events();
    expect(amended!['detail-type']).toBe('Purchase Agreement Amended - Proposer');
    expect(amended!.detail.agreement).toEqual(expect.objectContaining({ id: c.agreementId, intent: 'AMEND', status: 'ACTIVE' }));
  });

  it('sends License Updated - Manufacturer on activation, carrying product and license', async () => {
    const s = await kit.sim.subscribe({ productCode: 'license-product', confirmation: 'manual' });
    await kit.sim.confirm(s.id);
    const types = await events();
    expect(types.map((e) => e['detail-type'])).toEqual(['Purchase Agreement Created - Proposer', 'License Updated - Manufacturer']);
    const license = types[1]!;
    expect(license.detail).toEqual(
      expect.objectContaining({
        license: { arn: s.licenseArn },
        product: { id: s.productId, code: 'license-product' },
        acceptor: { accountId: s.customerAWSAccountId },
        agreement: { id: s.agreementId },
      }),
    );
  });

  it('sends Purchase Agreement Ended - Proposer (CANCELLED) on cancel and License Deprovisioned - Manufacturer at the end', async () => {
    const s = await kit.sim.subscribe({ productCode: 'license-product', confirmation: 'manual' });
    await kit.sim.confirm(s.id);
    await events();
    await kit.sim.cancel(s.id);
    const ended = await events();
    expect(ended.map((e) => e['detail-type'])).toEqual(['Purchase Agreement Ended - Proposer']);
    expect(ended[0]!.detail.agreement).toEqual({ id: s.agreementId, status: 'CANCELLED' });
    expect(ended[0]!.detail.product).toBeUndefined();
    await kit.sim.endNow(s.id);
    const gone = await events();
    expect(gone.map((e) => e['detail-type'])).toEqual(['License Deprovisioned - Manufacturer']);
    expect(gone[0]!.detail.license).toEqual({ arn: s.licenseArn });
  });

  it('sends Purchase Agreement Amended - Proposer and License Updated - Manufacturer when a contract changes', async () => {
    const s = await kit.sim.subscribe({ productCode: 'license-product', confirmation: 'manual' });
    await kit.sim.confirm(s.id);
    await events();
    await kit.sim.setEntitlements(s.id, [{ dimension: 'seats', integerValue: 99 }]);
    expect((await events()).map((e) => e['detail-type'])).toEqual([
      'Purchase Agreement Amended - Proposer',
      'License Updated - Manufacturer',
    ]);
  });

  it('sends nothing to EventBridge for an SNS-only product, and no SNS for an EventBridge-only product', async () => {
    const legacy = await kit.sim.subscribe({ productCode: 'legacy-sns-only', confirmation: 'manual' });
    await kit.sim.confirm(legacy.id);
    expect(await events()).toEqual([]);
    const modern = await kit.sim.subscribe({ productCode: 'license-product', confirmation: 'manual' });
    await kit.sim.confirm(modern.id);
    const sns = await drain(kit.sqs, kit.sim.queueUrl('marketplace-subscription'));
    expect(sns.map((m) => JSON.parse(JSON.parse(m.Body!).Message)['product-code'])).toEqual(['legacy-sns-only']);
  });
});
