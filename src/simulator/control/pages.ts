import type { BilledRecord, SimBillingAdjustment, SimCancellationRequest, SimProduct, SimSubscription } from '../types';
import { adjustmentTable, agreementActions, cancellationTable, clockPanel } from './agreement-pages';
import { html, page, type Raw } from './html';

const button = (action: string, label: string, hidden: Record<string, string> = {}): Raw =>
  html`<form method="post" action="${action}">
    ${Object.entries(hidden).map(([k, v]) => html`<input type="hidden" name="${k}" value="${v}" />`)}<button type="submit">${label}</button>
  </form>`;

/** Default contract quantity per dimension type, as a buyer choosing a contract would pick one. */
export const DEFAULT_CONTRACT_VALUE: Record<SimProduct['dimensions'][number]['type'], string> = {
  Integer: '10',
  Double: '10',
  Boolean: 'true',
  String: 'standard',
};

/** A contract buyer chooses what to buy: one field per dimension (`entitlement:<name>`). */
function contractForm(p: SimProduct): Raw {
  const fields = p.dimensions.map((d) =>
    d.type === 'Boolean'
      ? html`<label
          >${d.name}
          <select name="entitlement:${d.name}">
            <option value="true">yes</option>
            <option value="false">no</option>
          </select></label
        > `
      : html`<label>${d.name} <input name="entitlement:${d.name}" value="${DEFAULT_CONTRACT_VALUE[d.type]}" size="6" /></label> `,
  );
  return html`<form method="post" action="/simulator/ui/subscribe">
    <input type="hidden" name="productCode" value="${p.productCode}" />${fields}<button type="submit">Subscribe as a new buyer</button>
  </form>`;
}

function subscriptionRow(s: SimSubscription, product: SimProduct | undefined): Raw {
  const base = `/simulator/ui/subscriptions/${encodeURIComponent(s.id)}`;
  const actions: Raw[] = [];
  if (s.status === 'pending') actions.push(button(`${base}/confirm`, 'Confirm now'), button(`${base}/fail-payment`, 'Fail payment'));
  if (s.status === 'active' || s.status === 'pending') actions.push(button(`${base}/cancel`, 'Cancel'));
  if (s.status === 'unsubscribe-pending') actions.push(button(`${base}/end`, 'End now'));
  actions.push(...agreementActions(s, product));
  return html`<tr>
    <td><code>${s.id}</code></td>
    <td>${s.productCode}</td>
    <td>${s.customerIdentifier ?? ''}<br /><code>${s.customerAWSAccountId}</code></td>
    <td><code>${s.licenseArn ?? ''}</code></td>
    <td>
      ${s.status}${s.freeTrial ? ' (free trial)' : ''}<br /><code>${s.agreementId}</code>
      ${s.agreementStatus}${s.intent !== 'NEW' ? ` (${s.intent})` : ''}
    </td>
    <td><a href="${s.buyerPageUrl}">buyer page</a></td>
    <td>${actions}</td>
  </tr>`;
}

/** Sums billed records per customer, dimension and hour for the overview table. */
function billedRows(records: BilledRecord[]): Raw[] {
  const sums = new Map<string, { r: BilledRecord; quantity: number; count: number }>();
  for (const r of records) {
    const customer = r.licenseArn ?? r.customerIdentifier ?? r.customerAWSAccountId ?? '(caller)';
    const key = `${r.productCode}|${customer}|${r.dimension}|${r.hour}`;
    const cur = sums.get(key) ?? { r, quantity: 0, count: 0 };
    cur.quantity += r.quantity;
    cur.count += 1;
    sums.set(key, cur);
  }
  return [...sums.values()].map(
    ({ r, quantity, count }) =>
      html`<tr>
        <td>${r.productCode}</td>
        <td><code>${r.licenseArn ?? r.customerIdentifier ?? r.customerAWSAccountId ?? ''}</code></td>
        <td>${r.dimension}</td>
        <td>${r.hour}</td>
        <td>${quantity}</td>
        <td>${count}</td>
      </tr>`,
  );
}

/** `GET /simulator`: products, subscriptions with actions, and what has been billed. */
export function overviewPage(input: {
  url: string;
  products: SimProduct[];
  subscriptions: SimSubscription[];
  billed: BilledRecord[];
  cancellationRequests: SimCancellationRequest[];
  billingAdjustments: SimBillingAdjustment[];
  now: number;
  queues: Record<string, string>;
  registrationUrl: string;
}): string {
  const productOf = (code: string) => input.products.find((p) => p.productCode === code);
  const products = input.products.map(
    (p) =>
      html`<tr>
        <td><code>${p.productCode}</code></td>
        <td><code>${p.productId}</code></td>
        <td>${p.pricingModel}</td>
        <td>${p.identity}</td>
        <td>${p.notifications}</td>
        <td>${p.dimensions.map((d) => `${d.name} (${d.type})`).join(', ')}</td>
        <td>
          ${p.pricingModel === 'subscription' ? button('/simulator/ui/subscribe', 'Subscribe as a new buyer', { productCode: p.productCode }) : contractForm(p)}
          ${button('/simulator/ui/subscribe', 'Free trial', { productCode: p.productCode, freeTrial: 'true' })}
        </td>
      </tr>`,
  );
  const body = html`<h1>AWS Marketplace simulator</h1>
    <p class="muted">
      Endpoint for every SDK client: <code>${input.url}</code>. Buyer pages POST the registration token to
      <code>${input.registrationUrl}</code>.
    </p>
    ${clockPanel(input.now)}
    <h2>Products</h2>
    <table>
      <tr>
        <th>Product code</th>
        <th>Product id</th>
        <th>Pricing</th>
        <th>Identity</th>
        <th>Notifications</th>
        <th>Dimensions</th>
        <th></th>
      </tr>
      ${products}
    </table>
    <h2>Subscriptions</h2>
    <table>
      <tr>
        <th>Id</th>
        <th>Product</th>
        <th>Customer</th>
        <th>License</th>
        <th>Status</th>
        <th></th>
        <th>Actions</th>
      </tr>
      ${input.subscriptions.map((s) => subscriptionRow(s, productOf(s.productCode)))}
    </table>
    ${cancellationTable(input.cancellationRequests)} ${adjustmentTable(input.billingAdjustments)}
    <h2>Billed</h2>
    <table>
      <tr>
        <th>Product</th>
        <th>Customer</th>
        <th>Dimension</th>
        <th>Hour (UTC)</th>
        <th>Quantity</th>
        <th>Records</th>
      </tr>
      ${billedRows(input.billed)}
    </table>
    <h2>Queues</h2>
    <ul>
      ${Object.entries(input.queues).map(([name, url]) => html`<li>${name}: <code>${url}</code></li>`)}
    </ul>`;
  return page('AWS Marketplace simulator', body);
}

/**
 * `GET /simulator/buyer/:id`: what AWS Marketplace does after "Set up your account": an
 * auto-submitted form POST (`application/x-www-form-urlencoded`) to the fulfillment URL with
 * `x-amzn-marketplace-token`, plus `x-amzn-marketplace-offer-type=free-trial` for free trials (§1.5).
 */
export function buyerPage(input: { registrationUrl: string; token: string; freeTrial: boolean; productCode: string }): string {
  const body = html`<h1>Set up your account</h1>
    <p>Redirecting you to the seller's website for product <code>${input.productCode}</code>…</p>
    <form id="marketplace-redirect" method="POST" action="${input.registrationUrl}" enctype="application/x-www-form-urlencoded">
      <input type="hidden" name="x-amzn-marketplace-token" value="${input.token}" />
      ${input.freeTrial ? html`<input type="hidden" name="x-amzn-marketplace-offer-type" value="free-trial" />` : ''}
      <button type="submit">Set up your account</button>
    </form>
    <script>
      document.getElementById('marketplace-redirect').submit();
    </script>`;
  return page('AWS Marketplace: set up your account', body);
}
