import request from 'supertest';
import type { ProductConfig } from '../../src/products/product-config';
import type { ManualClock } from '../../src/platform/clock';
import { TEST_API_KEY, type Harness } from '../support/harness';
import { describeDialects } from '../support/stores';
import { activeCustomer, licenseProduct, meteringHarness, setState, sumProduct } from '../metering/metering-support';

const auth = { Authorization: `Bearer ${TEST_API_KEY}` };

const contractOnly: ProductConfig = {
  code: 'access-contract-product',
  name: 'Contract only',
  pricingModel: 'contract',
  meteringApi: 'batch',
  identity: 'license',
  dimensions: [
    { name: 'seats', aggregation: 'sum', heartbeat: false, metered: false },
    { name: 'sso', aggregation: 'sum', heartbeat: false, metered: false },
  ],
};
/** A second legacy product, so one CustomerIdentifier can name a buyer on two products. */
const otherSubscription: ProductConfig = { ...sumProduct, code: 'access-other-sub-product', name: 'Other' };

describeDialects('GET /v1/access (%s)', (dialect) => {
  let h: Harness & { clock: ManualClock };
  beforeAll(async () => {
    h = await meteringHarness({ dialect, products: [sumProduct, licenseProduct, contractOnly, otherSubscription] });
  });
  afterAll(async () => h.close());

  const check = (query: Record<string, string | number>) => request(h.app).get('/v1/access').query(query).set(auth);

  it('an active subscription: allowed, billed per use, under each of the customer’s references', async () => {
    const c = await activeCustomer(h, sumProduct);
    for (const ref of [c.id, c.customerIdentifier!]) {
      const res = await check({ customer: ref, dimension: 'api_calls', quantity: 1000 });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({
        allowed: true,
        reason: 'billed_per_use',
        dimension: 'api_calls',
        quantity: 1000,
        entitled: null,
        overage: 0,
      });
      expect(res.body.customer).toMatchObject({ id: c.id, productCode: sumProduct.code, status: 'active' });
      expect(Date.parse(res.body.checkedAt)).toBe(h.clock.now().getTime());
    }
    expect((await check({ customer: c.id })).body).toMatchObject({ allowed: true, reason: 'subscribed', dimension: null, quantity: null });
  });

  it('refused before AWS confirms, while cancelling and after the end, with the reason', async () => {
    const c = await activeCustomer(h, sumProduct);
    const now = h.clock.now();
    await setState(h, c.id, { status: 'pending', statusEventTime: null, activatedAt: null, finalWindowOpenedAt: null, endedAt: null });
    expect((await check({ customer: c.id })).body).toMatchObject({ allowed: false, reason: 'awaiting_confirmation' });
    await setState(h, c.id, {
      status: 'unsubscribe_pending',
      statusEventTime: now,
      activatedAt: now,
      finalWindowOpenedAt: now,
      endedAt: null,
    });
    const ending = await check({ customer: c.id, dimension: 'api_calls' });
    expect(ending.body).toMatchObject({
      allowed: false,
      reason: 'subscription_ending',
      customer: { status: 'unsubscribe_pending', finalWindowOpenedAt: now.toISOString() },
    });
    await setState(h, c.id, { status: 'unsubscribed', statusEventTime: now, activatedAt: now, finalWindowOpenedAt: now, endedAt: now });
    expect((await check({ customer: c.id })).body).toMatchObject({ allowed: false, reason: 'subscription_ended' });
    await setState(h, c.id, { status: 'failed', statusEventTime: now, activatedAt: null, finalWindowOpenedAt: null, endedAt: null });
    expect((await check({ customer: c.id })).body).toMatchObject({ allowed: false, reason: 'subscription_failed' });
  });

  it('a contract: up to the entitled quantity, by LicenseArn; features; no more than entitled', async () => {
    const c = await activeCustomer(h, contractOnly, { entitlements: [{ dimension: 'seats', integerValue: 10 }] });
    const within = await check({ customer: c.licenseArn!, dimension: 'seats', quantity: 10 });
    expect(within.body).toMatchObject({
      allowed: true,
      reason: 'within_entitlement',
      entitled: { valueType: 'integer', quantity: 10, expirationDate: null },
      overage: 0,
    });
    // A LicenseArn as a seller's script sends it: colons not percent-encoded.
    const raw = await request(h.app).get(`/v1/access?customer=${c.licenseArn!}&dimension=seats&quantity=10`).set(auth);
    expect(raw.status).toBe(200);
    expect(raw.body).toMatchObject({ allowed: true, customer: { id: c.id } });
    expect((await check({ customer: c.id, dimension: 'seats', quantity: 11 })).body).toMatchObject({
      allowed: false,
      reason: 'exceeds_entitlement',
      entitled: { quantity: 10 },
    });
    expect((await check({ customer: c.id, dimension: 'sso' })).body).toMatchObject({ allowed: false, reason: 'not_entitled' });
  });

  it('a contract whose entitlements were never read is not guessed at', async () => {
    const c = await activeCustomer(h, contractOnly);
    expect((await check({ customer: c.id, dimension: 'seats' })).body).toMatchObject({
      allowed: false,
      reason: 'entitlements_unknown',
      customer: { entitlementsFetchedAt: null },
    });
  });

  it('a contract renewed or cut by a newer GetEntitlements answer: the stored snapshot decides', async () => {
    const c = await activeCustomer(h, contractOnly, { entitlements: [{ dimension: 'seats', integerValue: 5 }] });
    expect((await check({ customer: c.id, dimension: 'seats', quantity: 8 })).body.allowed).toBe(false);
    h.clock.advance(1000);
    await h.container.customers.replaceEntitlements(
      c.id,
      [{ dimension: 'seats', value: { type: 'integer', value: 8 }, expirationDate: null }],
      h.clock.now(),
    );
    expect((await check({ customer: c.id, dimension: 'seats', quantity: 8 })).body.allowed).toBe(true);
    h.clock.advance(1000);
    const expiry = new Date(h.clock.now().getTime() + 60_000);
    await h.container.customers.replaceEntitlements(
      c.id,
      [{ dimension: 'seats', value: { type: 'integer', value: 8 }, expirationDate: expiry }],
      h.clock.now(),
    );
    expect((await check({ customer: c.id, dimension: 'seats', quantity: 8 })).body).toMatchObject({
      allowed: true,
      entitled: { expirationDate: expiry.toISOString() },
    });
    h.clock.advance(60_000);
    expect((await check({ customer: c.id, dimension: 'seats', quantity: 1 })).body).toMatchObject({
      allowed: false,
      reason: 'contract_ended',
    });
  });

  it('a contract with consumption: above the entitlement is allowed and the excess billed', async () => {
    const c = await activeCustomer(h, licenseProduct, { entitlements: [{ dimension: 'seats', integerValue: 10 }] });
    expect((await check({ customer: c.id, dimension: 'seats', quantity: 13 })).body).toMatchObject({
      allowed: true,
      reason: 'billed_as_overage',
      overage: 3,
    });
    expect((await check({ customer: c.id, dimension: 'gb', quantity: 2.5 })).body).toMatchObject({
      allowed: true,
      reason: 'billed_as_overage',
      overage: 2.5,
      quantity: 2.5,
    });
  });

  it('a CustomerIdentifier on two products is ambiguous until the product is named', async () => {
    const a = await activeCustomer(h, sumProduct);
    const b = await h.container.customers.upsert(
      { productCode: otherSubscription.code, customerIdentifier: a.customerIdentifier },
      h.clock.now(),
    );
    const ambiguous = await check({ customer: a.customerIdentifier! });
    expect(ambiguous.status).toBe(409);
    expect(ambiguous.type).toBe('application/problem+json');
    expect(ambiguous.body).toMatchObject({ code: 'ambiguous_customer' });
    expect([...ambiguous.body.productCodes].sort()).toEqual([otherSubscription.code, sumProduct.code].sort());
    expect((await check({ customer: a.customerIdentifier!, product: otherSubscription.code })).body).toMatchObject({
      customer: { id: b.id },
      allowed: false,
      reason: 'awaiting_confirmation',
    });
    expect((await check({ customer: a.customerIdentifier!, product: sumProduct.code })).body).toMatchObject({
      customer: { id: a.id },
      allowed: true,
    });
  });

  it('concurrent agreements: one account, several licences of one product, each answered on its own', async () => {
    const account = '411122223333';
    const licences = [];
    for (const seats of [5, 10, 20]) {
      const sub = await h.sim.subscribe({
        productCode: contractOnly.code,
        awsAccountId: account,
        confirmation: 'manual',
        entitlements: [{ dimension: 'seats', integerValue: seats }],
      });
      await h.sim.confirm(sub.id);
      const s = h.sim.subscription(sub.id);
      const now = h.clock.now();
      const c = await h.container.customers.upsert(
        { productCode: contractOnly.code, customerAWSAccountId: account, licenseArn: s.licenseArn },
        now,
      );
      await setState(h, c.id, { status: 'active', statusEventTime: now, activatedAt: now, finalWindowOpenedAt: null, endedAt: null });
      await h.container.customers.replaceEntitlements(
        c.id,
        [{ dimension: 'seats', value: { type: 'integer', value: seats }, expirationDate: null }],
        now,
      );
      licences.push({ id: c.id, licenseArn: s.licenseArn, seats });
    }
    expect(new Set(licences.map((l) => l.id)).size).toBe(3);
    expect(new Set(licences.map((l) => l.licenseArn)).size).toBe(3);

    const byAccount = await check({ customer: account, dimension: 'seats', quantity: 10 });
    expect(byAccount.status).toBe(409);
    expect(byAccount.type).toBe('application/problem+json');
    expect(byAccount.body.code).toBe('several_licences');
    expect([...byAccount.body.licences].map((l: { licenseArn: string }) => l.licenseArn).sort()).toEqual(
      licences.map((l) => l.licenseArn).sort(),
    );
    expect(
      byAccount.body.licences.every(
        (l: { status: string; productCode: string }) => l.status === 'active' && l.productCode === contractOnly.code,
      ),
    ).toBe(true);

    // Each licence has its own entitlement: 10 seats fit two of them, not the 5-seat one.
    for (const l of licences) {
      const res = await check({ customer: l.licenseArn, dimension: 'seats', quantity: 10 });
      expect(res.status).toBe(200);
      expect(res.body.customer.id).toBe(l.id);
      expect(res.body.allowed).toBe(l.seats >= 10);
      expect(res.body.entitled).toMatchObject({ quantity: l.seats });
    }
    // The same question per licence in one call: GET /v1/access/licences.
    const perLicence = await request(h.app)
      .get('/v1/access/licences')
      .query({ awsAccountId: account, product: contractOnly.code, dimension: 'seats', quantity: 10 })
      .set(auth);
    expect(perLicence.status).toBe(200);
    expect(perLicence.body).toMatchObject({ awsAccountId: account, productCode: contractOnly.code });
    expect(
      perLicence.body.licences
        .map((l: { licenseArn: string; decision: { allowed: boolean; customer: { id: string }; entitled: { quantity: number } } }) => [
          l.licenseArn,
          l.decision.customer.id,
          l.decision.allowed,
          l.decision.entitled.quantity,
        ])
        .sort(),
    ).toEqual(licences.map((l) => [l.licenseArn, l.id, l.seats >= 10, l.seats]).sort());
    const perLicenceGarbage: Array<[Record<string, string>, number]> = [
      [{ awsAccountId: account }, 400],
      [{ product: contractOnly.code }, 400],
      [{ awsAccountId: '4111', product: contractOnly.code }, 400],
      [{ awsAccountId: account, product: contractOnly.code, quantity: '-1' }, 400],
      [{ awsAccountId: account, product: contractOnly.code, dimension: 'nope' }, 400],
      [{ awsAccountId: account, product: licenseProduct.code }, 404],
      [{ awsAccountId: '499999999999', product: contractOnly.code }, 404],
    ];
    for (const [query, status] of perLicenceGarbage) {
      const r = await request(h.app).get('/v1/access/licences').query(query).set(auth);
      expect({ query, status: r.status, type: r.type }).toEqual({ query, status, type: 'application/problem+json' });
    }
    expect((await request(h.app).get('/v1/access/licences').query({ awsAccountId: account, product: contractOnly.code })).status).toBe(401);

    // Another product of the same account knows none of them; an account with one licence answers it.
    expect((await check({ customer: account, product: licenseProduct.code })).status).toBe(404);
    const single = await h.sim.subscribe({ productCode: contractOnly.code, awsAccountId: '422233334444', confirmation: 'manual' });
    const s = h.sim.subscription(single.id);
    const one = await h.container.customers.upsert(
      { productCode: contractOnly.code, customerAWSAccountId: '422233334444', licenseArn: s.licenseArn },
      h.clock.now(),
    );
    const res = await check({ customer: '422233334444', product: contractOnly.code });
    expect(res.status).toBe(200);
    expect(res.body.customer.id).toBe(one.id);
    expect((await check({ customer: '499999999999' })).status).toBe(404);
  });

  it('an unknown customer is 404, an unknown dimension 400, both problem documents', async () => {
    const missing = await check({ customer: 'nobody-we-know' });
    expect(missing.status).toBe(404);
    expect(missing.body).toMatchObject({ code: 'unknown_customer' });
    const c = await activeCustomer(h, sumProduct);
    const unknownDimension = await check({ customer: c.id, dimension: 'seats' });
    expect(unknownDimension.status).toBe(400);
    expect(unknownDimension.body).toMatchObject({ code: 'unknown_dimension', dimensions: ['api_calls', 'peak_hosts', 'users'] });
    const wrongProduct = await check({ customer: c.id, product: licenseProduct.code });
    expect(wrongProduct.status).toBe(404);
  });

  it('garbage queries are clear 400s; no key is a 401 that looks at nothing', async () => {
    const c = await activeCustomer(h, sumProduct);
    const garbage: Array<Record<string, string | number>> = [
      {},
      { customer: '' },
      { customer: c.id, quantity: 'lots' },
      { customer: c.id, quantity: -1 },
      { customer: c.id, quantity: '1e400' },
      { customer: c.id, colour: 'red' },
      { customer: 'x'.repeat(300) },
    ];
    for (const query of garbage) {
      const res = await check(query);
      expect({ query, status: res.status, type: res.type }).toEqual({ query, status: 400, type: 'application/problem+json' });
    }
    const keyless = await request(h.app).get('/v1/access').query({ customer: c.id });
    expect(keyless.status).toBe(401);
    expect(keyless.headers['www-authenticate']).toMatch(/^Bearer/);
    expect((await request(h.app).post('/v1/access').set(auth).send({ customer: c.id })).status).toBe(405);
  });
});
