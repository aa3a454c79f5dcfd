import {
  AcceptAgreementCancellationRequestCommand,
  BatchCreateBillingAdjustmentRequestCommand,
  CancelAgreementCancellationRequestCommand,
  DescribeAgreementCommand,
  GetAgreementCancellationRequestCommand,
  GetBillingAdjustmentRequestCommand,
  ListAgreementCancellationRequestsCommand,
  ListBillingAdjustmentRequestsCommand,
  RejectAgreementCancellationRequestCommand,
  SendAgreementCancellationRequestCommand,
} from '@aws-sdk/client-marketplace-agreement';
import {
  activeSubscription,
  drain,
  errorOf,
  eventBridgeEvents,
  licenseProduct,
  snsMessages,
  startKit,
  legacyProduct,
  type TestKit,
} from './support';

const DAY = 86_400_000;
const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

describe('seller cancellation requests (Seller Guide "Events for cancellations", facts §5.6)', () => {
  let kit: TestKit;
  beforeAll(async () => {
    kit = await startKit({ sellerAccountId: '999988887777', billingAdjustmentDelayMs: 2000 });
    licenseProduct(kit.sim);
    legacyProduct(kit.sim, 'legacy-both');
  });
  afterAll(() => kit.close());

  const send = (agreementId: string) =>
    kit.agreement.send(
      new SendAgreementCancellationRequestCommand({ agreementId, reasonCode: 'INCORRECT_TERMS_ACCEPTED', description: 'wrong rate' }),
    );

  it('SendAgreementCancellationRequest: PENDING_APPROVAL, its Proposer event, readable with Get and List', async () => {
    const s = await activeSubscription(kit.sim, 'license-product', { awsAccountId: '123412341234' });
    await eventBridgeEvents(kit);
    const sent = await send(s.agreementId);
    expect(sent).toEqual(
      expect.objectContaining({
        agreementId: s.agreementId,
        status: 'PENDING_APPROVAL',
        reasonCode: 'INCORRECT_TERMS_ACCEPTED',
        description: 'wrong rate',
      }),
    );
    expect(sent.agreementCancellationRequestId).toMatch(/^acr-[a-z0-9]+$/);
    expect(sent.createdAt).toEqual(new Date(kit.sim.now()));
    const [event, ...rest] = await eventBridgeEvents(kit);
    expect(rest).toEqual([]);
    expect(typeof event!.detail.requestId).toBe('string');
    expect(event).toEqual(
      expect.objectContaining({
        'detail-type': 'Agreement Cancellation Request Pending Approval - Proposer',
        source: 'aws.agreement-marketplace',
        account: '999988887777',
        resources: [],
      }),
    );
    expect(event!.detail).toEqual(
      expect.objectContaining({
        catalog: 'AWSMarketplace',
        agreement: { id: s.agreementId, acceptorId: '123412341234', productId: s.productId, offerId: s.offerId },
        agreementCancellationRequest: {
          id: sent.agreementCancellationRequestId,
          reasonCode: 'INCORRECT_TERMS_ACCEPTED',
          reasonMessage: 'wrong rate',
          statusCode: 'PENDING_APPROVAL',
          statusMessage: '',
          createdAt: iso(kit.sim.now()),
          updatedAt: iso(kit.sim.now()),
        },
      }),
    );
    const got = await kit.agreement.send(
      new GetAgreementCancellationRequestCommand({
        agreementId: s.agreementId,
        agreementCancellationRequestId: sent.agreementCancellationRequestId,
      }),
    );
    expect(got).toEqual(expect.objectContaining({ status: 'PENDING_APPROVAL', statusMessage: '' }));
    const list = await kit.agreement.send(
      new ListAgreementCancellationRequestsCommand({ partyType: 'Proposer', agreementId: s.agreementId }),
    );
    expect(list.items).toEqual([
      expect.objectContaining({
        agreementCancellationRequestId: sent.agreementCancellationRequestId,
        status: 'PENDING_APPROVAL',
        catalog: 'AWSMarketplace',
      }),
    ]);
    // One pending request per agreement.
    const again = await errorOf(send(s.agreementId));
    expect([again.name, again.$metadata?.httpStatusCode]).toEqual(['ConflictException', 409]);
  });

  it('auto-approves after 7 days on the advanced clock; the agreement ends and its licence is deprovisioned an hour later', async () => {
    const s = await activeSubscription(kit.sim, 'license-product');
    const sent = await send(s.agreementId);
    await eventBridgeEvents(kit);
    const mine = async () => (await eventBridgeEvents(kit)).filter((e) => e.detail.agreement.id === s.agreementId);
    await kit.sim.advanceClock(7 * DAY - 60_000);
    expect(await mine()).toEqual([]);
    expect(kit.sim.subscription(s.id).status).toBe('active');
    await kit.sim.advanceClock(60_000);
    const approved = await mine();
    expect(approved.map((e) => e['detail-type'])).toEqual([
      'Agreement Cancellation Request Approved - Proposer',
      'Purchase Agreement Ended - Proposer',
    ]);
    expect(approved[0]!.detail.agreementCancellationRequest).toEqual(expect.objectContaining({ statusCode: 'APPROVED' }));
    expect(approved[1]!.detail.agreement).toEqual({ id: s.agreementId, status: 'CANCELLED' });
    const a = await kit.agreement.send(new DescribeAgreementCommand({ agreementId: s.agreementId }));
    expect(a.status).toBe('CANCELLED');
    const got = await kit.agreement.send(
      new GetAgreementCancellationRequestCommand({
        agreementId: s.agreementId,
        agreementCancellationRequestId: sent.agreementCancellationRequestId,
      }),
    );
    expect(got.status).toBe('APPROVED');
    expect(got.updatedAt!.getTime() - got.createdAt!.getTime()).toBe(7 * DAY);
    await kit.sim.advanceClock(3_600_000);
    expect((await mine()).map((e) => [e['detail-type'], e.detail.license?.arn])).toEqual([
      ['License Deprovisioned - Manufacturer', s.licenseArn],
    ]);
    expect(kit.sim.subscription(s.id).status).toBe('unsubscribed');
  });

  it('the buyer approves or rejects (acceptor credentials only); the seller withdraws; a settled request cannot change', async () => {
    const s = await activeSubscription(kit.sim, 'license-product', { awsAccountId: '565612341234' });
    const buyer = kit.agreementAsBuyer('565612341234');
    const r1 = await send(s.agreementId);
    const ids = { agreementId: s.agreementId, agreementCancellationRequestId: r1.agreementCancellationRequestId };
    const sellerAccepts = await errorOf(kit.agreement.send(new AcceptAgreementCancellationRequestCommand(ids)));
    expect([sellerAccepts.name, sellerAccepts.$metadata?.httpStatusCode]).toEqual(['AccessDeniedException', 403]);
    await eventBridgeEvents(kit);
    const rejected = await buyer.send(
      new RejectAgreementCancellationRequestCommand({ ...ids, rejectionReason: 'We still need this product' }),
    );
    expect(rejected).toEqual(expect.objectContaining({ status: 'REJECTED', statusMessage: 'We still need this product' }));
    const [rejectedEvent] = await eventBridgeEvents(kit);
    expect(rejectedEvent!['detail-type']).toBe('Agreement Cancellation Request Rejected - Proposer');
    expect(rejectedEvent!.detail.agreementCancellationRequest!.statusMessage).toBe('We still need this product');
    const late = await errorOf(buyer.send(new AcceptAgreementCancellationRequestCommand(ids)));
    expect(late.name).toBe('ConflictException');

    const r2 = await send(s.agreementId);
    const withdrawn = await kit.agreement.send(
      new CancelAgreementCancellationRequestCommand({
        agreementId: s.agreementId,
        agreementCancellationRequestId: r2.agreementCancellationRequestId,
        cancellationReason: 'Seller withdrew the request',
      }),
    );
    expect(withdrawn.status).toBe('CANCELLED');
    expect((await eventBridgeEvents(kit)).map((e) => [e['detail-type'], e.detail.agreementCancellationRequest?.statusCode])).toEqual([
      ['Agreement Cancellation Request Pending Approval - Proposer', 'PENDING_APPROVAL'],
      ['Agreement Cancellation Request Cancelled - Proposer', 'CANCELLED'],
    ]);
    // A withdrawn request no longer auto-approves.
    await kit.sim.advanceClock(8 * DAY);
    expect(kit.sim.subscription(s.id).status).toBe('active');

    const r3 = await send(s.agreementId);
    const accepted = await buyer.send(
      new AcceptAgreementCancellationRequestCommand({
        agreementId: s.agreementId,
        agreementCancellationRequestId: r3.agreementCancellationRequestId,
      }),
    );
    expect(accepted.status).toBe('APPROVED');
    expect(kit.sim.subscription(s.id)).toEqual(expect.objectContaining({ status: 'unsubscribe-pending', agreementStatus: 'CANCELLED' }));
    const ended = await errorOf(send(s.agreementId));
    expect(ended.name).toBe('ConflictException');
    const mine = await buyer.send(new ListAgreementCancellationRequestsCommand({ partyType: 'Acceptor' }));
    expect(mine.items!.map((i) => i.status)).toEqual(['REJECTED', 'CANCELLED', 'APPROVED']);
  });

  it('an approved request of an SNS product sends unsubscribe-pending, then unsubscribe-success (any ending)', async () => {
    const s = await activeSubscription(kit.sim, 'legacy-both');
    await drain(kit.sqs, kit.sim.queueUrl('marketplace-subscription'));
    const r = await kit.sim.requestCancellation(s.id, { reasonCode: 'TEST_AGREEMENT' });
    await kit.sim.approveCancellation(r.id);
    await kit.sim.advanceClock(3_600_000);
    const actions = snsMessages(await drain(kit.sqs, kit.sim.queueUrl('marketplace-subscription'))).map((m) => m.message.action);
    expect(actions).toEqual(['unsubscribe-pending', 'unsubscribe-success']);
  });

  it('garbage: bad reason code, missing ids, unknown request → documented errors', async () => {
    const s = await activeSubscription(kit.sim, 'license-product');
    const bad = await errorOf(
      kit.agreement.send(new SendAgreementCancellationRequestCommand({ agreementId: s.agreementId, reasonCode: 'BORED' as never })),
    );
    expect([bad.name, (bad as unknown as { reason: string }).reason]).toEqual(['ValidationException', 'INVALID_REASON_CODE']);
    const missing = await errorOf(kit.agreement.send(new SendAgreementCancellationRequestCommand({ agreementId: s.agreementId } as never)));
    expect((missing as unknown as { reason: string }).reason).toBe('MISSING_REASON_CODE');
    const unknown = await errorOf(
      kit.agreement.send(
        new GetAgreementCancellationRequestCommand({ agreementId: s.agreementId, agreementCancellationRequestId: 'acr-nothere' }),
      ),
    );
    expect([unknown.name, unknown.$metadata?.httpStatusCode]).toEqual(['ResourceNotFoundException', 404]);
    const malformed = await errorOf(
      kit.agreement.send(
        new GetAgreementCancellationRequestCommand({ agreementId: s.agreementId, agreementCancellationRequestId: 'nope' }),
      ),
    );
    expect((malformed as unknown as { reason: string }).reason).toBe('INVALID_AGREEMENT_CANCELLATION_REQUEST_ID');
    const party = await errorOf(kit.agreement.send(new ListAgreementCancellationRequestsCommand({ partyType: 'Nobody' })));
    expect((party as unknown as { reason: string }).reason).toBe('INVALID_PARTY_TYPE');
  });

  it('control API and page routes: request, approve, reject, withdraw; bad input → 4xx', async () => {
    const s = await activeSubscription(kit.sim, 'license-product');
    const post = (path: string, body = '{}') =>
      fetch(`${kit.sim.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    const created = await post(
      `/simulator/api/subscriptions/${s.id}/cancellation-requests`,
      '{"reasonCode": "OTHER", "description": "test"}',
    );
    expect(created.status).toBe(201);
    const r = (await created.json()) as { id: string; status: string };
    expect(r.status).toBe('PENDING_APPROVAL');
    const rejected = await post(`/simulator/api/cancellation-requests/${r.id}/reject`, '{"reason": "no"}');
    expect(((await rejected.json()) as { status: string }).status).toBe('REJECTED');
    expect((await post(`/simulator/api/cancellation-requests/${r.id}/approve`)).status).toBe(400); // settled
    expect((await post('/simulator/api/cancellation-requests/acr-unknown/withdraw')).status).toBe(404);
    expect((await post(`/simulator/api/subscriptions/${s.id}/cancellation-requests`, '{"description": 7}')).status).toBe(400);
    const form = await fetch(`${kit.sim.url}/simulator/ui/subscriptions/${s.id}/cancellation-requests`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'reasonCode=OTHER',
      redirect: 'manual',
    });
    expect([form.status, form.headers.get('location')]).toEqual([303, '/simulator']);
    const pending = kit.sim.cancellationRequests({ subscriptionId: s.id }).find((x) => x.status === 'PENDING_APPROVAL')!;
    const withdraw = await fetch(`${kit.sim.url}/simulator/ui/cancellation-requests/${pending.id}/withdraw`, {
      method: 'POST',
      redirect: 'manual',
    });
    expect(withdraw.status).toBe(303);
    expect(kit.sim.cancellationRequests({ subscriptionId: s.id }).map((x) => x.status)).toEqual(['REJECTED', 'CANCELLED']);
    const listed = (await (await fetch(`${kit.sim.url}/simulator/api/cancellation-requests`)).json()) as unknown[];
    expect(listed.length).toBeGreaterThanOrEqual(2);
  });
});

describe('billing adjustments (Seller Guide "Events for billing adjustments", facts §5.6)', () => {
  let kit: TestKit;
  beforeAll(async () => {
    kit = await startKit({ billingAdjustmentDelayMs: 2000 });
    licenseProduct(kit.sim);
  });
  afterAll(() => kit.close());

  const entry = (agreementId: string, extra: Record<string, string> = {}) => ({
    agreementId,
    originalInvoiceId: '2028746221',
    adjustmentAmount: '100.00',
    currencyCode: 'USD',
    adjustmentReasonCode: 'INCORRECT_TERMS_ACCEPTED' as const,
    clientToken: 'token-1',
    ...extra,
  });

  it('BatchCreateBillingAdjustmentRequest: PENDING, then COMPLETED with its Proposer event; Get and List read it', async () => {
    const s = await activeSubscription(kit.sim, 'license-product');
    await eventBridgeEvents(kit);
    const out = await kit.agreement.send(
      new BatchCreateBillingAdjustmentRequestCommand({ billingAdjustmentRequestEntries: [entry(s.agreementId)] }),
    );
    expect(out.errors).toEqual([]);
    expect(out.items!.map((i) => i.clientToken)).toEqual(['token-1']);
    const id = out.items![0]!.billingAdjustmentRequestId!;
    expect(id).toMatch(/^ba-[a-z0-9]+$/);
    const pending = await kit.agreement.send(
      new GetBillingAdjustmentRequestCommand({ agreementId: s.agreementId, billingAdjustmentRequestId: id }),
    );
    expect(pending).toEqual(
      expect.objectContaining({ status: 'PENDING', adjustmentAmount: '100.00', currencyCode: 'USD', originalInvoiceId: '2028746221' }),
    );
    expect(await eventBridgeEvents(kit)).toEqual([]);
    await kit.sim.advanceClock(2000);
    const [event, ...rest] = await eventBridgeEvents(kit);
    expect(rest).toEqual([]);
    expect(event!['detail-type']).toBe('Purchase Agreement Billing Adjustment Completed - Proposer');
    expect(event!.resources).toEqual([]);
    expect(event!.detail).toEqual(
      expect.objectContaining({
        catalog: 'AWSMarketplace',
        agreement: { id: s.agreementId },
        billingAdjustmentRequest: {
          id,
          adjustmentAmount: '-100.00',
          currencyCode: 'USD',
          adjustmentReasonCode: 'INCORRECT_TERMS_ACCEPTED',
        },
        invoice: { originalInvoiceId: '2028746221' },
      }),
    );
    const done = await kit.agreement.send(
      new GetBillingAdjustmentRequestCommand({ agreementId: s.agreementId, billingAdjustmentRequestId: id }),
    );
    expect(done.status).toBe('COMPLETED');
    const list = await kit.agreement.send(new ListBillingAdjustmentRequestsCommand({ agreementId: s.agreementId, status: 'COMPLETED' }));
    expect(list.items!.map((i) => i.billingAdjustmentRequestId)).toEqual([id]);
    // Same clientToken, same content → the same request; other content → a per-entry conflict.
    const replay = await kit.agreement.send(
      new BatchCreateBillingAdjustmentRequestCommand({ billingAdjustmentRequestEntries: [entry(s.agreementId)] }),
    );
    expect(replay.items![0]!.billingAdjustmentRequestId).toBe(id);
    const conflict = await kit.agreement.send(
      new BatchCreateBillingAdjustmentRequestCommand({
        billingAdjustmentRequestEntries: [entry(s.agreementId, { adjustmentAmount: '5.00' })],
      }),
    );
    expect(conflict.errors).toEqual([expect.objectContaining({ code: 'CONFLICT_EXCEPTION', clientToken: 'token-1' })]);
  });

  it('refuses entries one by one (unknown agreement, zero amount, other currency) and malformed calls as a whole', async () => {
    const s = await activeSubscription(kit.sim, 'license-product');
    const out = await kit.agreement.send(
      new BatchCreateBillingAdjustmentRequestCommand({
        billingAdjustmentRequestEntries: [
          entry('agmt-unknown', { clientToken: 'a' }),
          entry(s.agreementId, { clientToken: 'b', adjustmentAmount: '0' }),
          entry(s.agreementId, { clientToken: 'c', currencyCode: 'EUR' }),
          entry(s.agreementId, { clientToken: 'd', adjustmentAmount: '12.5' }),
        ],
      }),
    );
    expect(out.errors!.map((e) => [e.clientToken, e.code])).toEqual([
      ['a', 'RESOURCE_NOT_FOUND_EXCEPTION'],
      ['b', 'VALIDATION_EXCEPTION'],
      ['c', 'VALIDATION_EXCEPTION'],
    ]);
    expect(out.items!.map((i) => i.clientToken)).toEqual(['d']);
    const empty = await errorOf(
      kit.agreement.send(new BatchCreateBillingAdjustmentRequestCommand({ billingAdjustmentRequestEntries: [] })),
    );
    expect(empty.name).toBe('ValidationException');
    const bad = await errorOf(
      kit.agreement.send(
        new BatchCreateBillingAdjustmentRequestCommand({
          billingAdjustmentRequestEntries: [entry(s.agreementId, { adjustmentReasonCode: 'MOOD' })] as never,
        }),
      ),
    );
    expect((bad as unknown as { reason: string }).reason).toBe('INVALID_REASON_CODE');
    const buyer = await errorOf(
      kit
        .agreementAsBuyer(s.customerAWSAccountId)
        .send(new BatchCreateBillingAdjustmentRequestCommand({ billingAdjustmentRequestEntries: [entry(s.agreementId)] })),
    );
    expect(buyer.name).toBe('AccessDeniedException');
  });

  it('issues a refund from the control API and the page; garbage amounts → 400', async () => {
    const s = await activeSubscription(kit.sim, 'license-product');
    const post = (body: string) =>
      fetch(`${kit.sim.url}/simulator/api/subscriptions/${s.id}/billing-adjustments`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
      });
    const ok = await post('{"amount": "25.00", "reasonCode": "BUYER_DISSATISFACTION"}');
    expect(ok.status).toBe(201);
    expect(((await ok.json()) as { status: string; adjustmentAmount: string }).adjustmentAmount).toBe('25.00');
    for (const body of ['{}', '{"amount": 25}', '{"amount": "-5"}', '{"amount": "0"}', '{"amount": "1e3"}'])
      expect((await post(body)).status).toBe(400);
    const page = await fetch(`${kit.sim.url}/simulator/ui/subscriptions/${s.id}/billing-adjustments`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'amount=10.00',
      redirect: 'manual',
    });
    expect(page.status).toBe(303);
    expect(kit.sim.billingAdjustments({ subscriptionId: s.id }).map((a) => a.adjustmentAmount)).toEqual(['25.00', '10.00']);
  });
});
