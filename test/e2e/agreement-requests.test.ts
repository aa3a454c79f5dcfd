import {
  AcceptAgreementCancellationRequestCommand,
  BatchCreateBillingAdjustmentRequestCommand,
  MarketplaceAgreementClient,
  SendAgreementCancellationRequestCommand,
} from '@aws-sdk/client-marketplace-agreement';
import request from 'supertest';
import type { NotificationQueueConsumer } from '../../handlers/queue-notification.consumer';
import { TEST_API_KEY, startQueueConsumer, type Harness } from '../support/harness';
import { until } from '../support/until';
import { licenseProduct, meteringHarness } from '../metering/metering-support';
import type { ManualClock } from '../../src/platform/clock';

const auth = { Authorization: `Bearer ${TEST_API_KEY}` };

/**
 * Cancellation requests and billing adjustments end to end (facts §5.6): the seller acts through
 * the real Agreement API client, the buyer approves through it too (the simulator's `buyer-<account>`
 * key), AWS's EventBridge events come through the simulator's SQS queue to the real consumer, and
 * the final usage is billed by BatchMeterUsage, once.
 */
describe('cancellation request and billing adjustment through the simulator', () => {
  let h: Harness & { clock: ManualClock };
  let consumer: NotificationQueueConsumer;
  const client = (accessKeyId: string) =>
    new MarketplaceAgreementClient({
      endpoint: h.sim.url,
      region: 'us-east-1',
      credentials: { accessKeyId, secretAccessKey: 'test' },
      maxAttempts: 1,
    });

  beforeEach(async () => {
    h = await meteringHarness({
      env: { METERING_FINAL_FLUSH_DELAY_MINUTES: '0' },
      simulator: { unsubscribeDelayMs: 400, billingAdjustmentDelayMs: 50 },
    });
    consumer = startQueueConsumer(h, 'marketplace-eventbridge');
  });
  afterEach(async () => {
    await consumer.stop();
    await h.close();
  });

  it('a refund shows on the customer; an approved request flushes the final usage once, then the licence ends', async () => {
    const sub = await h.sim.subscribe({
      productCode: licenseProduct.code,
      confirmation: 'manual',
      entitlements: [{ dimension: 'seats', integerValue: 5 }],
    });
    await h.sim.confirm(sub.id);
    await h.sim.flushNotifications();
    const find = () => h.container.customers.findByIdentity({ licenseArn: sub.licenseArn });
    const c = await until('active', async () => {
      const found = await find();
      return found?.subscription.status === 'active' && found.agreementId === sub.agreementId ? found : undefined;
    });

    const used = await request(h.app)
      .post('/v1/usage')
      .set(auth)
      .send({
        records: [{ customer: c.id, dimension: 'gb', quantity: 7, timestamp: h.clock.now().toISOString(), idempotencyKey: 'gb-final' }],
      });
    expect(used.body.accepted).toBe(1);

    // The seller refunds part of the charge: AWS completes it and tells the seller.
    const seller = client('seller');
    const refund = await seller.send(
      new BatchCreateBillingAdjustmentRequestCommand({
        billingAdjustmentRequestEntries: [
          {
            agreementId: sub.agreementId,
            originalInvoiceId: 'inv-1',
            adjustmentAmount: '25.00',
            currencyCode: 'USD',
            adjustmentReasonCode: 'INCORRECT_TERMS_ACCEPTED',
            clientToken: 'refund-1',
          },
        ],
      }),
    );
    expect(refund.errors).toEqual([]);
    const refundId = refund.items![0]!.billingAdjustmentRequestId!;
    const withRefund = await until('refund recorded', async () => {
      const res = await request(h.app).get(`/v1/customers/${c.id}`).set(auth);
      return res.body.billingAdjustments?.length === 1 ? res.body : undefined;
    });
    expect(withRefund.billingAdjustments).toEqual([
      expect.objectContaining({ id: refundId, agreementId: sub.agreementId, amount: '-25.00', currencyCode: 'USD' }),
    ]);
    expect(withRefund.status).toBe('active');

    // The seller asks to cancel; the buyer approves.
    const sent = await seller.send(
      new SendAgreementCancellationRequestCommand({
        agreementId: sub.agreementId,
        reasonCode: 'INCORRECT_TERMS_ACCEPTED',
        description: 'wrong rate',
      }),
    );
    const ids = { agreementId: sub.agreementId, agreementCancellationRequestId: sent.agreementCancellationRequestId! };
    await until('request recorded', async () => {
      const res = await request(h.app).get(`/v1/customers/${c.id}`).set(auth);
      return res.body.cancellationRequests?.[0]?.status === 'PENDING_APPROVAL';
    });
    expect(h.sim.billed({ productCode: licenseProduct.code }).filter((b) => b.dimension === 'gb')).toEqual([]);
    await client(`buyer-${sub.customerAWSAccountId}`).send(new AcceptAgreementCancellationRequestCommand(ids));

    // Approved, then Purchase Agreement Ended (CANCELLED): one final window.
    await until('final window open', async () => (await find())?.subscription.status === 'unsubscribe_pending');
    // At the approval's own time here (the simulator's clock does not move): the same window
    // signal again, recorded and changing nothing.
    const endedEvent = await until('ended event handled', async () =>
      (await h.container.events.list({ customerId: c.id })).find((e) => e.kind === 'agreement-ended'),
    );
    expect(endedEvent.outcome).toMatch(/^(applied|ignored)$/);
    await h.container.emitter.runOnce();
    const gb = () => h.sim.billed({ productCode: licenseProduct.code }).filter((b) => b.dimension === 'gb' && b.quantity > 0);
    // The current hour is flushed at once (design §3.5), with the licence identity.
    expect(gb()).toEqual([expect.objectContaining({ quantity: 7, licenseArn: sub.licenseArn })]);

    // The licence is deprovisioned an hour later in AWS's terms (here: unsubscribeDelayMs).
    await until('ended', async () => (await find())?.subscription.status === 'unsubscribed', { timeoutMs: 8000 });
    await h.container.emitter.runOnce();
    expect(gb()).toHaveLength(1);

    const res = await request(h.app).get(`/v1/customers/${c.id}`).set(auth);
    expect(res.body.cancellationRequests).toEqual([
      expect.objectContaining({ id: ids.agreementCancellationRequestId, status: 'APPROVED', reasonCode: 'INCORRECT_TERMS_ACCEPTED' }),
    ]);
    const hooks = (
      await h.db.store.db.selectFrom('webhook_events').select('type').where('customer_id', '=', c.id).orderBy('seq').execute()
    ).map((r) => r.type);
    expect(hooks.filter((x) => x !== 'customer.entitlements_changed')).toEqual([
      'customer.activated',
      'agreement.billing_adjusted',
      'agreement.cancellation_requested',
      'agreement.cancellation_approved',
      'customer.ending',
      'customer.ended',
    ]);
  });
});
