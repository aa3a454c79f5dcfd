import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { NotificationQueueConsumer } from '../../handlers/queue-notification.consumer';
import { createSaasApp } from '../../examples/saas-app/app';
import { legacySubscription, startHarness, TEST_API_KEY, type Harness } from '../support/harness';
import { until } from '../support/until';

/** An HTTP server listening before its handler exists, so each side can be told the other's URL. */
async function reserve(): Promise<{ server: Server; url: string }> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

/**
 * The seller's app (examples/saas-app) plugged into the bridge in simulator mode, all over HTTP:
 * a buyer subscribes in the simulator and signs up, the app takes the hand-off, receives
 * `customer.activated` with a valid signature and links its tenant, the buyer cancels, the app
 * receives `customer.ending` then `customer.ended`.
 */
describe('the example SaaS app against the bridge', () => {
  let h: Harness;
  let bridge: { server: Server; url: string };
  let saasServer: { server: Server; url: string };
  let saas: ReturnType<typeof createSaasApp>;
  let consumers: NotificationQueueConsumer[] = [];
  const api = (path: string, init: RequestInit = {}) =>
    fetch(`${bridge.url}${path}`, {
      ...init,
      headers: { authorization: `Bearer ${TEST_API_KEY}`, 'content-type': 'application/json', ...init.headers },
    });

  beforeAll(async () => {
    bridge = await reserve();
    saasServer = await reserve();
    h = await startHarness({
      products: [legacySubscription],
      simulator: { confirmDelayMs: 50, unsubscribeDelayMs: 300 },
      env: { MARKETPLACE_MODE: 'simulator', PUBLIC_URL: bridge.url, LOGIN_URL: `${saasServer.url}/login`, WEBHOOK_POLL_MS: '50' },
    });
    bridge.server.on('request', h.app);
    const created = await api('/v1/webhook-endpoints', {
      method: 'POST',
      body: JSON.stringify({ url: `${saasServer.url}/webhooks/marketplace` }),
    });
    expect(created.status).toBe(201);
    const { secret } = (await created.json()) as { secret: string };
    saas = createSaasApp({ bridgeUrl: bridge.url, apiKey: TEST_API_KEY, webhookSecret: secret, audience: saasServer.url });
    saasServer.server.on('request', saas.app);
    consumers = ['subscription', 'entitlement', 'eventbridge'].map(
      (name) =>
        new NotificationQueueConsumer({
          name,
          queueUrl: h.sim.queueUrl(`marketplace-${name}`),
          sqs: h.aws.sqs,
          processor: h.container.eventProcessor,
          logger: h.logger,
          waitTimeSeconds: 1,
        }),
    );
    for (const c of consumers) c.start();
    h.container.webhookDispatcher.start();
  });
  afterAll(async () => {
    await h.container.webhookDispatcher.stop();
    for (const c of consumers) await c.stop();
    for (const s of [bridge.server, saasServer.server]) {
      s.closeAllConnections();
      await new Promise<void>((r) => s.close(() => r()));
    }
    saas.tenants.close();
    await h.close();
  });

  it('subscribe, sign up, hand-off, activated and linked, cancel, ending then ended', async () => {
    const sub = await h.sim.subscribe({ productCode: legacySubscription.code, confirmation: 'manual' });
    // The buyer's browser: the registration POST, the onboarding page, the form.
    const registered = await fetch(`${bridge.url}/marketplace/register`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ 'x-amzn-marketplace-token': sub.registrationToken }),
    });
    expect(registered.status).toBe(303);
    const cookie = registered.headers.get('set-cookie')!.split(';')[0]!;
    const page = await (await fetch(`${bridge.url}/marketplace/onboarding`, { headers: { cookie } })).text();
    const csrf = /name="csrf" value="([^"]+)"/.exec(page)![1]!;
    const saved = await fetch(`${bridge.url}/marketplace/onboarding`, {
      method: 'POST',
      redirect: 'manual',
      headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ csrf, email: 'it@acme.example', company: 'Acme Corp', contactName: 'Ada' }),
    });
    expect(saved.status).toBe(303);
    const loginUrl = saved.headers.get('location')!;
    expect(loginUrl.startsWith(`${saasServer.url}/login?handoff_token=`)).toBe(true);
    // The browser follows to the app, which verifies the token with the JWKS and redeems it.
    const login = await fetch(loginUrl);
    expect(login.status).toBe(200);
    expect(await login.text()).toBe('Signed in to tenant-1');
    // The same link twice: single use.
    expect((await fetch(loginUrl)).status).toBe(401);

    await h.sim.confirm(sub.id);
    await until('customer.activated at the app', async () => saas.received.some((r) => r.type === 'customer.activated'));
    const tenant = saas.tenants.all()[0]!;
    expect(tenant).toMatchObject({ id: 'tenant-1', company: 'Acme Corp', status: 'active', hasAccess: true });
    const customer = (await (await api(`/v1/customers/${tenant.marketplaceCustomerId}`)).json()) as { externalId: string };
    expect(customer.externalId).toBe('tenant-1');
    // The app's tenant id now names the customer at the bridge.
    const access = (await (await api('/v1/access?customer=tenant-1')).json()) as { allowed: boolean };
    expect(access.allowed).toBe(true);

    await h.sim.cancel(sub.id, { endAfterMs: 500 });
    await until('customer.ended at the app', async () => saas.received.some((r) => r.type === 'customer.ended'), { timeoutMs: 20_000 });
    const types = saas.received.filter((r) => r.customerId === tenant.marketplaceCustomerId).map((r) => r.type);
    expect(types).toEqual(['customer.registered', 'customer.onboarded', 'customer.activated', 'customer.ending', 'customer.ended']);
    expect(saas.tenants.get('tenant-1')).toMatchObject({ status: 'ended', hasAccess: false });

    // Every delivery succeeded at the first attempt: the app accepted every signature.
    const deliveries = (await (await api(`/v1/webhook-deliveries?customer=${tenant.marketplaceCustomerId}`)).json()) as {
      deliveries: Array<{ status: string; attemptCount: number }>;
    };
    expect(deliveries.deliveries.map((d) => [d.status, d.attemptCount])).toEqual(Array(5).fill(['succeeded', 1]));
  });

  it('the app refuses a webhook whose signature does not verify', async () => {
    const res = await fetch(`${saasServer.url}/webhooks/marketplace`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'webhook-id': 'evt_forged',
        'webhook-timestamp': String(Math.floor(Date.now() / 1000)),
        'webhook-signature': 'v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=',
      },
      body: JSON.stringify({ id: 'evt_forged', type: 'customer.ended', data: {} }),
    });
    expect(res.status).toBe(401);
  });
});
