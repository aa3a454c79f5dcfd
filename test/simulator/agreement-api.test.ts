import {
  DescribeAgreementCommand,
  GetAgreementEntitlementsCommand,
  GetAgreementTermsCommand,
  paginateSearchAgreements,
  SearchAgreementsCommand,
  type AcceptedTerm,
  type Filter,
} from '@aws-sdk/client-marketplace-agreement';
import type { SimSubscription } from '../../src/simulator';
import { activeSubscription, errorOf, legacyProduct, licenseProduct, startKit, type TestKit } from './support';

const AUTH =
  'AWS4-HMAC-SHA256 Credential=AKIDTEST/20260310/us-east-1/aws-marketplace/aws4_request, SignedHeaders=host;x-amz-date, Signature=0000';
const base: Filter[] = [
  { name: 'PartyType', values: ['Proposer'] },
  { name: 'AgreementType', values: ['PurchaseAgreement'] },
];
const memberOf = (t: AcceptedTerm): string => Object.keys(t).find((k) => (t as unknown as Record<string, unknown>)[k] !== undefined)!;

describe('Agreement API through the real @aws-sdk/client-marketplace-agreement (facts §5.5)', () => {
  let kit: TestKit;
  beforeAll(async () => {
    kit = await startKit({ sellerAccountId: '999988887777' });
    licenseProduct(kit.sim);
    legacyProduct(kit.sim);
  });
  afterAll(() => kit.close());

  it('DescribeAgreement: parties, times as Dates, status, proposal summary, charges and end-time behaviour', async () => {
    const s = await activeSubscription(kit.sim, 'license-product', { awsAccountId: '210987654321' });
    await kit.sim.setEntitlements(s.id, [{ dimension: 'seats', integerValue: 10 }]);
    const a = await kit.agreement.send(new DescribeAgreementCommand({ agreementId: s.agreementId }));
    expect(a).toEqual(
      expect.objectContaining({
        agreementId: s.agreementId,
        acceptor: { accountId: '210987654321' },
        proposer: { accountId: '999988887777' },
        agreementType: 'PurchaseAgreement',
        status: 'ACTIVE',
        initialAgreementId: s.agreementId,
        proposalSummary: { resources: [{ id: s.productId, type: 'SaaSProduct' }], offerId: s.offerId },
        estimatedCharges: { currencyCode: 'USD', agreementValue: '10.00' },
        endTimeBehavior: { type: 'RENEW', renewalSummary: { offerId: s.offerId } },
      }),
    );
    expect(a.startTime).toEqual(new Date(s.createdAt));
    expect(a.endTime!.getUTCFullYear()).toBe(new Date(s.createdAt).getUTCFullYear() + 1);
  });

  it('GetAgreementTerms: a union the SDK deserializes member by member; contract terms, renewal, validity', async () => {
    const s = await activeSubscription(kit.sim, 'license-product');
    await kit.sim.setEntitlements(s.id, [{ dimension: 'seats', integerValue: 4 }]);
    const { acceptedTerms } = await kit.agreement.send(new GetAgreementTermsCommand({ agreementId: s.agreementId }));
    expect(acceptedTerms!.map(memberOf)).toEqual([
      'legalTerm',
      'supportTerm',
      'configurableUpfrontPricingTerm',
      'renewalTerm',
      'usageBasedPricingTerm',
      'validityTerm',
    ]);
    for (const t of acceptedTerms!) expect(Object.keys(t).filter((k) => k !== '$unknown')).toHaveLength(1);
    const upfront = acceptedTerms!.find((t) => t.configurableUpfrontPricingTerm)!.configurableUpfrontPricingTerm!;
    expect(upfront.configuration).toEqual({ selectorValue: 'P12M', dimensions: [{ dimensionKey: 'seats', dimensionValue: 4 }] });
    expect(acceptedTerms!.find((t) => t.renewalTerm)!.renewalTerm!.configuration).toEqual({ enableAutoRenew: true });
    const validity = acceptedTerms!.find((t) => t.validityTerm)!.validityTerm!;
    expect(validity.agreementDuration).toBe('P12M');
    expect(validity.agreementStartDate).toEqual(new Date(s.createdAt));
    expect(acceptedTerms!.find((t) => t.freeTrialPricingTerm)).toBeUndefined();
  });

  it('GetAgreementTerms: a free trial carries freeTrialPricingTerm (5–31 days, grants); a subscription a usage rate card', async () => {
    const s = await activeSubscription(kit.sim, 'legacy-product', { freeTrial: true });
    const { acceptedTerms } = await kit.agreement.send(new GetAgreementTermsCommand({ agreementId: s.agreementId }));
    const trial = acceptedTerms!.find((t) => t.freeTrialPricingTerm)!.freeTrialPricingTerm!;
    expect(trial).toEqual(
      expect.objectContaining({
        type: 'FreeTrialPricingTerm',
        duration: 'P31D',
        grants: [{ dimensionKey: 'users' }, { dimensionKey: 'storage' }],
      }),
    );
    expect(trial.id).toMatch(/^term-[0-9a-f]{24}$/);
    const usage = acceptedTerms!.find((t) => t.usageBasedPricingTerm)!.usageBasedPricingTerm!;
    expect(usage.rateCards![0]!.rateCard).toEqual([
      { dimensionKey: 'users', price: '1.00' },
      { dimensionKey: 'storage', price: '1.00' },
    ]);
    expect(acceptedTerms!.find((t) => t.configurableUpfrontPricingTerm)).toBeUndefined();
    // Paging the terms: maxResults 2 → three pages, the same terms in order.
    const pages: string[] = [];
    let nextToken: string | undefined;
    do {
      const page = await kit.agreement.send(new GetAgreementTermsCommand({ agreementId: s.agreementId, maxResults: 2, nextToken }));
      pages.push(...page.acceptedTerms!.map(memberOf));
      nextToken = page.nextToken;
    } while (nextToken);
    expect(pages).toEqual(acceptedTerms!.map(memberOf));
  });

  it('GetAgreementEntitlements: PENDING before activation, PROVISIONED after, with the registration token and LicenseArn', async () => {
    const s = await kit.sim.subscribe({ productCode: 'license-product', confirmation: 'manual' });
    const pending = await kit.agreement.send(new GetAgreementEntitlementsCommand({ agreementId: s.agreementId }));
    expect(pending.agreementEntitlements).toEqual([
      {
        resource: { id: s.productId, type: 'SaaSProduct' },
        type: 'SaaSProduct',
        registrationToken: s.registrationToken,
        status: 'PENDING',
        statusReasonCode: 'PROVISIONING_IN_PROGRESS',
        licenseArn: s.licenseArn,
      },
    ]);
    await kit.sim.confirm(s.id);
    const active = await kit.agreement.send(new GetAgreementEntitlementsCommand({ agreementId: s.agreementId }));
    expect(active.agreementEntitlements![0]).toEqual(
      expect.objectContaining({ status: 'PROVISIONED', statusReasonCode: 'AGREEMENT_ACTIVE' }),
    );
  });

  it('SearchAgreements filters by ResourceIdentifier, AcceptorAccountId, LicenseArn, Status and end time, and pages', async () => {
    const subs: SimSubscription[] = [];
    for (let i = 0; i < 5; i += 1) subs.push(await activeSubscription(kit.sim, 'license-product', { awsAccountId: '303030303030' }));
    await kit.sim.cancel(subs[4]!.id);
    const search = (filters: Filter[], extra: { maxResults?: number; nextToken?: string } = {}) =>
      kit.agreement.send(new SearchAgreementsCommand({ catalog: 'AWSMarketplace', filters: [...base, ...filters], ...extra }));
    const byAccount = await search([{ name: 'AcceptorAccountId', values: ['303030303030'] }]);
    expect(byAccount.agreementViewSummaries).toHaveLength(5);
    expect(byAccount.agreementViewSummaries![0]).toEqual(
      expect.objectContaining({
        agreementType: 'PurchaseAgreement',
        proposer: { accountId: '999988887777' },
      }),
    );
    for (const s of subs)
      expect(byAccount.agreementViewSummaries!.find((a) => a.agreementId === s.agreementId)!.entitlements).toEqual([
        { licenseArn: s.licenseArn },
      ]);
    // Sorted by endTime, ascending (the default): the cancelled agreement ended first.
    expect(byAccount.agreementViewSummaries![0]!.agreementId).toBe(subs[4]!.agreementId);
    const one = await search([{ name: 'LicenseArn', values: [subs[2]!.licenseArn] }]);
    expect(one.agreementViewSummaries!.map((a) => a.agreementId)).toEqual([subs[2]!.agreementId]);
    const cancelled = await search([
      { name: 'AcceptorAccountId', values: ['303030303030'] },
      { name: 'Status', values: ['CANCELLED'] },
    ]);
    expect(cancelled.agreementViewSummaries!.map((a) => a.agreementId)).toEqual([subs[4]!.agreementId]);
    const product = await search([{ name: 'ResourceIdentifier', values: [subs[0]!.productId] }]);
    expect(product.agreementViewSummaries!.every((a) => a.proposalSummary!.resources![0]!.id === subs[0]!.productId)).toBe(true);
    const soon = new Date(kit.sim.now() + 86_400_000).toISOString().replace(/\.\d{3}Z$/, 'Z');
    const endingSoon = await search([
      { name: 'AcceptorAccountId', values: ['303030303030'] },
      { name: 'BeforeEndTime', values: [soon] },
    ]);
    expect(endingSoon.agreementViewSummaries!.map((a) => a.agreementId)).toEqual([subs[4]!.agreementId]);
    const later = await search([
      { name: 'AcceptorAccountId', values: ['303030303030'] },
      { name: 'AfterEndTime', values: [soon] },
    ]);
    expect(later.agreementViewSummaries).toHaveLength(4);
    const none = await kit.agreement.send(
      new SearchAgreementsCommand({
        catalog: 'AWSMarketplace',
        filters: [
          { name: 'PartyType', values: ['Acceptor'] },
          { name: 'AgreementType', values: ['PurchaseAgreement'] },
        ],
      }),
    );
    expect(none.agreementViewSummaries).toEqual([]); // the seller is the acceptor of nothing
    const asBuyer = await kit.agreementAsBuyer('303030303030').send(
      new SearchAgreementsCommand({
        catalog: 'AWSMarketplace',
        filters: [
          { name: 'PartyType', values: ['Acceptor'] },
          { name: 'AgreementType', values: ['PurchaseAgreement'] },
        ],
      }),
    );
    expect(asBuyer.agreementViewSummaries).toHaveLength(5);

    const first = await search([{ name: 'AcceptorAccountId', values: ['303030303030'] }], { maxResults: 2 });
    expect(first.agreementViewSummaries).toHaveLength(2);
    expect(first.nextToken).toBeTruthy();
    const ids: string[] = [];
    for await (const page of paginateSearchAgreements(
      { client: kit.agreement, pageSize: 2 },
      { catalog: 'AWSMarketplace', filters: [...base, { name: 'AcceptorAccountId', values: ['303030303030'] }] },
    ))
      ids.push(...page.agreementViewSummaries!.map((a) => a.agreementId!));
    expect(ids.sort()).toEqual(subs.map((s) => s.agreementId).sort());
    const foreign = await errorOf(search([{ name: 'Status', values: ['ACTIVE'] }], { nextToken: first.nextToken }));
    expect(foreign.name).toBe('ValidationException');
    expect((foreign as unknown as { reason: string }).reason).toBe('INVALID_NEXT_TOKEN');
  });

  it.each([
    ['no catalog', { filters: base }, 'INVALID_CATALOG'],
    ['another catalog', { catalog: 'Other', filters: base }, 'INVALID_CATALOG'],
    ['no PartyType', { catalog: 'AWSMarketplace', filters: [base[1]!] }, 'MISSING_PARTY_TYPE'],
    ['no AgreementType', { catalog: 'AWSMarketplace', filters: [base[0]!] }, 'INVALID_FILTERS'],
    ['an unknown filter', { catalog: 'AWSMarketplace', filters: [...base, { name: 'Colour', values: ['red'] }] }, 'INVALID_FILTER_NAME'],
    [
      'two values',
      { catalog: 'AWSMarketplace', filters: [...base, { name: 'Status', values: ['ACTIVE', 'EXPIRED'] }] },
      'INVALID_FILTER_VALUES',
    ],
    ['an unknown status', { catalog: 'AWSMarketplace', filters: [...base, { name: 'Status', values: ['GONE'] }] }, 'INVALID_STATUS'],
    [
      'a bad date',
      { catalog: 'AWSMarketplace', filters: [...base, { name: 'BeforeEndTime', values: ['tomorrow'] }] },
      'INVALID_FILTER_VALUES',
    ],
    ['maxResults 51', { catalog: 'AWSMarketplace', filters: base, maxResults: 51 }, 'INVALID_MAX_RESULTS'],
    ['a bad sort', { catalog: 'AWSMarketplace', filters: base, sort: { sortBy: 'Colour' } }, 'INVALID_SORT_BY'],
  ])('SearchAgreements with %s → ValidationException', async (_label, input, reason) => {
    const err = await errorOf(kit.agreement.send(new SearchAgreementsCommand(input as never)));
    expect(err.name).toBe('ValidationException');
    expect(err.$metadata?.httpStatusCode).toBe(400);
    expect((err as unknown as { reason: string }).reason).toBe(reason);
  });

  it('unknown agreement → ResourceNotFoundException (404); another buyer → AccessDeniedException (403); bad id → ValidationException', async () => {
    const missing = await errorOf(kit.agreement.send(new DescribeAgreementCommand({ agreementId: 'agmt-missing' })));
    expect([missing.name, missing.$metadata?.httpStatusCode, missing.$fault]).toEqual(['ResourceNotFoundException', 404, 'client']);
    expect(missing as unknown as { resourceId: string; resourceType: string }).toEqual(
      expect.objectContaining({ resourceId: 'agmt-missing', resourceType: 'Agreement' }),
    );
    const s = await activeSubscription(kit.sim, 'license-product', { awsAccountId: '818181818181' });
    const denied = await errorOf(kit.agreementAsBuyer('929292929292').send(new GetAgreementTermsCommand({ agreementId: s.agreementId })));
    expect([denied.name, denied.$metadata?.httpStatusCode]).toEqual(['AccessDeniedException', 403]);
    const own = await kit.agreementAsBuyer('818181818181').send(new DescribeAgreementCommand({ agreementId: s.agreementId }));
    expect(own.agreementId).toBe(s.agreementId);
    const bad = await errorOf(kit.agreement.send(new DescribeAgreementCommand({ agreementId: 'not valid!' })));
    expect([bad.name, (bad as unknown as { reason: string }).reason]).toEqual(['ValidationException', 'INVALID_AGREEMENT_ID']);
    const none = await errorOf(kit.agreement.send(new DescribeAgreementCommand({} as never)));
    expect((none as unknown as { reason: string }).reason).toBe('MISSING_AGREEMENT_ID');
  });

  it('faults: throttling (429) and InternalServerException (500) are retried by the SDK; latency delays the answer', async () => {
    const s = await activeSubscription(kit.sim, 'license-product');
    kit.sim.setFaults({ failNext: [{ operation: 'DescribeAgreement', error: 'ThrottlingException', count: 1 }] });
    const throttled = await errorOf(kit.agreement.send(new DescribeAgreementCommand({ agreementId: s.agreementId })));
    expect([throttled.name, throttled.$metadata?.httpStatusCode]).toEqual(['ThrottlingException', 429]);
    kit.sim.setFaults({ failNext: [{ operation: 'GetAgreementTerms', error: 'InternalServiceErrorException', count: 1 }] });
    const server = await errorOf(kit.agreement.send(new GetAgreementTermsCommand({ agreementId: s.agreementId })));
    expect([server.name, server.$metadata?.httpStatusCode, server.$fault]).toEqual(['InternalServerException', 500, 'server']);
    const { MarketplaceAgreementClient } = await import('@aws-sdk/client-marketplace-agreement');
    const retrying = new MarketplaceAgreementClient({
      endpoint: kit.sim.url,
      region: 'us-east-1',
      credentials: { accessKeyId: 'a', secretAccessKey: 'b' },
    });
    kit.sim.setFaults({ failNext: [{ operation: 'DescribeAgreement', error: 'ThrottlingException', count: 1 }] });
    const recovered = await retrying.send(new DescribeAgreementCommand({ agreementId: s.agreementId }));
    expect(recovered.$metadata.attempts).toBe(2);
    retrying.destroy();
    kit.sim.setFaults({ operations: { SearchAgreements: { latencyMs: 150 } } });
    const t0 = performance.now();
    await kit.agreement.send(new SearchAgreementsCommand({ catalog: 'AWSMarketplace', filters: base, maxResults: 1 }));
    expect(performance.now() - t0).toBeGreaterThanOrEqual(140);
    kit.sim.setFaults({});
  });

  it('garbage over raw HTTP: bad JSON, wrong types and an unknown operation get a JSON 1.0 ValidationException', async () => {
    const post = (op: string, body: string) =>
      fetch(kit.sim.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-amz-json-1.0',
          authorization: AUTH,
          'x-amz-target': `AWSMPCommerceService_v20200301.${op}`,
        },
        body,
      });
    for (const [op, body, reason] of [
      ['DescribeAgreement', '{"agreementId": ', 'OTHER'],
      ['DescribeAgreement', '[1,2]', 'OTHER'],
      ['DescribeAgreement', '{"agreementId": 42}', 'INVALID_AGREEMENT_ID'],
      ['GetAgreementTerms', '{"agreementId": "agmt-x", "maxResults": "ten"}', 'INVALID_MAX_RESULTS'],
      ['SearchAgreements', '{"catalog": "AWSMarketplace", "filters": "all"}', 'INVALID_FILTERS'],
      ['SearchAgreements', '{"catalog": "AWSMarketplace", "filters": [null]}', 'INVALID_FILTERS'],
      ['DeleteEverything', '{}', 'UNSUPPORTED_ACTION'],
    ]) {
      const res = await post(op!, body!);
      expect([op, res.status, res.headers.get('content-type')]).toEqual([op, 400, 'application/x-amz-json-1.0']);
      const b = (await res.json()) as { __type: string; message: string; reason: string; requestId: string };
      expect([op, b.__type, b.reason]).toEqual([op, 'ValidationException', reason]);
      expect(b.message).toBeTruthy();
      expect(b.requestId).toBe(res.headers.get('x-amzn-requestid'));
    }
  });
});

describe('Agreement API request-rate quotas (Seller Guide service quotas; defaults per operation)', () => {
  let kit: TestKit;
  beforeAll(async () => {
    kit = await startKit({ quotas: { agreement: { DescribeAgreement: 5 } } });
    licenseProduct(kit.sim);
  });
  afterAll(() => kit.close());

  it('throttles the 6th DescribeAgreement within a second with ThrottlingException (429)', async () => {
    const s = await activeSubscription(kit.sim, 'license-product');
    const outcomes = await Promise.all(
      Array.from({ length: 7 }, () =>
        kit.agreement.send(new DescribeAgreementCommand({ agreementId: s.agreementId })).then(
          () => 'ok',
          (e: Error) => e.name,
        ),
      ),
    );
    expect(outcomes.filter((o) => o === 'ok')).toHaveLength(5);
    expect(outcomes.filter((o) => o === 'ThrottlingException')).toHaveLength(2);
  });
});
