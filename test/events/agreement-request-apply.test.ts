import type { AgreementRequestRepository } from '../../src/customers/agreement-requests.repository';
import { applyAgreementRequest } from '../../src/events/agreement-request-apply';
import type { MarketplaceEvent } from '../../src/events/marketplace-event';
import type { Tx } from '../../src/store/schema';

/**
 * What a cancellation-request or billing-adjustment event becomes, given what the repository
 * answers: applied (with a webhook), details filled in, already recorded, stale, or rejected when
 * the event lacks its request. The repository's own merging is tested against both engines in
 * test/events/event-processor-cancellations.test.ts.
 */
const tx = {} as Tx;
const now = new Date('2026-12-01T10:00:00Z');
const eventTime = new Date('2026-12-01T09:59:00Z');

function repository(answer: { changed: boolean; notified: boolean }) {
  const calls: Array<{ kind: string; customerId: string; seen: Record<string, unknown> }> = [];
  const repo = {
    recordBillingAdjustment: async (_tx: Tx, customerId: string, seen: Record<string, unknown>) => {
      calls.push({ kind: 'billing', customerId, seen });
      return answer;
    },
    recordCancellation: async (_tx: Tx, customerId: string, seen: Record<string, unknown>) => {
      calls.push({ kind: 'cancellation', customerId, seen });
      return answer;
    },
  } as unknown as AgreementRequestRepository;
  return { repo, calls };
}

const event = (over: Partial<MarketplaceEvent>) => ({ eventTime, payload: {}, ...over }) as MarketplaceEvent;

describe('applying a cancellation request or billing adjustment', () => {
  it('records a refund with what it carries and nulls for what it lacks; a second copy is ignored', async () => {
    const fresh = repository({ changed: true, notified: true });
    const full = event({
      agreementId: 'agmt-1',
      billingAdjustment: { id: 'ba-1', amount: '-100.00', currencyCode: 'USD', reasonCode: 'OTHER', originalInvoiceId: 'inv-1' },
    });
    expect(await applyAgreementRequest(fresh.repo, tx, 'c-1', full, now)).toEqual({ outcome: 'applied' });
    expect(fresh.calls[0]).toEqual({
      kind: 'billing',
      customerId: 'c-1',
      seen: {
        id: 'ba-1',
        agreementId: 'agmt-1',
        amount: '-100.00',
        currencyCode: 'USD',
        reasonCode: 'OTHER',
        originalInvoiceId: 'inv-1',
        completedAt: eventTime,
      },
    });
    const again = repository({ changed: false, notified: false });
    const bare = event({ billingAdjustment: { id: 'ba-2', amount: '-5.00' } });
    expect(await applyAgreementRequest(again.repo, tx, 'c-1', bare, now)).toEqual({
      outcome: 'ignored',
      reason: 'billing adjustment ba-2 is already recorded',
    });
    expect(again.calls[0]!.seen).toMatchObject({ agreementId: '', currencyCode: null, reasonCode: null, originalInvoiceId: null });
  });

  it('a cancellation event is applied when its status is new, filled in when only details are, stale otherwise', async () => {
    const request = {
      id: 'cr-1',
      status: 'APPROVED',
      reasonCode: 'BUYER_REQUEST',
      reasonMessage: 'no longer needed',
      statusMessage: 'approved by the buyer',
      createdAt: new Date('2026-11-30T00:00:00Z'),
    } as NonNullable<MarketplaceEvent['cancellationRequest']>;
    const notified = repository({ changed: true, notified: true });
    expect(
      await applyAgreementRequest(notified.repo, tx, 'c-2', event({ agreementId: 'agmt-2', cancellationRequest: request }), now),
    ).toEqual({
      outcome: 'applied',
    });
    expect(notified.calls[0]!.seen).toEqual({
      id: 'cr-1',
      agreementId: 'agmt-2',
      status: 'APPROVED',
      eventTime,
      reasonCode: 'BUYER_REQUEST',
      reasonMessage: 'no longer needed',
      statusMessage: 'approved by the buyer',
      createdAt: request.createdAt,
    });

    const bareRequest = { id: 'cr-2', status: 'PENDING_APPROVAL' } as NonNullable<MarketplaceEvent['cancellationRequest']>;
    const filled = repository({ changed: true, notified: false });
    expect(await applyAgreementRequest(filled.repo, tx, 'c-2', event({ cancellationRequest: bareRequest }), now)).toEqual({
      outcome: 'applied',
      reason: 'details of cancellation request cr-2 filled in; its status stays',
    });
    expect(Object.keys(filled.calls[0]!.seen).sort()).toEqual(['agreementId', 'eventTime', 'id', 'status']);

    const stale = repository({ changed: false, notified: false });
    expect(await applyAgreementRequest(stale.repo, tx, 'c-2', event({ cancellationRequest: bareRequest }), now)).toEqual({
      outcome: 'stale',
      reason: 'cancellation request cr-2 already has a status that this PENDING_APPROVAL event does not replace',
    });
  });

  it('refuses a cancellation event without its request, writing nothing', async () => {
    const r = repository({ changed: true, notified: true });
    expect(await applyAgreementRequest(r.repo, tx, 'c-3', event({ agreementId: 'agmt-3' }), now)).toEqual({
      outcome: 'rejected',
      reason: 'a cancellation event without its request',
    });
    expect(r.calls).toEqual([]);
  });
});
