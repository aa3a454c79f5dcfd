import { parseQueueMessage } from '../../src/events/envelope';
import type { MarketplaceEvent, ParseResult } from '../../src/events/marketplace-event';
import { fixtureJson, fixtureText } from './fixture-loader';

const meta = { messageId: 'sqs-1' };
const AGMT = 'agmt-1a2b3c4d5e6f7g8h9i0jklmno';
const APPROVED = 'eb-cancellation-approved-proposer.json';
const REFUND = 'eb-billing-adjustment-completed-proposer.json';

function ok(r: ParseResult): MarketplaceEvent {
  if (!r.ok) throw new Error(`expected ok, got: ${r.reason}`);
  return r.event;
}
const parse = (file: string, change: (e: Record<string, unknown>, detail: Record<string, Record<string, unknown>>) => void = () => {}) => {
  const e = fixtureJson(file);
  change(e, e['detail'] as Record<string, Record<string, unknown>>);
  return parseQueueMessage(JSON.stringify(e), meta);
};
const reasonOf = (r: ParseResult): string => (r.ok ? `ok ${r.event.kind}` : r.reason);

describe('cancellation-request and billing-adjustment EventBridge events (facts §5.6)', () => {
  it('an approved cancellation request: its agreement, the request, no product, no licence', () => {
    const e = ok(parseQueueMessage(fixtureText(APPROVED), meta));
    expect(e).toMatchObject({ kind: 'cancellation-approved', channel: 'eventbridge', agreementId: AGMT });
    expect(e.productCode).toBeUndefined();
    expect(e.licenseArn).toBeUndefined();
    expect(e.cancellationRequest).toEqual({
      id: 'acr-0a1b2c3d4e5f6g7h8i9j',
      status: 'APPROVED',
      reasonCode: 'INCORRECT_TERMS_ACCEPTED',
      reasonMessage: 'The buyer accepted the wrong rate card',
      createdAt: new Date('2026-11-22T09:15:00Z'),
    });
    expect(e.eventTime).toEqual(new Date('2026-11-29T09:15:00Z'));
  });

  it.each([
    ['Agreement Cancellation Request Pending Approval', 'PENDING_APPROVAL', 'cancellation-requested'],
    ['Agreement Cancellation Request Approved', 'APPROVED', 'cancellation-approved'],
    ['Agreement Cancellation Request Rejected', 'REJECTED', 'cancellation-rejected'],
    ['Agreement Cancellation Request Cancelled', 'CANCELLED', 'cancellation-withdrawn'],
  ])('%s → %s (%s), for the Proposer and the Manufacturer alike', (stem, status, kind) => {
    for (const role of ['Proposer', 'Manufacturer']) {
      const e = ok(
        parse(APPROVED, (ev, d) => {
          ev['detail-type'] = `${stem} - ${role}`;
          d['agreementCancellationRequest']!['statusCode'] = status;
        }),
      );
      expect(e.kind).toBe(kind);
      expect(e.cancellationRequest?.status).toBe(status);
      // Both copies of one event share the secondary key (facts §5.4: dedupe on the stem and requestId).
      expect(e.secondaryDedupeKey).toBe(`eb:${stem}:7e6d5c4b-3a29-4180-9f8e-7d6c5b4a3928`);
    }
  });

  it('a status code absent from the body is taken from the detail-type', () => {
    const e = ok(parse(APPROVED, (_e, d) => delete d['agreementCancellationRequest']!['statusCode']));
    expect(e.cancellationRequest?.status).toBe('APPROVED');
  });

  it('a completed billing adjustment: amount as text, currency, reason and invoice', () => {
    const e = ok(parseQueueMessage(fixtureText(REFUND), meta));
    expect(e).toMatchObject({ kind: 'billing-adjusted', agreementId: AGMT });
    expect(e.billingAdjustment).toEqual({
      id: 'ba-0z9y8x7w6v5u4t3s2r1q',
      amount: '-100.00',
      currencyCode: 'USD',
      reasonCode: 'INCORRECT_TERMS_ACCEPTED',
      originalInvoiceId: 'inv-0123456789',
    });
  });

  it.each<[string, string, (e: Record<string, unknown>, d: Record<string, Record<string, unknown>>) => void, RegExp]>([
    ['no request object', APPROVED, (_e, d) => delete d['agreementCancellationRequest'], /no detail\.agreementCancellationRequest/],
    [
      'a request object that is an array',
      APPROVED,
      (_e, d) => (d['agreementCancellationRequest'] = [] as never),
      /no detail\.agreementCancellationRequest/,
    ],
    ['no request id', APPROVED, (_e, d) => delete d['agreementCancellationRequest']!['id'], /agreementCancellationRequest\.id/],
    [
      'a request id with spaces',
      APPROVED,
      (_e, d) => (d['agreementCancellationRequest']!['id'] = 'acr 1'),
      /agreementCancellationRequest\.id/,
    ],
    [
      'a status that contradicts the detail-type',
      APPROVED,
      (_e, d) => (d['agreementCancellationRequest']!['statusCode'] = 'REJECTED'),
      /contradicts/,
    ],
    ['no agreement id', APPROVED, (_e, d) => delete d['agreement']!['id'], /lacks detail\.agreement\.id/],
    ['a malformed agreement id', APPROVED, (_e, d) => (d['agreement']!['id'] = 'agmt-1\u0000'), /agreement\.id is malformed/],
    ['the buyer copy', APPROVED, (e) => (e['detail-type'] = 'Agreement Cancellation Request Approved - Acceptor'), /Acceptor/],
    [
      'a validation failure (not handled)',
      APPROVED,
      (e) => (e['detail-type'] = 'Agreement Cancellation Request Validation Failed - Proposer'),
      /unsupported/,
    ],
    ['no adjustment object', REFUND, (_e, d) => delete d['billingAdjustmentRequest'], /no detail\.billingAdjustmentRequest/],
    ['no adjustment id', REFUND, (_e, d) => delete d['billingAdjustmentRequest']!['id'], /billingAdjustmentRequest\.id/],
    ['an amount as a number', REFUND, (_e, d) => (d['billingAdjustmentRequest']!['adjustmentAmount'] = -100), /adjustmentAmount/],
    ['an amount in exponent form', REFUND, (_e, d) => (d['billingAdjustmentRequest']!['adjustmentAmount'] = '1e9'), /adjustmentAmount/],
    ['no amount', REFUND, (_e, d) => delete d['billingAdjustmentRequest']!['adjustmentAmount'], /adjustmentAmount/],
    ['a currency that is no ISO code', REFUND, (_e, d) => (d['billingAdjustmentRequest']!['currencyCode'] = 'dollars'), /currencyCode/],
  ])('rejects %s with a reason', (_name, file, change, reason) => {
    const r = parse(file, change);
    expect(r.ok).toBe(false);
    expect(reasonOf(r)).toMatch(reason);
    // Garbage keeps its message id so that it is recorded (and acknowledged) once.
    if (!r.ok) expect(r.dedupeKey).toBe(fixtureJson(file)['id']);
  });
});
