import { BatchMeterUsageCommand, ResolveCustomerCommand } from '@aws-sdk/client-marketplace-metering';
import { GetAgreementEntitlementsCommand, SearchAgreementsCommand } from '@aws-sdk/client-marketplace-agreement';
import { activeSubscription, eventBridgeEvents, legacyProduct, licenseProduct, startKit, type TestKit } from './support';

const ACCOUNT = '444455556666';

describe('concurrent agreements: one buyer account, several agreements of one license product (facts §1.6, §6)', () => {
  let kit: TestKit;
  beforeAll(async () => {
    kit = await startKit();
    licenseProduct(kit.sim);
    legacyProduct(kit.sim);
  });
  afterAll(() => kit.close());

  const meter = (records: Array<{ licenseArn: string; quantity: number; dimension?: string }>) =>
    kit.metering.send(
      new BatchMeterUsageCommand({
        UsageRecords: records.map((r) => ({
          Timestamp: kit.clock.date(),
          CustomerAWSAccountId: ACCOUNT,
          LicenseArn: r.licenseArn,
          Dimension: r.dimension ?? 'api_calls',
          Quantity: r.quantity,
        })),
      }),
    );

  it.each([2, 3])('%i concurrent agreements each have their own agreement id, LicenseArn, token and metering', async (n) => {
    const account = n === 2 ? ACCOUNT : '777788889999';
    const subs = [];
    for (let i = 0; i < n; i += 1) subs.push(await activeSubscription(kit.sim, 'license-product', { awsAccountId: account }));
    expect(new Set(subs.map((s) => s.id)).size).toBe(n);
    expect(new Set(subs.map((s) => s.agreementId)).size).toBe(n);
    expect(new Set(subs.map((s) => s.licenseArn)).size).toBe(n);
    expect(new Set(subs.map((s) => s.registrationToken)).size).toBe(n);
    expect(subs.every((s) => s.status === 'active' && s.customerAWSAccountId === account && s.intent === 'NEW')).toBe(true);

    // Each token resolves to its own licence (ResolveCustomer, §1.5).
    for (const s of subs) {
      const r = await kit.metering.send(new ResolveCustomerCommand({ RegistrationToken: s.registrationToken }));
      expect(r).toEqual(expect.objectContaining({ CustomerAWSAccountId: account, LicenseArn: s.licenseArn }));
      expect(r.CustomerIdentifier).toBeUndefined();
    }

    // One call, one record per licence, same dimension and hour: each is billed on its own licence.
    const out = await kit.metering.send(
      new BatchMeterUsageCommand({
        UsageRecords: subs.map((s, i) => ({
          Timestamp: kit.clock.date(),
          CustomerAWSAccountId: account,
          LicenseArn: s.licenseArn,
          Dimension: 'api_calls',
          Quantity: 10 + i,
        })),
      }),
    );
    expect(out.Results!.map((r) => r.Status)).toEqual(subs.map(() => 'Success'));
    expect(new Set(out.Results!.map((r) => r.MeteringRecordId)).size).toBe(n);
    for (const [i, s] of subs.entries()) {
      expect(kit.sim.billed({ customer: s.licenseArn }).map((b) => b.quantity)).toEqual([10 + i]);
    }

    // The Agreement API lists every agreement of the account, each with its licence.
    const found = await kit.agreement.send(
      new SearchAgreementsCommand({
        catalog: 'AWSMarketplace',
        filters: [
          { name: 'PartyType', values: ['Proposer'] },
          { name: 'AgreementType', values: ['PurchaseAgreement'] },
          { name: 'AcceptorAccountId', values: [account] },
        ],
      }),
    );
    expect(found.agreementViewSummaries!.map((a) => a.entitlements![0]!.licenseArn).sort()).toEqual(subs.map((s) => s.licenseArn).sort());
    for (const s of subs) {
      const e = await kit.agreement.send(new GetAgreementEntitlementsCommand({ agreementId: s.agreementId }));
      expect(e.agreementEntitlements).toEqual([
        expect.objectContaining({ licenseArn: s.licenseArn, registrationToken: s.registrationToken, status: 'PROVISIONED' }),
      ]);
    }
  });

  it('dedupes per licence: a different quantity on one licence is DuplicateRecord, the other licence is unaffected', async () => {
    const [a, b] = kit.sim.subscriptions().filter((s) => s.customerAWSAccountId === ACCOUNT);
    kit.clock.advance(3_600_000); // a fresh hour
    expect((await meter([{ licenseArn: a!.licenseArn, quantity: 5 }])).Results![0]!.Status).toBe('Success');
    expect((await meter([{ licenseArn: a!.licenseArn, quantity: 5 }])).Results![0]!.Status).toBe('Success'); // identical replay
    expect((await meter([{ licenseArn: a!.licenseArn, quantity: 6 }])).Results![0]!.Status).toBe('DuplicateRecord');
    expect((await meter([{ licenseArn: b!.licenseArn, quantity: 6 }])).Results![0]!.Status).toBe('Success');
    const hour = new Date(Math.floor(kit.clock.t / 3_600_000) * 3_600_000).toISOString();
    expect(
      kit.sim
        .billed({ customer: a!.licenseArn })
        .filter((r) => r.hour === hour)
        .map((r) => r.quantity),
    ).toEqual([5]);
    expect(
      kit.sim
        .billed({ customer: b!.licenseArn })
        .filter((r) => r.hour === hour)
        .map((r) => r.quantity),
    ).toEqual([6]);
  });

  it('ending one concurrent agreement leaves the others billable', async () => {
    const [a, b] = kit.sim.subscriptions().filter((s) => s.customerAWSAccountId === ACCOUNT);
    await kit.sim.endNow(a!.id);
    kit.clock.advance(3_600_000);
    const out = await meter([
      { licenseArn: a!.licenseArn, quantity: 1 },
      { licenseArn: b!.licenseArn, quantity: 1 },
    ]);
    expect(out.Results!.map((r) => r.Status)).toEqual(['CustomerNotSubscribed', 'Success']);
  });

  it('publishes a Created and a License Updated event per agreement, each naming its own agreement and licence', async () => {
    await eventBridgeEvents(kit);
    const first = await activeSubscription(kit.sim, 'license-product', { awsAccountId: '121212121212' });
    const second = await activeSubscription(kit.sim, 'license-product', { awsAccountId: '121212121212' });
    const events = await eventBridgeEvents(kit);
    expect(events.map((e) => [e['detail-type'], e.detail.agreement.id])).toEqual([
      ['Purchase Agreement Created - Proposer', first.agreementId],
      ['License Updated - Manufacturer', first.agreementId],
      ['Purchase Agreement Created - Proposer', second.agreementId],
      ['License Updated - Manufacturer', second.agreementId],
    ]);
    expect(events.filter((e) => e.detail.license).map((e) => e.detail.license!.arn)).toEqual([first.licenseArn, second.licenseArn]);
  });

  it('keeps one subscription per account for a legacy customer-identifier product', async () => {
    await activeSubscription(kit.sim, 'legacy-product', { awsAccountId: '343434343434' });
    await expect(kit.sim.subscribe({ productCode: 'legacy-product', awsAccountId: '343434343434' })).rejects.toThrow(/already subscribed/);
    const res = await fetch(`${kit.sim.url}/simulator/api/subscriptions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ productCode: 'legacy-product', awsAccountId: '343434343434' }),
    });
    expect(res.status).toBe(400);
  });

  it('subscribes again from an existing account through the control API (a concurrent agreement)', async () => {
    const s = await activeSubscription(kit.sim, 'license-product', { awsAccountId: '565656565656' });
    const res = await fetch(`${kit.sim.url}/simulator/api/subscriptions/${s.id}/subscribe-again`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    expect(res.status).toBe(201);
    const again = (await res.json()) as { id: string; customerAWSAccountId: string; licenseArn: string; status: string };
    expect(again).toEqual(expect.objectContaining({ customerAWSAccountId: '565656565656', status: 'pending' }));
    expect(again.licenseArn).not.toBe(s.licenseArn);
    const legacy = kit.sim.subscriptions().find((x) => x.productCode === 'legacy-product')!;
    const refused = await fetch(`${kit.sim.url}/simulator/api/subscriptions/${legacy.id}/subscribe-again`, { method: 'POST' });
    expect(refused.status).toBe(400);
    expect(((await refused.json()) as { error: string }).error).toMatch(/already subscribed/);
  });
});
