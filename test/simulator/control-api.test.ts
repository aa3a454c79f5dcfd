import { networkInterfaces } from 'node:os';
import { BatchMeterUsageCommand, ResolveCustomerCommand } from '@aws-sdk/client-marketplace-metering';
import { GetEntitlementsCommand } from '@aws-sdk/client-marketplace-entitlement-service';
import { ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { startSimulator } from '../../src/simulator';
import { announceSkip } from '../support/skip-notice';
import { drain, startKit, type TestKit } from './support';

const REGISTRATION_URL = 'https://seller.example/marketplace/register?x=1&y=<2>';

/** Extracts the auto-POST form of a buyer page. */
function parseBuyerForm(html: string): { action: string; method: string; enctype: string; fields: Record<string, string> } {
  const form = /<form id="marketplace-redirect" method="([^"]+)" action="([^"]+)" enctype="([^"]+)">/.exec(html);
  if (!form) throw new Error('no form');
  const decode = (s: string) =>
    s
      .replace(/&quot;/g, '"')
      .replace(/&#39;/g, "'")
      .replace(/&lt;/g, '<')
      .replace(/&gt;/g, '>')
      .replace(/&amp;/g, '&');
  const fields: Record<string, string> = {};
  for (const m of html.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)"\s*\/?>/g)) fields[decode(m[1]!)] = decode(m[2]!);
  return { method: form[1]!, action: decode(form[2]!), enctype: form[3]!, fields };
}

describe('control API and pages (docs/simulator.md)', () => {
  let kit: TestKit;
  const api = (path: string, init: RequestInit = {}) =>
    fetch(`${kit.sim.url}${path}`, { ...init, headers: { 'content-type': 'application/json', ...(init.headers ?? {}) } });

  beforeAll(async () => {
    kit = await startKit({ registrationUrl: REGISTRATION_URL });
  });
  afterAll(() => kit.close());

  it('drives the lifecycle over JSON: product, subscription, confirm, entitlements, billed, cancel with endAfterMs', async () => {
    const product = await api('/simulator/api/products', {
      method: 'POST',
      body: JSON.stringify({
        productCode: 'http-product',
        pricingModel: 'contract',
        identity: 'customer-identifier',
        dimensions: [{ name: 'seats' }],
      }),
    });
    expect(product.status).toBe(201);
    const created = await api('/simulator/api/subscriptions', {
      method: 'POST',
      body: JSON.stringify({
        productCode: 'http-product',
        confirmation: 'manual',
        awsAccountId: '777788889999',
        entitlements: [{ dimension: 'seats', integerValue: 5, expirationDate: '2027-01-01T00:00:00Z' }],
      }),
    });
    expect(created.status).toBe(201);
    const sub = (await created.json()) as { id: string; status: string; customerIdentifier: string; customerAWSAccountId: string };
    expect(sub).toEqual(expect.objectContaining({ status: 'pending', customerAWSAccountId: '777788889999' }));
    const confirmed = (await (await api(`/simulator/api/subscriptions/${sub.id}/confirm`, { method: 'POST' })).json()) as {
      status: string;
    };
    expect(confirmed.status).toBe('active');

    const ent = await kit.entitlement.send(new GetEntitlementsCommand({ ProductCode: 'http-product' }));
    expect(ent.Entitlements![0]!.ExpirationDate).toEqual(new Date('2027-01-01T00:00:00Z'));
    await api(`/simulator/api/subscriptions/${sub.id}/entitlements`, {
      method: 'PUT',
      body: JSON.stringify({ entitlements: [{ dimension: 'seats', integerValue: 9 }] }),
    });
    expect((await kit.entitlement.send(new GetEntitlementsCommand({ ProductCode: 'http-product' }))).Entitlements![0]!.Value).toEqual({
      IntegerValue: 9,
    });

    await kit.metering.send(
      new BatchMeterUsageCommand({
        ProductCode: 'http-product',
        UsageRecords: [{ Timestamp: kit.clock.date(), Dimension: 'seats', Quantity: 2, CustomerIdentifier: sub.customerIdentifier }],
      }),
    );
    const billed = (await (await api(`/simulator/api/billed?customer=${sub.customerIdentifier}`)).json()) as Array<{ quantity: number }>;
    expect(billed.map((b) => b.quantity)).toEqual([2]);
    const log = (await (await api('/simulator/api/metering-log')).json()) as Array<{ outcome: string }>;
    expect(log.map((e) => e.outcome)).toContain('Success');

    const token = (await (await api(`/simulator/api/subscriptions/${sub.id}/token`, { method: 'POST' })).json()) as {
      registrationToken: string;
    };
    expect((await kit.metering.send(new ResolveCustomerCommand({ RegistrationToken: token.registrationToken }))).CustomerIdentifier).toBe(
      sub.customerIdentifier,
    );

    await api(`/simulator/api/subscriptions/${sub.id}/cancel`, { method: 'POST', body: JSON.stringify({ endAfterMs: 20 }) });
    await new Promise((r) => setTimeout(r, 60));
    expect(((await (await api(`/simulator/api/subscriptions/${sub.id}`)).json()) as { status: string }).status).toBe('unsubscribed');
  });

  it('sets faults and publishes raw messages over HTTP', async () => {
    await api('/simulator/api/faults', {
      method: 'PUT',
      body: JSON.stringify({ failNext: [{ operation: 'GetEntitlements', error: 'InternalServiceErrorException', count: 1 }] }),
    });
    await expect(kit.entitlement.send(new GetEntitlementsCommand({ ProductCode: 'http-product' }))).rejects.toMatchObject({
      name: 'InternalServiceErrorException',
    });
    const raw = await api('/simulator/api/queues/marketplace-eventbridge/messages', {
      method: 'POST',
      body: JSON.stringify({ body: 'not json at all {' }),
    });
    expect(raw.status).toBe(201);
    const got = await kit.sqs.send(new ReceiveMessageCommand({ QueueUrl: kit.sim.queueUrl('marketplace-eventbridge') }));
    expect(got.Messages![0]!.Body).toBe('not json at all {');
    expect((await api('/simulator/api/queues/nope/messages', { method: 'POST', body: JSON.stringify({ body: 'x' }) })).status).toBe(400);
  });

  it('answers unknown routes with 404 and bad JSON with 400, as JSON', async () => {
    expect((await api('/simulator/api/nothing-here')).status).toBe(404);
    const bad = await api('/simulator/api/subscriptions', { method: 'POST', body: '{' });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: string }).error).toBeTruthy();
    expect((await api('/simulator/api/subscriptions/sub-unknown')).status).toBe(404);
  });

  it('buyer journey: "Subscribe as a new buyer" redirects to the buyer page, whose form auto-POSTs the token to the registration URL', async () => {
    kit.sim.createProduct({ productCode: 'journey', pricingModel: 'subscription', identity: 'license', dimensions: [{ name: 'calls' }] });
    const redirect = await fetch(`${kit.sim.url}/simulator/ui/subscribe`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'productCode=journey&freeTrial=true',
      redirect: 'manual',
    });
    expect(redirect.status).toBe(303);
    const location = redirect.headers.get('location')!;
    expect(location).toMatch(/^\/simulator\/buyer\/sub-/);
    const page = await fetch(`${kit.sim.url}${location}`);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    const html = await page.text();
    const form = parseBuyerForm(html);
    expect(form).toEqual(
      expect.objectContaining({ method: 'POST', action: REGISTRATION_URL, enctype: 'application/x-www-form-urlencoded' }),
    );
    expect(Object.keys(form.fields).sort()).toEqual(['x-amzn-marketplace-offer-type', 'x-amzn-marketplace-token']);
    expect(form.fields['x-amzn-marketplace-offer-type']).toBe('free-trial');
    expect(html).toContain("document.getElementById('marketplace-redirect').submit()");
    expect(html).not.toContain('y=<2>'); // the registration URL is escaped
    const out = await kit.metering.send(new ResolveCustomerCommand({ RegistrationToken: form.fields['x-amzn-marketplace-token']! }));
    expect(out.ProductCode).toBe('journey');
    expect(out.LicenseArn).toBeDefined();
  });

  it('a contract buyer chooses quantities on the overview page; a plain POST buys the defaults; bad quantities are 400', async () => {
    kit.sim.createProduct({
      productCode: 'ui-contract',
      pricingModel: 'contract',
      identity: 'license',
      dimensions: [
        { name: 'seats', type: 'Integer' },
        { name: 'sso', type: 'Boolean' },
        { name: 'tier', type: 'String' },
      ],
    });
    const overview = await (await fetch(`${kit.sim.url}/simulator`)).text();
    expect(overview).toContain('name="entitlement:seats" value="10"');
    expect(overview).toContain('<select name="entitlement:sso">');
    const subscribe = (body: string) =>
      fetch(`${kit.sim.url}/simulator/ui/subscribe`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body,
        redirect: 'manual',
      });
    const entitlementsOf = async (res: Response) => {
      const id = decodeURIComponent(res.headers.get('location')!.split('/').pop()!);
      const out = await kit.entitlement.send(
        new GetEntitlementsCommand({ ProductCode: 'ui-contract', Filter: { LICENSE_ARN: [kit.sim.subscription(id).licenseArn!] } }),
      );
      return Object.fromEntries((out.Entitlements ?? []).map((e) => [e.Dimension, e.Value]));
    };
    const chosen = await subscribe('productCode=ui-contract&entitlement%3Aseats=25&entitlement%3Asso=false&entitlement%3Atier=gold');
    expect(chosen.status).toBe(303);
    expect(await entitlementsOf(chosen)).toEqual({
      seats: { IntegerValue: 25 },
      sso: { BooleanValue: false },
      tier: { StringValue: 'gold' },
    });
    expect(await entitlementsOf(await subscribe('productCode=ui-contract'))).toEqual({
      seats: { IntegerValue: 10 },
      sso: { BooleanValue: true },
      tier: { StringValue: 'standard' },
    });
    for (const bad of ['-1', '2.5', 'many', ''])
      expect((await subscribe(`productCode=ui-contract&entitlement%3Aseats=${bad}`)).status).toBe(400);
  });

  it('renders the overview page with products, subscriptions, actions and the billed table, escaping all text', async () => {
    kit.sim.createProduct({
      productCode: 'escape-me',
      pricingModel: 'subscription',
      identity: 'customer-identifier',
      dimensions: [{ name: '<img src=x onerror=alert(1)>' }],
    });
    const s = await kit.sim.subscribe({ productCode: 'escape-me', confirmation: 'manual' });
    const html = await (await fetch(`${kit.sim.url}/simulator`)).text();
    expect(html).toContain('&lt;img src=x onerror=alert(1)&gt;');
    expect(html).not.toContain('<img src=x');
    expect(html).toContain('Subscribe as a new buyer');
    expect(html).toContain(`/simulator/ui/subscriptions/${s.id}/fail-payment`);
    expect(html).toContain(`/simulator/ui/subscriptions/${s.id}/cancel`);
    expect(html).toMatch(
      /<h2>Billed<\/h2>\s*<table>\s*<tr>\s*<th>Product<\/th>\s*<th>Customer<\/th>\s*<th>Dimension<\/th>\s*<th>Hour \(UTC\)<\/th>\s*<th>Quantity<\/th>/,
    );
    const cancel = await fetch(`${kit.sim.url}/simulator/ui/subscriptions/${s.id}/fail-payment`, { method: 'POST', redirect: 'manual' });
    expect(cancel.status).toBe(303);
    expect(kit.sim.subscription(s.id).status).toBe('failed');
    expect((await drain(kit.sqs, kit.sim.queueUrl('marketplace-subscription'))).length).toBeGreaterThan(0);
  });

  it('accepts control calls from loopback only; the certificate stays public', async () => {
    const external = Object.values(networkInterfaces())
      .flat()
      .find((i) => i && i.family === 'IPv4' && !i.internal);
    if (!external) {
      announceSkip('control-api loopback test: no non-loopback IPv4 interface on this machine');
      return;
    }
    const sim = await startSimulator({ host: '0.0.0.0' });
    try {
      const port = new URL(sim.url).port;
      const base = `http://${external.address}:${port}`;
      expect((await fetch(`${base}/simulator/api/state`)).status).toBe(403);
      expect((await fetch(`${base}/simulator`)).status).toBe(403);
      expect((await fetch(`${base}${new URL(sim.signingCert.url).pathname}`)).status).toBe(200);
      expect((await fetch(`${sim.url}/simulator/api/state`)).status).toBe(200);
    } finally {
      await sim.stop();
    }
  });
});
