/**
 * An example of the seller's own SaaS app plugged into marketplace-bridge: it receives signed
 * webhooks (Standard Webhooks, verified with the `standardwebhooks` library), takes the buyer's
 * sign-in hand-off (a JWT verified with `jose` against the bridge's JWKS, then redeemed once), keeps
 * its own tenant table, and links each tenant to its marketplace customer (`externalId`).
 * The README's "Integrate your app" snippets are taken from this file.
 */
import express, { type Express } from 'express';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { Webhook } from 'standardwebhooks';
import { TenantStore } from './tenant-store';

export interface SaasAppOptions {
  /** Where marketplace-bridge answers, e.g. http://127.0.0.1:3000. */
  readonly bridgeUrl: string;
  /** An API key with the scopes customers:read and customers:write. */
  readonly apiKey: string;
  /** The endpoint's signing secret (`whsec_…`), as the bridge answered when the endpoint was created. */
  readonly webhookSecret: string;
  /** This app's origin: the `aud` of hand-off tokens (the bridge's HANDOFF_AUDIENCE, default LOGIN_URL's origin). */
  readonly audience: string;
  /** The tenant table's SQLite file; default in memory. */
  readonly databasePath?: string;
}

/** A webhook as this app received and verified it. */
export interface VerifiedWebhook {
  readonly id: string;
  readonly type: string;
  readonly customerId: string | undefined;
}

interface WebhookBody {
  id: string;
  type: string;
  data: {
    customer?: { id: string; productCode: string; externalId: string | null; onboarding: { email: string | null; company: string | null } };
  };
}

export function createSaasApp(options: SaasAppOptions): { app: Express; tenants: TenantStore; received: VerifiedWebhook[] } {
  const tenants = new TenantStore(options.databasePath);
  const received: VerifiedWebhook[] = [];
  const bridge = (path: string, init: RequestInit = {}) =>
    fetch(`${options.bridgeUrl}${path}`, {
      ...init,
      headers: { authorization: `Bearer ${options.apiKey}`, 'content-type': 'application/json', ...init.headers },
    });
  /** Tells the bridge which tenant a customer is (lookups, access checks and usage then take the tenant id). */
  const link = async (customerId: string, tenantId: string) => {
    const res = await bridge(`/v1/customers/${encodeURIComponent(customerId)}`, {
      method: 'PATCH',
      body: JSON.stringify({ externalId: tenantId }),
    });
    if (!res.ok) throw new Error(`linking ${tenantId} answered ${res.status}`);
  };
  const app = express();

  // Verify a webhook: the raw body, as sent, is what the signature covers.
  const webhook = new Webhook(options.webhookSecret);
  app.post('/webhooks/marketplace', express.raw({ type: 'application/json' }), async (req, res) => {
    let event: WebhookBody;
    try {
      event = webhook.verify(req.body as Buffer, req.headers as Record<string, string>) as WebhookBody;
    } catch {
      res.status(401).send('bad signature');
      return;
    }
    // At least once: a webhook-id already processed is acknowledged and ignored.
    if (!tenants.firstDelivery(event.id)) {
      res.status(204).end();
      return;
    }
    try {
      await handle(event);
    } catch (error) {
      console.error(error); // not acknowledged: the bridge delivers it again
      res.status(500).end();
      return;
    }
    received.push({ id: event.id, type: event.type, customerId: event.data.customer?.id });
    res.status(204).end();
  });

  async function handle(event: WebhookBody): Promise<void> {
    const customer = event.data.customer;
    if (!customer) return;
    const tenant = tenants.tenantFor(customer);
    const profile = { company: customer.onboarding.company, email: customer.onboarding.email };
    switch (event.type) {
      case 'customer.activated':
        tenants.update(tenant.id, { ...profile, status: 'active', hasAccess: true });
        if (customer.externalId !== tenant.id) await link(customer.id, tenant.id);
        break;
      case 'customer.ending':
        tenants.update(tenant.id, { status: 'ending', hasAccess: false });
        break;
      case 'customer.ended':
        tenants.update(tenant.id, { status: 'ended', hasAccess: false });
        break;
      case 'customer.subscription_failed':
        tenants.update(tenant.id, { status: 'failed', hasAccess: false });
        break;
      case 'customer.personal_data_erased':
        tenants.update(tenant.id, { company: null, email: null });
        break;
      default:
        tenants.update(tenant.id, profile);
    }
  }

  // Handle the sign-in hand-off: verify the token with the bridge's public keys, then redeem it (single use).
  const jwks = createRemoteJWKSet(new URL('/.well-known/jwks.json', options.bridgeUrl));
  app.get('/login', async (req, res) => {
    const token = String(req.query.handoff_token ?? '');
    try {
      await jwtVerify(token, jwks, { issuer: options.bridgeUrl, audience: options.audience, typ: 'marketplace-handoff+jwt' });
    } catch {
      res.status(401).send('This sign-in link is not valid any more. Open it again from your subscription page.');
      return;
    }
    const redeemed = await bridge('/v1/handoffs/redeem', { method: 'POST', body: JSON.stringify({ token }) });
    if (!redeemed.ok) {
      res.status(401).send('This sign-in link was already used. Open it again from your subscription page.');
      return;
    }
    const { customer } = (await redeemed.json()) as { customer: NonNullable<WebhookBody['data']['customer']> };
    const tenant = tenants.tenantFor(customer);
    tenants.update(tenant.id, { company: customer.onboarding.company, email: customer.onboarding.email });
    if (customer.externalId !== tenant.id) await link(customer.id, tenant.id);
    res.type('text/plain').send(`Signed in to ${tenant.id}`);
  });

  app.get('/tenants', (_req, res) => {
    res.json(tenants.all());
  });
  return { app, tenants, received };
}
