import { AgreementRequestRepository } from '../../src/customers/agreement-requests.repository';
import { describeDialects, type TestStore } from '../support/stores';
import { contract, ebBody, openProcessorFixture, type ProcessorRig } from './processor-support';

const ACCOUNT = '444455556666';
const L1 = `arn:aws:license-manager::${ACCOUNT}:license:l-0001`;
const t0 = Date.parse('2026-11-22T10:00:00Z');
const at = (minutes: number) => new Date(t0 + minutes * 60_000);

const STEM = {
  PENDING_APPROVAL: 'Agreement Cancellation Request Pending Approval',
  APPROVED: 'Agreement Cancellation Request Approved',
  REJECTED: 'Agreement Cancellation Request Rejected',
  CANCELLED: 'Agreement Cancellation Request Cancelled',
} as const;
type Status = keyof typeof STEM;

const licenseUpdated = (id: string, minute: number, agreementId = 'agmt-1') =>
  ebBody(id, 'License Updated - Manufacturer', at(minute), {
    requestId: `req-${id}`,
    product: { id: 'prod-1', code: contract.code },
    license: { arn: L1 },
    acceptor: { accountId: ACCOUNT },
    agreement: { id: agreementId },
    offer: { id: 'offer-1' },
  });

/** A seller-side cancellation event as the Seller Guide shows it (docs/simulator.md "Research notes"). */
const cancellation = (
  id: string,
  status: Status,
  minute: number,
  o: { requestId?: string; acr?: string; agreementId?: string; role?: string; statusMessage?: string } = {},
) =>
  ebBody(id, `${STEM[status]} - ${o.role ?? 'Proposer'}`, at(minute), {
    requestId: o.requestId ?? `req-${id}`,
    catalog: 'AWSMarketplace',
    agreement: { id: o.agreementId ?? 'agmt-1', acceptorId: ACCOUNT, productId: 'prod-1', offerId: 'offer-1' },
    agreementCancellationRequest: {
      id: o.acr ?? 'acr-1',
      reasonCode: 'INCORRECT_TERMS_ACCEPTED',
      reasonMessage: 'wrong rate',
      statusCode: status,
      statusMessage: o.statusMessage ?? '',
      createdAt: at(0).toISOString(),
      updatedAt: at(minute).toISOString(),
    },
  });

const ended = (id: string, minute: number, status = 'CANCELLED') =>
  ebBody(id, 'Purchase Agreement Ended - Proposer', at(minute), {
    requestId: `req-${id}`,
    acceptor: { accountId: ACCOUNT },
    agreement: { id: 'agmt-1', status },
  });

const refund = (id: string, minute: number, o: { ba?: string; amount?: unknown } = {}) =>
  ebBody(id, 'Purchase Agreement Billing Adjustment Completed - Proposer', at(minute), {
    requestId: `req-${id}`,
    catalog: 'AWSMarketplace',
    agreement: { id: 'agmt-1' },
    billingAdjustmentRequest: {
      id: o.ba ?? 'ba-1',
      adjustmentAmount: 'amount' in o ? o.amount : '-100.00',
      currencyCode: 'USD',
      adjustmentReasonCode: 'INCORRECT_TERMS_ACCEPTED',
    },
    invoice: { originalInvoiceId: 'inv-1' },
  });

describeDialects('event processor: cancellation requests and billing adjustments on %s', (dialect) => {
  let t: TestStore;
  let rig: ProcessorRig;
  let requests: AgreementRequestRepository;

  beforeEach(async () => {
    ({ t, rig } = await openProcessorFixture(dialect));
    requests = new AgreementRequestRepository(t.store.db);
  });
  afterEach(async () => t.dispose());

  const customer = async () => (await rig.customers.findByIdentity({ licenseArn: L1 }))!;
  const webhookTypes = async () =>
    (await t.store.db.selectFrom('webhook_events').select(['type']).orderBy('seq').execute())
      .map((r) => r.type)
      .filter((x) => !x.startsWith('customer.registered'));
  const requestWebhooks = async () => (await webhookTypes()).filter((x) => x.startsWith('agreement.'));
  const windowsOpened = () => rig.published.filter((e) => e.type === 'final-window-opened').length;
  const stored = async (dedupeKey: string) =>
    t.store.db.selectFrom('events').select(['outcome', 'reason', 'customer_id']).where('dedupe_key', '=', dedupeKey).executeTakeFirst();

  async function activeBuyer(): Promise<void> {
    expect((await rig.deliver(licenseUpdated('lu', 0))).outcome).toBe('applied');
    expect((await customer()).subscription.status).toBe('active');
  }

  it('records a request per customer, tells the app once per status, and an approval takes the agreement-ended path', async () => {
    await activeBuyer();
    expect((await rig.deliver(cancellation('c1', 'PENDING_APPROVAL', 5))).outcome).toBe('applied');
    const list = await requests.listFor((await customer()).id);
    expect(list.cancellationRequests).toEqual([
      expect.objectContaining({
        id: 'acr-1',
        agreementId: 'agmt-1',
        status: 'PENDING_APPROVAL',
        reasonCode: 'INCORRECT_TERMS_ACCEPTED',
        requestedAt: at(0),
      }),
    ]);
    expect((await customer()).subscription.status).toBe('active');

    expect((await rig.deliver(cancellation('c2', 'APPROVED', 20))).outcome).toBe('applied');
    const c = await customer();
    expect(c.subscription.status).toBe('unsubscribe_pending');
    expect(c.subscription.finalWindowOpenedAt).toEqual(at(20));
    expect(windowsOpened()).toBe(1);
    expect((await requests.listFor(c.id)).cancellationRequests[0]).toMatchObject({ status: 'APPROVED', statusAt: at(20) });

    // The Ended event AWS sends next: a later window signal over an open window (the state machine
    // keeps the latest one, as for unsubscribe-pending then Ended), and no second flush.
    expect((await rig.deliver(ended('e1', 21))).outcome).toBe('applied');
    expect(windowsOpened()).toBe(1);
    expect((await customer()).subscription.status).toBe('unsubscribe_pending');
    expect(await requestWebhooks()).toEqual(['agreement.cancellation_requested', 'agreement.cancellation_approved']);
    expect((await webhookTypes()).filter((x) => x === 'customer.ending')).toHaveLength(1);
  });

  it('a redelivered message, and the Manufacturer copy of the same event, change nothing', async () => {
    await activeBuyer();
    await rig.deliver(cancellation('c1', 'PENDING_APPROVAL', 5));
    expect((await rig.deliver(cancellation('c1', 'PENDING_APPROVAL', 5))).outcome).toBe('duplicate');
    expect((await rig.deliver(cancellation('c1-m', 'PENDING_APPROVAL', 5, { requestId: 'req-c1', role: 'Manufacturer' }))).outcome).toBe(
      'duplicate',
    );
    await rig.deliver(cancellation('c2', 'APPROVED', 20));
    expect((await rig.deliver(cancellation('c2', 'APPROVED', 20))).outcome).toBe('duplicate');
    // The same approval under another message and request id (a re-sent event): recorded, not applied again.
    const again = await rig.deliver(cancellation('c2-bis', 'APPROVED', 20));
    expect(again.outcome).not.toBe('applied');
    expect(windowsOpened()).toBe(1);
    expect(await requestWebhooks()).toEqual(['agreement.cancellation_requested', 'agreement.cancellation_approved']);
    expect(await t.store.db.selectFrom('customer_cancellation_requests').select('request_id').execute()).toHaveLength(1);
  });

  it('approved before requested: the approval is final and the late request neither reopens it nor is told', async () => {
    await activeBuyer();
    expect((await rig.deliver(cancellation('c2', 'APPROVED', 20))).outcome).toBe('applied');
    const late = await rig.deliver(cancellation('c1', 'PENDING_APPROVAL', 5));
    expect(late.outcome).toBe('stale');
    expect(late.reason).toMatch(/acr-1/);
    const c = await customer();
    expect((await requests.listFor(c.id)).cancellationRequests).toEqual([
      expect.objectContaining({ status: 'APPROVED', requestedAt: at(0) }),
    ]);
    expect(c.subscription.status).toBe('unsubscribe_pending');
    expect(windowsOpened()).toBe(1);
    expect(await requestWebhooks()).toEqual(['agreement.cancellation_approved']);
  });

  it('ended before approved: one final window, opened by the Ended event; the late approval is still recorded and told', async () => {
    await activeBuyer();
    await rig.deliver(cancellation('c1', 'PENDING_APPROVAL', 5));
    expect((await rig.deliver(ended('e1', 21))).outcome).toBe('applied');
    expect(windowsOpened()).toBe(1);
    const late = await rig.deliver(cancellation('c2', 'APPROVED', 20));
    expect(late.outcome).toBe('applied');
    expect(late.reason).toMatch(/subscription is unchanged/);
    const c = await customer();
    expect(c.subscription.finalWindowOpenedAt).toEqual(at(21));
    expect(windowsOpened()).toBe(1);
    expect((await requests.listFor(c.id)).cancellationRequests[0]!.status).toBe('APPROVED');
    expect(await requestWebhooks()).toEqual(['agreement.cancellation_requested', 'agreement.cancellation_approved']);
    expect((await webhookTypes()).filter((x) => x === 'customer.ending')).toHaveLength(1);
  });

  it('any delivery order of request, approval and end gives the same stored state and one final window', async () => {
    const bodies = [cancellation('c1', 'PENDING_APPROVAL', 5), cancellation('c2', 'APPROVED', 20), ended('e1', 21)];
    const orders = [
      [0, 1, 2],
      [0, 2, 1],
      [1, 0, 2],
      [1, 2, 0],
      [2, 0, 1],
      [2, 1, 0],
    ];
    const results: unknown[] = [];
    for (const order of orders) {
      await t.dispose();
      ({ t, rig } = await openProcessorFixture(dialect));
      requests = new AgreementRequestRepository(t.store.db);
      await activeBuyer();
      for (const i of order) await rig.deliver(bodies[i]!);
      const c = await customer();
      expect(windowsOpened()).toBe(1);
      const { cancellationRequests } = await requests.listFor(c.id);
      results.push({
        status: c.subscription.status,
        request: cancellationRequests.map((r) => ({ ...r })),
        window: c.subscription.finalWindowOpenedAt,
      });
    }
    for (const r of results) expect(r).toEqual(results[0]);
    expect(results[0]).toMatchObject({ status: 'unsubscribe_pending', window: at(21) });
  });

  it('rejected and withdrawn requests are told and leave the subscription alone', async () => {
    await activeBuyer();
    await rig.deliver(cancellation('c1', 'PENDING_APPROVAL', 5));
    await rig.deliver(cancellation('c2', 'REJECTED', 6, { statusMessage: 'we agreed those terms' }));
    await rig.deliver(cancellation('c3', 'PENDING_APPROVAL', 7, { acr: 'acr-2' }));
    await rig.deliver(cancellation('c4', 'CANCELLED', 8, { acr: 'acr-2', statusMessage: 'sorted out by phone' }));
    const c = await customer();
    expect(c.subscription.status).toBe('active');
    expect(windowsOpened()).toBe(0);
    expect((await requests.listFor(c.id)).cancellationRequests).toEqual([
      expect.objectContaining({ id: 'acr-1', status: 'REJECTED', statusMessage: 'we agreed those terms' }),
      expect.objectContaining({ id: 'acr-2', status: 'CANCELLED', statusMessage: 'sorted out by phone' }),
    ]);
    expect(await requestWebhooks()).toEqual([
      'agreement.cancellation_requested',
      'agreement.cancellation_rejected',
      'agreement.cancellation_requested',
      'agreement.cancellation_withdrawn',
    ]);
  });

  it('a request for an agreement not yet known waits, and is applied once its customer is', async () => {
    expect((await rig.deliver(cancellation('c1', 'PENDING_APPROVAL', 5))).outcome).toBe('unmatched');
    await activeBuyer();
    const c = await customer();
    expect(await stored('c1')).toMatchObject({ outcome: 'applied', customer_id: c.id });
    expect((await requests.listFor(c.id)).cancellationRequests).toEqual([expect.objectContaining({ id: 'acr-1' })]);
    expect(await requestWebhooks()).toEqual(['agreement.cancellation_requested']);
  });

  it('a billing adjustment is recorded on the customer once, and told once', async () => {
    await activeBuyer();
    expect((await rig.deliver(refund('b1', 30))).outcome).toBe('applied');
    expect((await rig.deliver(refund('b1', 30))).outcome).toBe('duplicate');
    const resent = await rig.deliver(refund('b1-bis', 31));
    expect(resent).toMatchObject({ outcome: 'ignored', reason: expect.stringMatching(/ba-1 is already recorded/) });
    const c = await customer();
    expect((await requests.listFor(c.id)).billingAdjustments).toEqual([
      {
        id: 'ba-1',
        agreementId: 'agmt-1',
        amount: '-100.00',
        currencyCode: 'USD',
        reasonCode: 'INCORRECT_TERMS_ACCEPTED',
        originalInvoiceId: 'inv-1',
        completedAt: at(30),
      },
    ]);
    expect(c.subscription.status).toBe('active');
    const hooks = await t.store.db
      .selectFrom('webhook_events')
      .select(['type', 'payload'])
      .where('type', '=', 'agreement.billing_adjusted')
      .execute();
    expect(hooks).toHaveLength(1);
    expect(JSON.parse(hooks[0]!.payload)).toMatchObject({
      type: 'agreement.billing_adjusted',
      data: { customer: { id: c.id }, billingAdjustment: { id: 'ba-1', amount: '-100.00', completedAt: at(30).toISOString() } },
    });
  });

  it('garbage is recorded as rejected with a reason, and changes nothing', async () => {
    await activeBuyer();
    const garbage: Array<[string, string]> = [
      ['g1', refund('g1', 30, { amount: 12.5 })],
      ['g2', refund('g2', 30, { amount: '1e3' })],
      ['g3', cancellation('g3', 'APPROVED', 20, { acr: 'acr 1; drop' })],
      ['g4', cancellation('g4', 'APPROVED', 20, { agreementId: 'agmt-1\n' + 'x'.repeat(80) })],
      [
        'g5',
        ebBody('g5', 'Agreement Cancellation Request Approved - Proposer', at(20), {
          agreement: { id: 'agmt-1' },
          agreementCancellationRequest: { id: 'acr-1', statusCode: 'REJECTED' },
        }),
      ],
      ['g6', ebBody('g6', 'Agreement Cancellation Request Approved - Proposer', at(20), { agreement: { id: 'agmt-1' } })],
      ['g7', ebBody('g7', 'Agreement Cancellation Request Approved - Acceptor', at(20), { agreement: { id: 'agmt-1' } })],
    ];
    for (const [id, body] of garbage) {
      const r = await rig.deliver(body, id);
      expect(r.outcome).toBe('rejected');
      expect(r.reason).toEqual(expect.any(String));
      expect((await stored(id))?.outcome).toBe('rejected');
    }
    const c = await customer();
    expect(c.subscription.status).toBe('active');
    expect(await requests.listFor(c.id)).toEqual({ cancellationRequests: [], billingAdjustments: [] });
    expect(await requestWebhooks()).toEqual([]);
  });
});
