import type { Customer, Entitlement } from '../../src/customers/customer';
import type { ProductConfig } from '../../src/products/product-config';
import { html, type SafeHtml } from './html';
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
}

/** The buyer's subscription status in plain words (seed 6760-6930: buyers must see it). */
export function statusWords(customer: Customer): { css: string; text: string } {
  switch (customer.subscription.status) {
    case 'active':
      return { css: 'active', text: customer.freeTrial ? 'Your free trial is active.' : 'Your subscription is active.' };
    case 'pending':
      return { css: 'pending', text: 'We are waiting for AWS Marketplace to confirm your subscription. This usually takes a few minutes; you can complete the form below meanwhile.' };
    case 'failed':
      return { css: 'failed', text: 'AWS Marketplace could not complete your subscription (for example, the payment was declined). You have not been charged. Please subscribe again on AWS Marketplace or contact our support.' };
    case 'unsubscribe_pending':
      return { css: 'ended', text: 'Your subscription has been cancelled and is ending now.' };
    case 'unsubscribed':
      return { css: 'ended', text: 'Your subscription has been cancelled. To use the product again, subscribe on AWS Marketplace.' };
    default:
      return { css: 'pending', text: 'Your subscription status is being updated.' };
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

function contractTable(view: OnboardingView): SafeHtml {
  if (!view.contract) return html``;
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

export function renderOnboardingPage(view: OnboardingView): string {
  const status = statusWords(view.customer);
  const productName = view.product?.name ?? view.customer.productCode;
  const done = view.customer.onboarding.onboardedAt !== null;
  const body = html`<h1>Welcome to ${productName}</h1>
<div class="status status-${status.css}" role="status"><strong>Subscription status:</strong> ${status.text}</div>
${contractTable(view)}
${view.saved ? html`<p class="status status-active">Thank you, your account details are saved.${view.seller.loginUrl ? html` You can now <a href="${view.seller.loginUrl}">sign in</a>.` : ''}</p>` : ''}
<h2>${done ? 'Your account details' : 'Set up your account'}</h2>
<form method="post" action="${view.formAction}" novalidate>
<input type="hidden" name="csrf" value="${view.csrfToken}">
${field('email', 'Work email', 'email', 'email', view)}
${field('company', 'Company', 'text', 'organization', view)}
${field('contactName', 'Your name', 'text', 'name', view)}
<button type="submit">${done ? 'Update details' : 'Create account'}</button>
</form>
${view.seller.loginUrl ? html`<p>Already have an account? <a href="${view.seller.loginUrl}">Sign in</a>.</p>` : ''}`;
  return layout(view.seller, `Set up ${productName}`, body);
}
