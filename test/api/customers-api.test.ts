import request from 'supertest';
import { TEST_API_KEY, type Harness } from '../support/harness';
import { activeCustomer, licenseProduct, meteringHarness, sumProduct } from '../metering/metering-support';
import type { ManualClock } from '../../src/platform/clock';
import { parseQueueMessage } from '../../src/events/envelope';

const auth = { Authorization: `Bearer ${TEST_API_KEY}` };

/** The customers API and the change feed over HTTP; every answer is checked against openapi.yaml. */
describe('customers API', () => {
  let h: Harness & { clock: ManualClock };
  beforeAll(async () => {
    h = await meteringHarness();
  });
  afterAll(async () => h.close());

  const get = (path: string) => request(h.app).get(path).set(auth);

  it('reads one customer by any of its references, with its contract and, per dimension, raw usage beside included and billed', async () => {
    h.clock.set('2026-03-10T10:40:00Z');
    const c = await activeCustomer(h, licenseProduct, {
      entitlements: [
        { dimension: 'seats', integerValue: 5 },
        { dimension: 'storage_gb', integerValue: 100 },
      ],
    });
    const usage = await request(h.app)
      .post('/v1/usage')
      .set(auth)
      .send({
        records: [
          { customer: c.id, dimension: 'seats', quantity: 8, timestamp: '2026-03-10T10:40:30Z', idempotencyKey: 'seats-1' },
          { customer: c.id, dimension: 'storage_gb', quantity: 60, timestamp: '2026-03-10T10:40:40Z', idempotencyKey: 'gb-1' },
        ],
      });
    expect(usage.body.results).toEqual([expect.objectContaining({ status: 'accepted' }), expect.objectContaining({ status: 'accepted' })]);

    const now = await get(`/v1/customers/${encodeURIComponent(c.licenseArn!)}`);
    expect(now.status).toBe(200);
    expect(now.body).toMatchObject({
      id: c.id,
      licenseArn: c.licenseArn,
      status: 'active',
      externalId: null,
      entitlements: [
        { dimension: 'seats', valueType: 'integer', value: 5 },
        { dimension: 'storage_gb', valueType: 'integer', value: 100 },
      ],
      usage: { hour: '2026-03-10T10:00:00.000Z', periodStart: '2026-03-01T00:00:00.000Z', periodEnd: '2026-04-01T00:00:00.000Z' },
    });
    const seats = now.body.usage.dimensions.find((d: { dimension: string }) => d.dimension === 'seats');
    expect(seats).toMatchObject({ includedQuantity: 5, thisHour: { rawUsage: 8, billedQuantity: null, state: 'open' } });

    // The hour is sealed and billed: 8 seats used, 5 included, 3 billed; 60 GB counted against the 100 included, none billed.
    h.clock.set('2026-03-10T11:15:00Z');
    await h.container.emitter.runOnce();
    const later = await get(`/v1/customers/${c.id}`);
    const byName = Object.fromEntries(later.body.usage.dimensions.map((d: { dimension: string }) => [d.dimension, d]));
    expect(byName.seats.currentPeriod).toEqual({
      rawUsage: 8,
      billedQuantity: 3,
      pendingQuantity: 0,
      notBilledQuantity: 0,
      notBilledHours: 0,
    });
    expect(byName.storage_gb).toMatchObject({
      includedQuantity: 100,
      includedUsed: 60,
      currentPeriod: { rawUsage: 60, billedQuantity: 0 },
    });
    expect(byName.seats.thisHour.rawUsage).toBe(0);
  });

  it('links the app tenant id, unique per product, and finds the customer by it', async () => {
    const a = await activeCustomer(h, sumProduct);
    const b = await activeCustomer(h, sumProduct);
    const set = await request(h.app).patch(`/v1/customers/${a.id}`).set(auth).send({ externalId: 'tenant-42' });
    expect(set.status).toBe(200);
    expect(set.body.externalId).toBe('tenant-42');
    expect((await get('/v1/customers/tenant-42')).body.id).toBe(a.id);
    expect((await get('/v1/customers?externalId=tenant-42')).body).toMatchObject({ total: 1, customers: [{ id: a.id }] });
    const taken = await request(h.app).patch(`/v1/customers/${b.id}`).set(auth).send({ externalId: 'tenant-42' });
    expect(taken.status).toBe(409);
    expect(taken.body.code).toBe('external_id_taken');
    // The access check takes it too.
    expect((await get('/v1/access?customer=tenant-42')).body).toMatchObject({ allowed: true, customer: { id: a.id } });
    const cleared = await request(h.app).patch(`/v1/customers/${a.id}`).set(auth).send({ externalId: null });
    expect(cleared.body.externalId).toBeNull();
    expect((await get('/v1/customers/tenant-42')).status).toBe(404);
  });

  it('lists with filters and pages through with the cursor', async () => {
    const all = await get(`/v1/customers?product=${sumProduct.code}&status=active`);
    expect(all.status).toBe(200);
    expect(all.body.total).toBeGreaterThanOrEqual(2);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: request.Response = await get(`/v1/customers?product=${sumProduct.code}&limit=1${cursor ? `&cursor=${cursor}` : ''}`);
      seen.push(...page.body.customers.map((c: { id: string }) => c.id));
      cursor = page.body.nextCursor;
    } while (cursor);
    expect(seen).toEqual(all.body.customers.map((c: { id: string }) => c.id));
    expect((await get('/v1/customers?status=failed')).body).toEqual({ customers: [], total: 0, nextCursor: null });
    const none = await get('/v1/customers?updatedSince=2099-01-01T00:00:00Z');
    expect(none.body).toEqual({ customers: [], total: 0, nextCursor: null });
  });

  it('exports and erases the buyer’s personal data: identity and metering stay, a tombstone goes into the feed', async () => {
    const c = await activeCustomer(h, sumProduct);
    await h.container.customers.saveOnboarding(
      c.id,
      { email: 'pii@buyer.example', company: 'Buyer Ltd', contactName: 'Pat' },
      h.clock.now(),
    );
    const exported = await get(`/v1/customers/${c.id}/personal-data`);
    expect(exported.body).toMatchObject({
      customerId: c.id,
      onboarding: { email: 'pii@buyer.example', company: 'Buyer Ltd', contactName: 'Pat' },
      kept: { customerIdentifier: c.customerIdentifier },
    });
    const erased = await request(h.app).delete(`/v1/customers/${c.id}/personal-data`).set(auth);
    expect(erased.status).toBe(200);
    expect(erased.body.onboarding).toMatchObject({ email: null, company: null, contactName: null });
    expect(erased.body.personalDataErasedAt).toBe(h.clock.now().toISOString());
    const after = await get(`/v1/customers/${c.id}`);
    expect(after.body).toMatchObject({ customerIdentifier: c.customerIdentifier, status: 'active' });

    const feed = await get('/v1/changes?limit=500');
    const mine = feed.body.changes.filter((x: { customerId: string }) => x.customerId === c.id);
    expect(mine[mine.length - 1]).toMatchObject({ change: 'personal_data_erased', deleted: true });
    expect(JSON.stringify(feed.body)).not.toContain('pii@buyer.example');
  });

  it('the change feed pages with a growing cursor and answers the same cursor when nothing is new', async () => {
    const first = await get('/v1/changes?limit=2');
    expect(first.body.changes).toHaveLength(2);
    expect(first.body.hasMore).toBe(true);
    const rest = await get(`/v1/changes?after=${first.body.nextCursor}&limit=500`);
    expect(rest.body.changes[0].cursor > first.body.nextCursor).toBe(true);
    const end = await get(`/v1/changes?after=${rest.body.nextCursor}`);
    expect(end.body).toEqual({ changes: [], nextCursor: rest.body.nextCursor, hasMore: false });
  });

  it("shows the customer's cancellation requests and billing adjustments, as the webhooks told them", async () => {
    h.clock.set('2026-03-12T09:00:00Z');
    // A contract with something bought: License Updated re-reads it and finds it current.
    const c = await activeCustomer(h, licenseProduct, { entitlements: [{ dimension: 'seats', integerValue: 5 }] });
    const agreementId = `agmt-api${c.id.slice(0, 8)}`;
    const deliver = async (id: string, detailType: string, detail: Record<string, unknown>) => {
      const body = JSON.stringify({
        version: '0',
        id,
        'detail-type': detailType,
        source: 'aws.agreement-marketplace',
        account: '111122223333',
        time: h.clock.now().toISOString(),
        region: 'us-east-1',
        resources: [],
        detail: { requestId: `req-${id}`, catalog: 'AWSMarketplace', ...detail },
      });
      return h.container.eventProcessor.handle(parseQueueMessage(body, { messageId: id }), { dedupeKey: id, channel: 'test', body });
    };
    await deliver(`lu-${c.id}`, 'License Updated - Manufacturer', {
      product: { id: 'prod-1', code: licenseProduct.code },
      license: { arn: c.licenseArn },
      acceptor: { accountId: c.customerAWSAccountId },
      agreement: { id: agreementId },
    });
    const request = (status: string) => ({
      agreement: { id: agreementId, acceptorId: c.customerAWSAccountId, productId: 'prod-1', offerId: 'offer-1' },
      agreementCancellationRequest: {
        id: `acr-${c.id.slice(0, 8)}`,
        reasonCode: 'PRODUCT_NOT_NEEDED',
        statusCode: status,
        createdAt: '2026-03-12T09:00:00Z',
      },
    });
    expect(
      (await deliver(`cr-${c.id}`, 'Agreement Cancellation Request Pending Approval - Proposer', request('PENDING_APPROVAL'))).outcome,
    ).toBe('applied');
    h.clock.set('2026-03-12T09:30:00Z');
    expect((await deliver(`cj-${c.id}`, 'Agreement Cancellation Request Rejected - Proposer', request('REJECTED'))).outcome).toBe(
      'applied',
    );
    expect(
      (
        await deliver(`ba-${c.id}`, 'Purchase Agreement Billing Adjustment Completed - Proposer', {
          agreement: { id: agreementId },
          billingAdjustmentRequest: {
            id: `ba-${c.id.slice(0, 8)}`,
            adjustmentAmount: '-25.00',
            currencyCode: 'USD',
            adjustmentReasonCode: 'OTHER',
          },
        })
      ).outcome,
    ).toBe('applied');

    const res = await get(`/v1/customers/${c.id}`);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ status: 'active', agreementId });
    expect(res.body.cancellationRequests).toEqual([
      {
        id: `acr-${c.id.slice(0, 8)}`,
        agreementId,
        status: 'REJECTED',
        statusAt: '2026-03-12T09:30:00.000Z',
        reasonCode: 'PRODUCT_NOT_NEEDED',
        reasonMessage: null,
        statusMessage: null,
        requestedAt: '2026-03-12T09:00:00.000Z',
      },
    ]);
    expect(res.body.billingAdjustments).toEqual([
      {
        id: `ba-${c.id.slice(0, 8)}`,
        agreementId,
        amount: '-25.00',
        currencyCode: 'USD',
        reasonCode: 'OTHER',
        originalInvoiceId: null,
        completedAt: '2026-03-12T09:30:00.000Z',
      },
    ]);
    const hooks = await h.db.store.db
      .selectFrom('webhook_events')
      .select(['type', 'payload'])
      .where('customer_id', '=', c.id)
      .where('type', 'like', 'agreement.%')
      .orderBy('seq')
      .execute();
    expect(hooks.map((x) => x.type)).toEqual([
      'agreement.cancellation_requested',
      'agreement.cancellation_rejected',
      'agreement.billing_adjusted',
    ]);
    // The webhook carries what the API shows, as of the event.
    expect(JSON.parse(hooks[1]!.payload).data.cancellationRequest).toEqual(res.body.cancellationRequests[0]);
    expect(JSON.parse(hooks[2]!.payload).data.billingAdjustment).toEqual(res.body.billingAdjustments[0]);
    // A customer without any shows empty lists.
    const other = await activeCustomer(h, licenseProduct);
    expect((await get(`/v1/customers/${other.id}`)).body).toMatchObject({ cancellationRequests: [], billingAdjustments: [] });
  });

  it('answers garbage with a clear 4xx problem', async () => {
    const cases: Array<[request.Test, number]> = [
      [get('/v1/customers?limit=0'), 400],
      [get('/v1/customers?limit=1e400'), 400],
      [get('/v1/customers?status=gone'), 400],
      [get('/v1/customers?cursor=%%%'), 400],
      [get('/v1/customers?cursor=bm90LWEtY3Vyc29y'), 400],
      [get('/v1/customers?updatedSince=yesterday'), 400],
      [get('/v1/customers?awsAccountId=abc'), 400],
      [get('/v1/customers?nope=1'), 400],
      [get('/v1/customers/nobody'), 404],
      [get(`/v1/customers/${'x'.repeat(300)}`), 400],
      [get('/v1/customers/nobody/personal-data'), 404],
      [request(h.app).delete('/v1/customers/nobody/personal-data').set(auth), 404],
      [request(h.app).patch('/v1/customers/nobody').set(auth).send({ externalId: 'x' }), 404],
      [request(h.app).patch('/v1/customers/nobody').set(auth).send({ externalId: 42 }), 400],
      [request(h.app).patch('/v1/customers/nobody').set(auth).send({ externalId: '' }), 400],
      [request(h.app).patch('/v1/customers/nobody').set(auth).send({ externalId: 'a\u0001b' }), 400],
      [request(h.app).patch('/v1/customers/nobody').set(auth).send({ other: 1 }), 400],
      [request(h.app).patch('/v1/customers/nobody').set(auth).type('json').send('{bad'), 400],
      [request(h.app).patch('/v1/customers/nobody').set(auth).type('form').send('externalId=x'), 415],
      [get('/v1/changes?after=zz'), 400],
      [get('/v1/changes?after=ffffffffffffffffffffffffffffffff'), 400],
      [get('/v1/changes?limit=501'), 400],
      [get('/v1/changes?limit=Infinity'), 400],
      [request(h.app).post('/v1/handoffs/redeem').set(auth).send({}), 400],
      [request(h.app).post('/v1/handoffs/redeem').set(auth).send({ token: 'not.a.jwt' }), 400],
      [
        request(h.app)
          .post('/v1/handoffs/redeem')
          .set(auth)
          .send({ token: 'x'.repeat(9000) }),
        400,
      ],
    ];
    for (const [i, [req, status]] of cases.entries()) {
      const res = await req;
      expect({ i, status: res.status, type: res.type }).toEqual({ i, status, type: 'application/problem+json' });
    }
  });
});
