import type { SimBillingAdjustment, SimCancellationRequest, SimProduct, SimSubscription } from '../types';
import { html, type Raw } from './html';

const post = (action: string, label: string, fields: Raw | string = ''): Raw =>
  html`<form method="post" action="${action}">${fields}<button type="submit">${label}</button></form>`;

const iso = (ms: number): string => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

/** The simulator clock and its "Advance one hour" button. */
export function clockPanel(now: number): Raw {
  return html`<p>
    Simulator clock: <strong id="simulator-clock">${iso(now)}</strong>
    ${post('/simulator/ui/clock/advance', 'Advance one hour')}
  </p>`;
}

/** Agreement actions of one subscription row: concurrent purchase, renew, replace, cancellation request, refund. */
export function agreementActions(s: SimSubscription, product: SimProduct | undefined): Raw[] {
  const base = `/simulator/ui/subscriptions/${encodeURIComponent(s.id)}`;
  const out: Raw[] = [];
  const live = s.status === 'active' || s.status === 'pending';
  if (product?.identity === 'license') {
    out.push(post(`${base}/subscribe-again`, 'Subscribe again (same account)'));
    if (s.status === 'active') out.push(post(`${base}/renew`, 'Renew'), post(`${base}/replace`, 'Replace'));
  }
  if (live)
    out.push(post(`${base}/cancellation-requests`, 'Request cancellation', html`<input type="hidden" name="reasonCode" value="OTHER" />`));
  if (s.status === 'active' || s.status === 'unsubscribe-pending' || s.status === 'unsubscribed') {
    out.push(
      post(
        `${base}/billing-adjustments`,
        'Issue a refund',
        html`<input name="amount" value="10.00" size="6" aria-label="refund amount (USD)" /> `,
      ),
    );
  }
  return out;
}

/** Cancellation requests, with the buyer's and the seller's answers for pending ones. */
export function cancellationTable(requests: SimCancellationRequest[]): Raw {
  const rows = requests.map((r) => {
    const base = `/simulator/ui/cancellation-requests/${encodeURIComponent(r.id)}`;
    const actions =
      r.status === 'PENDING_APPROVAL'
        ? [post(`${base}/approve`, 'Buyer approves'), post(`${base}/reject`, 'Buyer rejects'), post(`${base}/withdraw`, 'Seller withdraws')]
        : [];
    return html`<tr>
      <td><code>${r.id}</code></td>
      <td><code>${r.agreementId}</code></td>
      <td>${r.reasonCode}</td>
      <td>${r.status}${r.statusMessage ? ` (${r.statusMessage})` : ''}</td>
      <td>${r.status === 'PENDING_APPROVAL' ? iso(r.autoApproveAt) : ''}</td>
      <td>${actions}</td>
    </tr>`;
  });
  return html`<h2>Cancellation requests</h2>
    <table>
      <tr>
        <th>Request</th>
        <th>Agreement</th>
        <th>Reason</th>
        <th>Status</th>
        <th>Auto-approved at</th>
        <th>Actions</th>
      </tr>
      ${rows}
    </table>`;
}

/** Billing adjustments (refunds). */
export function adjustmentTable(adjustments: SimBillingAdjustment[]): Raw {
  const rows = adjustments.map(
    (a) =>
      html`<tr>
        <td><code>${a.id}</code></td>
        <td><code>${a.agreementId}</code></td>
        <td>${a.adjustmentAmount} ${a.currencyCode}</td>
        <td>${a.adjustmentReasonCode}</td>
        <td>${a.status}</td>
      </tr>`,
  );
  return html`<h2>Billing adjustments</h2>
    <table>
      <tr>
        <th>Request</th>
        <th>Agreement</th>
        <th>Amount</th>
        <th>Reason</th>
        <th>Status</th>
      </tr>
      ${rows}
    </table>`;
}
