import type { Customer, Entitlement } from '../../src/customers/customer';
import type { ProductConfig } from '../../src/products/product-config';
import { html, raw, type SafeHtml } from './html';
import { layout, type SellerInfo } from './layout';

export interface SignupForm {
  readonly email: string;
  readonly company: string;
  readonly contactName: string;
}

export interface OnboardingView {
  readonly seller: SellerInfo;
  readonly customer: Customer;
  readonly product: ProductConfig | undefined;
  readonly entitlements: readonly Entitlement[];
  readonly contract: boolean;
  readonly formAction: string;
  readonly csrfToken: string;
  readonly values: Partial<SignupForm>;
  readonly errors: Partial<Record<keyof SignupForm, string>>;
  /** Set right after a successful submission. */
  readonly saved: boolean;
  /** False when the seller turned the sign-up form off (ONBOARDING_FORM=false). Default true. */
  readonly formEnabled?: boolean;
  /** Where the "Continue to sign in" button posts (the hand-off), when LOGIN_URL is set. */
  readonly continueAction?: string;
  /** Where the waiting page polls for the status (JSON). */
  readonly statusUrl: string;
  /** The CSP nonce of this response, for the status poller. */
  readonly nonce: string;
}

/** The buyer's subscription status in plain words (seed 6760-6930: buyers must see it). */
export function statusWords(customer: Customer): { css: string; text: string } {
  const trial = customer.freeTrial;
  switch (customer.subscription.status) {
    case 'active':
      return { css: 'active', text: trial ? 'Your free trial is active.' : 'Your subscription is active.' };
    case 'pending':
      return {
        css: 'pending',
        text: trial
          ? 'We are waiting for AWS Marketplace to confirm your free trial. This usually takes a few minutes; this page updates by itself, and you can complete the form below meanwhile.'
          : 'We are waiting for AWS Marketplace to confirm your subscription. This usually takes a few minutes; this page updates by itself, and you can complete the form below meanwhile.',
      };
    case 'failed':
      return {
        css: 'failed',
        text: `AWS Marketplace could not complete your ${trial ? 'free trial' : 'subscription'} (for example, the payment was declined). You have not been charged.`,
      };
    case 'unsubscribe_pending':
      return { css: 'ended', text: `Your ${trial ? 'free trial' : 'subscription'} has been cancelled and is ending now.` };
    case 'unsubscribed':
      return { css: 'ended', text: `Your ${trial ? 'free trial' : 'subscription'} has ended.` };
    default:
      return { css: 'pending', text: 'Your subscription status is being updated.' };
  }
}

/**
 * Why the sign-up form is closed, in words that say what to do, or null while it is open. A
 * cancelled, ended or failed subscription has nothing left to set up here: the way back is AWS
 * Marketplace.
 */
export function lockedReason(customer: Customer, productName: string, seller: SellerInfo): string | null {
  const again = `To use ${productName} again, subscribe on AWS Marketplace (Your Marketplace software, or the product's page), then choose "Set up your account".`;
  const help = `For questions about billing or your data, contact ${seller.name} support at ${seller.supportEmail}.`;
  switch (customer.subscription.status) {
    case 'unsubscribe_pending':
    case 'unsubscribed':
      return `Your account details can no longer be changed here because the subscription has ended. ${again} ${help}`;
    case 'failed':
      return `There is nothing to set up because AWS Marketplace did not complete the subscription. ${again} ${help}`;
    default:
      return null;
  }
}

function entitlementValue(e: Entitlement): string {
  switch (e.value.type) {
    case 'integer':
    case 'double':
      return String(e.value.value);
    case 'boolean':
      return e.value.value ? 'Included' : 'Not included';
    case 'string':
      return e.value.value;
    default:
      return 'Included';
  }
}

function contractTable(view: OnboardingView, ended: boolean): SafeHtml {
  if (!view.contract) return html``;
  if (ended) {
    const at = view.customer.subscription.endedAt ?? view.customer.subscription.finalWindowOpenedAt;
    return html`<h2>Your contract</h2><p>Your contract has ended${at ? html` (${at.toISOString().slice(0, 10)})` : ''}; it no longer grants anything.</p>`;
  }
  if (view.entitlements.length === 0) {
    return html`<h2>Your contract</h2><p>Your contract details are not available yet. They will appear here as soon as AWS Marketplace provides them.</p>`;
  }
  const rows = view.entitlements.map((e) => {
    const label = view.product?.dimensions.find((d) => d.name === e.dimension)?.description ?? e.dimension;
    return html`<tr><td>${label}</td><td>${entitlementValue(e)}</td><td>${e.expirationDate ? e.expirationDate.toISOString().slice(0, 10) : '—'}</td></tr>`;
  });
  return html`<h2>Your contract</h2><table><thead><tr><th>Item</th><th>Quantity</th><th>Valid until</th></tr></thead><tbody>${rows}</tbody></table>`;
}

function field(name: keyof SignupForm, label: string, type: string, autocomplete: string, view: OnboardingView): SafeHtml {
  const value = view.values[name] ?? '';
  const error = view.errors[name];
  const id = `field-${name}`;
  return html`<label for="${id}">${label}</label>
<input id="${id}" name="${name}" type="${type}" autocomplete="${autocomplete}" value="${value}" required maxlength="200"${error ? html` aria-invalid="true" aria-describedby="${id}-error"` : ''}>
${error ? html`<p class="field-error" id="${id}-error">${error}</p>` : ''}`;
}

/**
 * While AWS has not confirmed, the page asks for the status every few seconds (slower and slower,
 * for 15 minutes) and reloads when it changes, unless the buyer is typing in the form; then only the
 * status line changes. An inline script is allowed by this response's CSP nonce only; without
 * scripts, a meta refresh does the same more bluntly.
 */
function statusPoller(view: OnboardingView, initial: string): SafeHtml {
  if (initial !== 'pending') return html``;
  const script = `document.addEventListener('DOMContentLoaded',function(){var box=document.getElementById('subscription-status');if(!box)return;var initial=box.getAttribute('data-status');var dirty=false;var form=document.querySelector('form[data-signup]');if(form)form.addEventListener('input',function(){dirty=true;});var delay=4000,waited=0;function again(){waited+=delay;delay=Math.min(Math.round(delay*1.5),30000);if(waited<900000)setTimeout(poll,delay);}function poll(){fetch(${JSON.stringify(view.statusUrl)},{credentials:'same-origin',headers:{accept:'application/json'}}).then(function(r){return r.ok?r.json():null;}).then(function(s){if(!s){again();return;}if(s.status!==initial){if(!dirty){location.reload();return;}box.className='status status-'+s.css;box.querySelector('[data-status-text]').textContent=s.text;initial=s.status;}if(s.status==='pending')again();}).catch(again);}setTimeout(poll,delay);});`;
  return html`<noscript><meta http-equiv="refresh" content="30"></noscript><script nonce="${view.nonce}">${raw(script)}</script>`;
}

export function renderOnboardingPage(view: OnboardingView): string {
  const status = statusWords(view.customer);
  const productName = view.product?.name ?? view.customer.productCode;
  const done = view.customer.onboarding.onboardedAt !== null;
  const locked = lockedReason(view.customer, productName, view.seller);
  const ended = view.customer.subscription.status === 'unsubscribed' || view.customer.subscription.status === 'unsubscribe_pending';
  const formEnabled = view.formEnabled ?? true;
  const continueButton =
    view.continueAction && !locked && (done || !formEnabled)
      ? html`<form method="post" action="${view.continueAction}"><input type="hidden" name="csrf" value="${view.csrfToken}"><button type="submit">Continue to ${view.seller.name}</button></form>`
      : html``;
  const form = formEnabled
    ? html`<h2>${done ? 'Your account details' : 'Set up your account'}</h2>
${locked ? html`<p class="status locked" role="note">${locked}</p>` : ''}
<form method="post" action="${view.formAction}" novalidate data-signup>
<fieldset${locked ? raw(' disabled') : ''}>
<input type="hidden" name="csrf" value="${view.csrfToken}">
${field('email', 'Work email', 'email', 'email', view)}
${field('company', 'Company', 'text', 'organization', view)}
${field('contactName', 'Your name', 'text', 'name', view)}
${locked ? '' : html`<button type="submit">${done ? 'Update details' : 'Create account'}</button>`}
</fieldset>
</form>`
    : locked
      ? html`<p class="status locked" role="note">${locked}</p>`
      : html``;
  const body = html`<h1>Welcome to ${productName}</h1>
<div class="status status-${status.css}" role="status" id="subscription-status" data-status="${view.customer.subscription.status}"><strong>Subscription status:</strong> <span data-status-text>${status.text}</span></div>
${contractTable(view, ended)}
${view.saved ? html`<p class="status status-active">Thank you, your account details are saved.${view.seller.loginUrl && !view.continueAction ? html` You can now <a href="${view.seller.loginUrl}">sign in</a>.` : ''}</p>` : ''}
${continueButton}
${form}
${view.seller.loginUrl ? html`<p>Already have an account? <a href="${view.seller.loginUrl}">Sign in</a>.</p>` : ''}`;
  return layout(view.seller, `Set up ${productName}`, body, statusPoller(view, view.customer.subscription.status));
}
