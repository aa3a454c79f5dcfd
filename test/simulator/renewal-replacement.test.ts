import { DescribeAgreementCommand, GetAgreementEntitlementsCommand, SearchAgreementsCommand } from '@aws-sdk/client-marketplace-agreement';
import { BatchMeterUsageCommand, ResolveCustomerCommand } from '@aws-sdk/client-marketplace-metering';
import { activeSubscription, errorOf, eventBridgeEvents, legacyProduct, licenseProduct, startKit, type TestKit } from './support';

describe('renewal and replacement: one agreement ends, a new one starts (Seller Guide agreement events, facts §5.4, §5.5)', () => {
  let kit: TestKit;
  beforeAll(async () => {
    kit = await startKit({ confirmDelayMs: 60_000, unsubscribeDelayMs: 3_600_000 });
    licenseProduct(kit.sim);
    legacyProduct(kit.sim);
  });
  afterAll(() => kit.close());

  it.each([
    ['renew', 'RENEW', 'RENEWED'],
    ['replace', 'REPLACE', 'REPLACED'],
  ] as const)(
    '%s: Created (intent %s) for the new agreement, Ended (%s) for the old, then the licence events',
    async (action, intent, ended) => {
      const old = await activeSubscription(kit.sim, 'license-product', { awsAccountId: '135791357913' });
      await eventBridgeEvents(kit);
      const next = await kit.sim[action](old.id, { entitlements: [{ dimension: 'seats', integerValue: 20 }] });

      expect(next).toEqual(
        expect.objectContaining({
          intent,
          status: 'pending',
          agreementStatus: 'ACTIVE',
          customerAWSAccountId: old.customerAWSAccountId,
          previousAgreementId: old.agreementId,
          initialAgreementId: old.agreementId,
        }),
      );
      expect(next.agreementId).not.toBe(old.agreementId);
      expect(next.licenseArn).not.toBe(old.licenseArn);
      expect(next.registrationToken).not.toBe(old.registrationToken);
      expect(kit.sim.subscription(old.id)).toEqual(expect.objectContaining({ status: 'unsubscribe-pending', agreementStatus: ended }));

      const first = await eventBridgeEvents(kit);
      expect(first.map((e) => e['detail-type'])).toEqual(['Purchase Agreement Created - Proposer', 'Purchase Agreement Ended - Proposer']);
      expect(first[0]!.detail.agreement).toEqual(
        expect.objectContaining({ id: next.agreementId, intent, status: 'ACTIVE', previousAgreementId: old.agreementId }),
      );
      expect(first[0]!.detail.product).toEqual(expect.objectContaining({ id: old.productId }));
      expect(first[0]!.detail.license).toBeUndefined();
      expect(first[1]!.detail.agreement).toEqual({ id: old.agreementId, status: ended });

      // The Agreement API shows both, linked by initialAgreementId.
      const oldView = await kit.agreement.send(new DescribeAgreementCommand({ agreementId: old.agreementId }));
      const newView = await kit.agreement.send(new DescribeAgreementCommand({ agreementId: next.agreementId }));
      expect(oldView.status).toBe(ended);
      expect(oldView.endTime!.getTime()).toBe(kit.sim.now());
      expect(newView).toEqual(expect.objectContaining({ status: 'ACTIVE', initialAgreementId: old.agreementId }));
      const chain = await kit.agreement.send(
        new SearchAgreementsCommand({
          catalog: 'AWSMarketplace',
          filters: [
            { name: 'PartyType', values: ['Proposer'] },
            { name: 'AgreementType', values: ['PurchaseAgreement'] },
            { name: 'InitialAgreementId', values: [old.agreementId] },
          ],
          sort: { sortBy: 'StartTime', sortOrder: 'ASCENDING' },
        }),
      );
      expect(chain.agreementViewSummaries!.map((a) => [a.agreementId, a.status])).toEqual([
        [old.agreementId, ended],
        [next.agreementId, 'ACTIVE'],
      ]);

      // The old licence may still take its final hour of usage; the new one not before activation.
      const record = (licenseArn: string) => ({
        Timestamp: new Date(kit.sim.now()),
        CustomerAWSAccountId: old.customerAWSAccountId,
        LicenseArn: licenseArn,
        Dimension: 'api_calls',
        Quantity: 1,
      });
      const before = await kit.metering.send(
        new BatchMeterUsageCommand({ UsageRecords: [record(old.licenseArn), record(next.licenseArn)] }),
      );
      expect(before.Results!.map((r) => r.Status)).toEqual(['Success', 'CustomerNotSubscribed']);
      const resolved = await kit.metering.send(new ResolveCustomerCommand({ RegistrationToken: next.registrationToken }));
      expect(resolved.LicenseArn).toBe(next.licenseArn);

      // Advancing the simulator clock runs the new licence's activation, then the old one's deprovisioning.
      await kit.sim.advanceClock(60_000);
      const updated = await eventBridgeEvents(kit);
      expect(updated.map((e) => [e['detail-type'], e.detail.license?.arn])).toEqual([['License Updated - Manufacturer', next.licenseArn]]);
      await kit.sim.advanceClock(3_600_000);
      const gone = await eventBridgeEvents(kit);
      expect(gone.map((e) => [e['detail-type'], e.detail.license?.arn])).toEqual([
        ['License Deprovisioned - Manufacturer', old.licenseArn],
      ]);
      expect(kit.sim.subscription(old.id).status).toBe('unsubscribed');
      expect(kit.sim.subscription(next.id).status).toBe('active');
      const entitlements = await kit.agreement.send(new GetAgreementEntitlementsCommand({ agreementId: old.agreementId }));
      expect(entitlements.agreementEntitlements![0]).toEqual(
        expect.objectContaining({ status: 'DEPROVISIONED', licenseArn: old.licenseArn }),
      );

      const after = await kit.metering.send(
        new BatchMeterUsageCommand({ UsageRecords: [record(old.licenseArn), record(next.licenseArn)] }),
      );
      expect(after.Results!.map((r) => r.Status)).toEqual(['CustomerNotSubscribed', 'Success']);
    },
  );

  it('a renewal of a renewal keeps the first agreement as initialAgreementId', async () => {
    const first = await activeSubscription(kit.sim, 'license-product');
    const second = await kit.sim.renew(first.id, { confirmation: 'manual' });
    await kit.sim.confirm(second.id);
    const third = await kit.sim.renew(second.id);
    expect(third).toEqual(expect.objectContaining({ initialAgreementId: first.agreementId, previousAgreementId: second.agreementId }));
  });

  it('refuses renewal of a legacy product, of an inactive agreement, and answers the control routes with 4xx', async () => {
    const legacy = await activeSubscription(kit.sim, 'legacy-product');
    await expect(kit.sim.renew(legacy.id)).rejects.toThrow(/license products only/);
    const pending = await kit.sim.subscribe({ productCode: 'license-product', confirmation: 'manual' });
    await expect(kit.sim.replace(pending.id)).rejects.toThrow(/only an active agreement/);
    const post = (path: string, body: string) =>
      fetch(`${kit.sim.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    expect((await post(`/simulator/api/subscriptions/${pending.id}/renew`, '{}')).status).toBe(400);
    expect((await post('/simulator/api/subscriptions/sub-nope/renew', '{}')).status).toBe(404);
    expect((await post(`/simulator/api/subscriptions/${pending.id}/renew`, '{"entitlements": 5}')).status).toBe(400);
    const active = await activeSubscription(kit.sim, 'license-product');
    const res = await post(`/simulator/api/subscriptions/${active.id}/replace`, '{"offerId": "offer-replacement1"}');
    expect(res.status).toBe(201);
    expect(((await res.json()) as { intent: string; offerId: string }).intent).toBe('REPLACE');
    const err = await errorOf(kit.agreement.send(new DescribeAgreementCommand({ agreementId: 'agmt-doesnotexist' })));
    expect(err.name).toBe('ResourceNotFoundException');
  });
});
