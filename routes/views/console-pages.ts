import type { CustomerListItem } from '../../src/console/console.repository';
import type { CustomerPage, Overview, ProblemItem } from '../../src/console/console.service';
import type { ConsoleEvent } from '../../src/console/console.repository';
import { html, type SafeHtml } from './html';
import { consoleLayout, stateBadge, table, utc, type ConsoleFrame } from './console-layout';

export function renderLogin(frame: ConsoleFrame, opts: { error?: string; passwordEnabled: boolean; demoKey?: string }): string {
  return consoleLayout(
    frame,
    'Sign in',
    html`<div class="login card">
<h1>Sign in to the console</h1>
${opts.error ? html`<p class="error" role="alert">${opts.error}</p>` : ''}
${
  opts.passwordEnabled
    ? html`<form method="post" action="/admin/login">
<input type="hidden" name="csrf" value="${frame.csrf}">
<label for="password">Admin password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required>
<p><button class="primary" type="submit">Sign in</button></p>
</form>`
    : ''
}
<form method="post" action="/admin/login">
<input type="hidden" name="csrf" value="${frame.csrf}">
<label for="apiKey">API key with the <code>admin</code> scope</label>
<input id="apiKey" name="apiKey" type="password" autocomplete="off" required>
<p><button${opts.passwordEnabled ? '' : html` class="primary"`} type="submit">Sign in with an API key</button></p>
</form>
${opts.demoKey ? html`<p class="notice">Local demo: sign in with the API key <code>${opts.demoKey}</code>.</p>` : ''}
</div>`,
  );
}

export function renderOverview(frame: ConsoleFrame, o: Overview): string {
  const products = [...new Set(o.customers.map((c) => c.productCode))].sort();
  const states = ['pending', 'active', 'unsubscribe_pending', 'unsubscribed', 'failed'];
  const problemTotal = Object.values(o.problems).reduce((a, b) => a + b, 0);
  return consoleLayout(
    frame,
    'Overview',
    html`<h1>Overview</h1>
<div class="cards">
<div class="card"><div>Customers</div><div class="big">${o.customers.reduce((a, c) => a + c.count, 0)}</div></div>
<div class="card"><div>Open problems</div><div class="big"><a href="/admin/problems">${problemTotal}</a></div>
<div>${Object.entries(o.problems)
      .filter(([, n]) => n > 0)
      .map(([s, n]) => html`${stateBadge(s)} ${n} `)}</div></div>
<div class="card"><div>Notifications to look at</div><div class="big"><a href="/admin/notifications">${o.openNotifications}</a></div></div>
</div>
<section><h2>Customers by state</h2>
${table(
  ['Product', ...states.map((s) => s.replace('_', ' '))],
  products.map(
    (p) =>
      html`<tr><td><a href="/admin/customers?product=${encodeURIComponent(p)}">${p}</a></td>${states.map(
        (s) => html`<td class="num">${o.customers.find((c) => c.productCode === p && c.status === s)?.count ?? 0}</td>`,
      )}</tr>`,
  ),
  'No customers yet. A buyer appears here after subscribing on AWS Marketplace (or on the simulator).',
  [1, 2, 3, 4, 5],
)}</section>
<section><h2>Units billed per hour, last 48 hours (UTC)</h2>${billedChart(o.billed)}</section>
<section><h2>Notification queues</h2>
${table(
  ['Queue', 'Last message (this instance)', 'Last rejected'],
  o.queues.map(
    (q) =>
      html`<tr><td>${q.name}</td><td>${when(q.lastReceivedAt, 'none since start')}</td><td>${when(q.lastRejectedAt, 'never')}</td></tr>`,
  ),
  'No notification queue is configured: subscription changes are not received.',
)}
<h2>Last notification stored, by envelope</h2>
${table(
  ['Envelope', 'Last stored'],
  o.envelopes.map((e) => html`<tr><td>${e.label}</td><td>${when(e.lastStoredAt, 'never')}</td></tr>`),
  '',
)}</section>`,
  );
}

function when(d: Date | null, none: string): SafeHtml {
  return d ? html`${utc(d)}` : html`<span class="empty">${none}</span>`;
}

/** Inline SVG bar chart (no script): one bar per hour, the peak labelled. */
function billedChart(points: Overview['billed']): SafeHtml {
  const max = Math.max(0, ...points.map((p) => p.units));
  if (max === 0) return html`<p class="empty">Nothing billed in the last 48 hours.</p>`;
  const w = 480;
  const h = 140;
  const bw = w / points.length;
  return html`<svg class="chart" viewBox="0 0 ${w} ${h + 20}" role="img" aria-label="Units billed per hour, peak ${max}">
<title>Units billed per hour, last 48 hours (peak ${max})</title>
${points.map((p, i) => {
  const bh = p.units === 0 ? 0 : Math.max(1, (p.units / max) * h);
  return html`<rect class="bar" x="${(i * bw + 0.5).toFixed(1)}" y="${(h - bh).toFixed(1)}" width="${(bw - 1).toFixed(1)}" height="${bh.toFixed(1)}"><title>${utc(p.hour)}: ${p.units}</title></rect>`;
})}
<text x="0" y="${h + 14}">${utc(points[0]?.hour)}</text><text x="${w}" y="${h + 14}" text-anchor="end">${utc(points[points.length - 1]?.hour)}</text>
<text x="2" y="10">peak ${max}</text>
</svg>`;
}

export interface CustomerFilters {
  readonly q?: string | undefined;
  readonly product?: string | undefined;
  readonly status?: string | undefined;
}

export function renderCustomers(
  frame: ConsoleFrame,
  rows: readonly CustomerListItem[],
  filters: CustomerFilters,
  products: readonly string[],
  nextHref: string | null,
): string {
  const states = ['pending', 'active', 'unsubscribe_pending', 'unsubscribed', 'failed'];
  return consoleLayout(
    frame,
    'Customers',
    html`<h1>Customers</h1>
<section><form class="filters" method="get" action="/admin/customers">
<div><label for="q">Search</label><input id="q" name="q" value="${filters.q ?? ''}" placeholder="id, account, LicenseArn, CustomerIdentifier, e-mail, external id" size="40"></div>
<div><label for="product">Product</label><select id="product" name="product"><option value="">all</option>${products.map(
      (p) => html`<option value="${p}"${p === filters.product ? html` selected` : ''}>${p}</option>`,
    )}</select></div>
<div><label for="status">State</label><select id="status" name="status"><option value="">all</option>${states.map(
      (s) => html`<option value="${s}"${s === filters.status ? html` selected` : ''}>${s.replace('_', ' ')}</option>`,
    )}</select></div>
<div><button type="submit">Search</button></div>
</form></section>
<section>
${table(
  ['Customer', 'Product', 'State', 'AWS identity', 'E-mail', 'External id', 'Created'],
  rows.map(
    (c) =>
      html`<tr><td><a href="/admin/customers/${c.id}" class="mono">${c.id}</a></td><td>${c.productCode}</td><td>${stateBadge(c.status)}</td>
<td class="mono">${c.customerAWSAccountId ?? ''}${c.licenseArn ? html`<br>${c.licenseArn}` : ''}${c.customerIdentifier ? html`<br>${c.customerIdentifier}` : ''}</td>
<td>${c.email ?? ''}</td><td>${c.externalId ?? ''}</td><td>${utc(c.createdAt)}</td></tr>`,
  ),
  filters.q || filters.product || filters.status ? 'No customer matches these filters.' : 'No customers yet.',
)}
${nextHref ? html`<p><a href="${nextHref}">Next page →</a></p>` : ''}
</section>`,
  );
}

export function renderCustomer(frame: ConsoleFrame, p: CustomerPage, now: Date): string {
  const c = p.customer;
  const fact = (label: string, value: unknown) =>
    html`<dt>${label}</dt><dd>${value === null || value === undefined || value === '' ? '—' : value}</dd>`;
  return consoleLayout(
    frame,
    `Customer ${c.id}`,
    html`<h1>Customer <span class="mono">${c.id}</span> ${stateBadge(c.subscription.status)}${
      p.contractEnding ? html` <span class="state state-ending">contract ending soon</span>` : ''
    }</h1>
<section><h2>Identity</h2><dl class="facts">
${fact('Product', c.productCode)}${fact('AWS account', c.customerAWSAccountId)}${fact('LicenseArn', c.licenseArn)}
${fact('CustomerIdentifier', c.customerIdentifier)}${fact('External id', c.externalId)}${fact('Created', utc(c.createdAt))}
</dl></section>
<section><h2>Contract</h2><dl class="facts">
${fact('Agreement', c.agreementId)}${fact('Agreement status', c.agreementStatus)}${fact('Offer', c.offerId)}${fact('Free trial', c.freeTrial ? 'yes' : 'no')}
${fact('Entitlements read', utc(c.entitlementsFetchedAt))}
${p.contractEnding ? fact('Agreement ends', `${utc(p.contractEnding.endTime)} (in ${p.contractEnding.daysLeft} day${p.contractEnding.daysLeft === 1 ? '' : 's'}, not renewed automatically)`) : ''}
</dl>
${table(
  ['Dimension', 'Value', 'Expires'],
  p.entitlements.map(
    (e) =>
      html`<tr><td>${e.dimension}</td><td>${e.value.type === 'none' ? '—' : String(e.value.value)}</td><td>${e.expirationDate ? html`${utc(e.expirationDate)}${e.expirationDate.getTime() <= now.getTime() ? html` <span class="state state-expired">expired</span>` : ''}` : 'open-ended'}</td></tr>`,
  ),
  'No entitlements (a subscription product, or none read yet).',
)}</section>
<section><h2>Cancellation requests and billing adjustments</h2>
${table(
  ['Requested', 'Status', 'Status since', 'Reason', 'Agreement'],
  p.cancellationRequests.map(
    (r) =>
      html`<tr><td>${r.requestedAt ? utc(r.requestedAt) : '—'}</td><td>${stateBadge(r.status.toLowerCase())}</td><td>${utc(r.statusAt)}</td><td>${r.reasonCode ?? ''}${r.reasonMessage ? html`<br><small>${r.reasonMessage}</small>` : ''}${r.statusMessage ? html`<br><small>${r.statusMessage}</small>` : ''}</td><td class="mono">${r.agreementId}</td></tr>`,
  ),
  'No cancellation requests.',
)}
${table(
  ['Completed', 'Amount', 'Currency', 'Reason', 'Original invoice'],
  p.billingAdjustments.map(
    (a) =>
      html`<tr><td>${utc(a.completedAt)}</td><td class="num">${a.amount}</td><td>${a.currencyCode ?? ''}</td><td>${a.reasonCode ?? ''}</td><td class="mono">${a.originalInvoiceId ?? ''}</td></tr>`,
  ),
  'No billing adjustments.',
  [1],
)}</section>
<section><h2>Onboarding</h2><dl class="facts">
${fact('E-mail', c.onboarding.email)}${fact('Company', c.onboarding.company)}${fact('Contact', c.onboarding.contactName)}
${fact('Registered', utc(c.registeredAt))}${fact('Onboarded', utc(c.onboarding.onboardedAt))}${c.personalDataErasedAt ? fact('Personal data erased', utc(c.personalDataErasedAt)) : ''}
</dl></section>
<section><h2>Metering, last 48 hours</h2>
${table(
  ['Hour (UTC)', 'Dimension', 'Raw usage', 'Included', 'Billed', 'State', 'AWS MeteringRecordId'],
  p.grid.map(
    (g) =>
      html`<tr><td>${utc(g.hour)}</td><td>${g.dimension}</td><td class="num">${g.rawUsage}</td><td class="num">${g.billed === null ? '—' : Math.max(0, g.rawUsage - g.billed)}</td>
<td class="num">${g.billed ?? '—'}</td><td>${stateBadge(g.state)}${g.lastError ? html`<br><small>${g.lastError}</small>` : ''}${g.holdReason ? html`<br><small>${g.holdReason}</small>` : ''}</td><td class="mono">${g.meteringRecordId ?? ''}</td></tr>`,
  ),
  'No usage in the last 48 hours.',
  [2, 3, 4],
)}</section>
<section><h2>Notifications</h2>
${table(
  ['Event time', 'Received', 'Kind', 'Source', 'Outcome', 'Reason'],
  p.events.map(
    (e) =>
      html`<tr><td>${utc(e.eventTime)}</td><td>${utc(e.receivedAt)}</td><td>${e.kind ?? ''}</td><td>${e.channel}</td><td>${stateBadge(e.outcome)}</td><td>${e.reason ?? ''}</td></tr>`,
  ),
  'No notification names this customer yet.',
)}</section>
<section><h2>Webhook deliveries</h2>
${table(
  ['Created', 'Event', 'Endpoint', 'Status', 'Attempts', 'Last answer'],
  p.deliveries.map(
    (d) =>
      html`<tr><td>${utc(d.createdAt)}</td><td>${d.eventType}</td><td class="mono">${d.endpointId}</td><td>${stateBadge(d.status)}</td><td class="num">${d.attempts}</td><td>${d.lastStatusCode ?? ''} ${d.lastError ?? ''}</td></tr>`,
  ),
  'No webhook deliveries for this customer.',
)}</section>`,
  );
}

export function renderProblems(frame: ConsoleFrame, items: readonly ProblemItem[], state: string | undefined, notice?: string): string {
  const states = ['expired', 'duplicate', 'not_subscribed', 'failed', 'held'];
  return consoleLayout(
    frame,
    'Problems',
    html`<h1>Problems</h1>
${notice ? html`<p class="notice" role="status">${notice}</p>` : ''}
<section><form class="filters" method="get" action="/admin/problems"><div><label for="state">State</label><select id="state" name="state"><option value="">all</option>${states.map(
      (s) => html`<option value="${s}"${s === state ? html` selected` : ''}>${s.replace('_', ' ')}</option>`,
    )}</select></div><div><button type="submit">Show</button></div></form></section>
${
  items.length === 0
    ? html`<section><p class="empty">No metering record needs attention${state ? html` in the state ${state.replace('_', ' ')}` : ''}.</p></section>`
    : items.map(
        (it, i) => html`<section class="problem">
<h2>${stateBadge(it.record.state)} ${it.record.dimension} · ${utc(it.record.hour)} · <a href="/admin/customers/${it.record.customerId}" class="mono">${it.record.customerId}</a></h2>
<p>${it.record.lastError ?? it.record.holdReason ?? ''}</p>
<pre class="report" id="report-${i}">${it.report}</pre>
<button type="button" data-copy="report-${i}">Copy support report</button>
${
  it.retryable
    ? html`<form method="post" action="/admin/problems/${it.record.id}/retry" data-confirm="Send this record to AWS again, unchanged?"><input type="hidden" name="csrf" value="${frame.csrf}"><button class="primary" type="submit">Retry</button></form>`
    : html`<p><small>${it.record.state === 'held' ? 'Held records are completed and sent automatically once what they wait for is known.' : it.record.state === 'failed' || it.record.state === 'not_subscribed' ? `Past the AWS window (closed ${utc(it.deadline)}): AWS would refuse it.` : 'AWS settled this record; it cannot be sent again.'}</small></p>`
}
</section>`,
      )
}`,
  );
}

export function renderNotifications(
  frame: ConsoleFrame,
  events: readonly ConsoleEvent[],
  outcome: string | undefined,
  notice?: string,
): string {
  return consoleLayout(
    frame,
    'Notifications',
    html`<h1>Notifications</h1>
${notice ? html`<p class="notice" role="status">${notice}</p>` : ''}
<section><form class="filters" method="get" action="/admin/notifications"><div><label for="outcome">Outcome</label><select id="outcome" name="outcome"><option value="">rejected and unmatched</option>${[
      'rejected',
      'unmatched',
    ].map(
      (s) => html`<option value="${s}"${s === outcome ? html` selected` : ''}>${s}</option>`,
    )}</select></div><div><button type="submit">Show</button></div></form></section>
<section>${table(
      ['Received', 'Source', 'Kind', 'Outcome', 'Reason', ''],
      events.map(
        (e) =>
          html`<tr><td>${utc(e.receivedAt)}</td><td>${e.channel}</td><td>${e.kind ?? ''}</td><td>${stateBadge(e.outcome)}</td><td>${e.reason ?? ''}<br><small class="mono">${e.dedupeKey}</small></td>
<td>${e.outcome === 'rejected' ? html`<form method="post" action="/admin/notifications/${e.id}/replay"><input type="hidden" name="csrf" value="${frame.csrf}"><button type="submit">Replay</button></form>` : html`<small>waits for its customer</small>`}</td></tr>`,
      ),
      'No rejected or unmatched notifications.',
    )}</section>`,
  );
}
