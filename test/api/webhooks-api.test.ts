import request from 'supertest';
import { generateWebhookSecret } from '../../src/webhooks/webhook-signature';
import type { TransportRequest, WebhookTransport } from '../../src/webhooks/webhook-transport.gateway';
import { startHarness, TEST_API_KEY, type Harness } from '../support/harness';

const auth = { Authorization: `Bearer ${TEST_API_KEY}` };
const CONFIG_SECRET = generateWebhookSecret();

/** Webhook endpoints and deliveries over HTTP, in aws mode (https and public addresses only). */
describe('webhooks API', () => {
  let h: Harness;
  const sent: TransportRequest[] = [];
  const transport: WebhookTransport = async (req) => {
    sent.push(req);
    return { status: 200, body: 'ok', latencyMs: 3 };
  };
  beforeAll(async () => {
    h = await startHarness({
      webhookTransport: transport,
      env: {
        WEBHOOK_ENDPOINTS: JSON.stringify([
          { name: 'ops', url: 'https://hooks.example.com/ops', secret: CONFIG_SECRET, eventTypes: ['customer.activated'] },
        ]),
      },
    });
    await h.container.webhookEndpoints.syncConfigured(h.config.webhooks.endpoints, h.clock.now());
  });
  afterAll(async () => h.close());
  const api = () => request(h.app);

  it('creates an endpoint and returns its secret once; lists, reads, changes and deletes it', async () => {
    const created = await api()
      .post('/v1/webhook-endpoints')
      .set(auth)
      .send({ url: 'https://app.example.com/hooks', eventTypes: ['customer.activated', 'customer.ended'] });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      url: 'https://app.example.com/hooks',
      kind: 'standard',
      source: 'api',
      enabled: true,
      eventTypes: ['customer.activated', 'customer.ended'],
    });
    expect(created.body.secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    const id = created.body.id as string;
    const list = await api().get('/v1/webhook-endpoints').set(auth);
    expect(list.body.endpoints.map((e: { id: string }) => e.id)).toEqual(expect.arrayContaining([id, 'cfg_ops']));
    expect(JSON.stringify(list.body)).not.toContain('whsec_');
    expect(JSON.stringify((await api().get(`/v1/webhook-endpoints/${id}`).set(auth)).body)).not.toContain('whsec_');

    const changed = await api().patch(`/v1/webhook-endpoints/${id}`).set(auth).send({ eventTypes: null, enabled: false });
    expect(changed.body).toMatchObject({ eventTypes: null, enabled: false, disabledReason: 'disabled by API' });
    const enabled = await api().patch(`/v1/webhook-endpoints/${id}`).set(auth).send({ enabled: true });
    expect(enabled.body).toMatchObject({ enabled: true, disabledAt: null, failingSince: null });

    const rotated = await api().post(`/v1/webhook-endpoints/${id}/rotate-secret`).set(auth).send({ overlapSeconds: 600 });
    expect(rotated.status).toBe(200);
    expect(rotated.body.secret).not.toBe(created.body.secret);
    expect(Date.parse(rotated.body.previousSecretExpiresAt) - h.clock.now().getTime()).toBeGreaterThan(590_000);
    const noBody = await api().post(`/v1/webhook-endpoints/${id}/rotate-secret`).set(auth);
    expect(noBody.status).toBe(200);

    expect((await api().delete(`/v1/webhook-endpoints/${id}`).set(auth)).status).toBe(204);
    expect((await api().get(`/v1/webhook-endpoints/${id}`).set(auth)).status).toBe(404);
    expect((await api().delete(`/v1/webhook-endpoints/${id}`).set(auth)).status).toBe(404);
  });

  it('a Slack endpoint has no secret; configured endpoints change only by configuration (enabled aside)', async () => {
    const slack = await api()
      .post('/v1/webhook-endpoints')
      .set(auth)
      .send({ url: 'https://hooks.slack.com/services/T/B/x', kind: 'slack' });
    expect(slack.status).toBe(201);
    expect(slack.body.secret).toBeNull();
    expect((await api().post(`/v1/webhook-endpoints/${slack.body.id}/rotate-secret`).set(auth)).body.code).toBe('no_secret');
    const cfg = await api().get('/v1/webhook-endpoints/cfg_ops').set(auth);
    expect(cfg.body).toMatchObject({
      source: 'config',
      name: 'ops',
      url: 'https://hooks.example.com/ops',
      eventTypes: ['customer.activated'],
    });
    const urlChange = await api().patch('/v1/webhook-endpoints/cfg_ops').set(auth).send({ url: 'https://other.example.com/' });
    expect([urlChange.status, urlChange.body.code]).toEqual([409, 'config_managed']);
    expect((await api().patch('/v1/webhook-endpoints/cfg_ops').set(auth).send({ enabled: false })).body.enabled).toBe(false);
    expect((await api().patch('/v1/webhook-endpoints/cfg_ops').set(auth).send({ enabled: true })).body.enabled).toBe(true);
    expect((await api().delete('/v1/webhook-endpoints/cfg_ops').set(auth)).status).toBe(409);
    expect((await api().post('/v1/webhook-endpoints/cfg_ops/rotate-secret').set(auth)).status).toBe(409);
    await api().delete(`/v1/webhook-endpoints/${slack.body.id}`).set(auth);
  });

  it.each([
    ['http://app.example.com/hooks', 'https'],
    ['https://127.0.0.1/hooks', 'loopback'],
    ['https://[::ffff:169.254.169.254]/', 'link-local'],
    ['https://10.1.2.3/', 'private'],
    ['https://localhost:8443/', 'localhost'],
    ['https://2852039166/', 'link-local'],
    ['https://u:p@app.example.com/', 'password'],
  ])('refuses the target %s in aws mode', async (url, why) => {
    const res = await api().post('/v1/webhook-endpoints').set(auth).send({ url });
    expect(res.status).toBe(400);
    expect(res.body.detail).toContain(why);
  });

  it('lists deliveries with their attempts, and redelivers one; payloads sent after an erasure carry no personal data', async () => {
    const endpoint = await api().post('/v1/webhook-endpoints').set(auth).send({ url: 'https://app.example.com/deliveries' });
    const c = await h.container.customers.upsert({ productCode: 'legacy-sub-product', customerIdentifier: 'hooked' }, h.clock.now(), {
      registered: true,
    });
    await h.container.customers.saveOnboarding(
      c.id,
      { email: 'secret@buyer.example', company: 'Secret Co', contactName: 'Sam' },
      h.clock.now(),
    );
    const pending = await api().get(`/v1/webhook-deliveries?endpoint=${endpoint.body.id}&status=pending`).set(auth);
    expect(pending.body.deliveries.map((d: { eventType: string }) => d.eventType)).toEqual(['customer.onboarded', 'customer.registered']);
    // Erased before the dispatcher ran: what it sends afterwards is scrubbed.
    await api().delete(`/v1/customers/${c.id}/personal-data`).set(auth);
    while ((await h.container.webhookDispatcher.runOnce()).attempted > 0);
    const mine = sent.filter((r) => r.url === 'https://app.example.com/deliveries');
    expect(mine.map((r) => JSON.parse(r.body).type)).toEqual([
      'customer.registered',
      'customer.onboarded',
      'customer.personal_data_erased',
    ]);
    expect(mine.map((r) => r.body).join()).not.toMatch(/secret@buyer|Secret Co|Sam/);
    for (const r of mine) expect(r.headers['webhook-signature']).toMatch(/^v1,/);

    const done = await api().get(`/v1/webhook-deliveries?endpoint=${endpoint.body.id}&customer=${c.id}&limit=2`).set(auth);
    expect(done.body.deliveries).toHaveLength(2);
    expect(done.body.deliveries[0]).toMatchObject({
      status: 'succeeded',
      attemptCount: 1,
      lastStatusCode: 200,
      attempts: [{ attempt: 1, statusCode: 200, latencyMs: 3, error: null }],
    });
    const next = await api()
      .get(`/v1/webhook-deliveries?endpoint=${endpoint.body.id}&customer=${c.id}&limit=2&cursor=${done.body.nextCursor}`)
      .set(auth);
    expect(next.body.deliveries).toHaveLength(1);
    const again = await api().post(`/v1/webhook-deliveries/${done.body.deliveries[0].id}/redeliver`).set(auth);
    expect(again.status).toBe(202);
    expect(again.body).toMatchObject({
      status: 'pending',
      redeliveryOf: done.body.deliveries[0].id,
      eventId: done.body.deliveries[0].eventId,
    });
    await api().patch(`/v1/webhook-endpoints/${endpoint.body.id}`).set(auth).send({ enabled: false });
    const refused = await api().post(`/v1/webhook-deliveries/${done.body.deliveries[0].id}/redeliver`).set(auth);
    expect([refused.status, refused.body.code]).toEqual([409, 'endpoint_disabled']);
  });

  it('answers garbage with a clear 4xx problem', async () => {
    const cases: Array<[request.Test, number]> = [
      [api().post('/v1/webhook-endpoints').set(auth).send({}), 400],
      [api().post('/v1/webhook-endpoints').set(auth).send({ url: 'https://a.example.com/', kind: 'carrier-pigeon' }), 400],
      [
        api()
          .post('/v1/webhook-endpoints')
          .set(auth)
          .send({ url: 'https://a.example.com/', eventTypes: ['customer.exploded'] }),
        400,
      ],
      [api().post('/v1/webhook-endpoints').set(auth).send({ url: 'https://a.example.com/', extra: true }), 400],
      [
        api()
          .post('/v1/webhook-endpoints')
          .set(auth)
          .send({ url: 'x'.repeat(3000) }),
        400,
      ],
      [api().post('/v1/webhook-endpoints').set(auth).send({ url: 'not a url' }), 400],
      [api().post('/v1/webhook-endpoints').set(auth).type('json').send('[1,2'), 400],
      [api().post('/v1/webhook-endpoints').set(auth).type('text').send('url=x'), 415],
      [api().get('/v1/webhook-endpoints/nope').set(auth), 404],
      [api().patch('/v1/webhook-endpoints/nope').set(auth).send({ enabled: true }), 404],
      [api().patch('/v1/webhook-endpoints/nope').set(auth).send({}), 400],
      [api().patch('/v1/webhook-endpoints/nope').set(auth).send({ enabled: 'yes' }), 400],
      [api().delete('/v1/webhook-endpoints/nope').set(auth), 404],
      [
        api()
          .delete(`/v1/webhook-endpoints/${'n'.repeat(100)}`)
          .set(auth),
        400,
      ],
      [api().post('/v1/webhook-endpoints/nope/rotate-secret').set(auth).send({ overlapSeconds: -1 }), 400],
      [api().post('/v1/webhook-endpoints/nope/rotate-secret').set(auth).send({ overlapSeconds: 1e9 }), 400],
      [api().post('/v1/webhook-endpoints/nope/rotate-secret').set(auth), 404],
      [api().get('/v1/webhook-deliveries?status=lost').set(auth), 400],
      [api().get('/v1/webhook-deliveries?limit=0').set(auth), 400],
      [api().get('/v1/webhook-deliveries?limit=1e400').set(auth), 400],
      [api().get('/v1/webhook-deliveries?cursor=nope').set(auth), 400],
      [api().get('/v1/webhook-deliveries?whatever=1').set(auth), 400],
      [api().post('/v1/webhook-deliveries/nope/redeliver').set(auth), 404],
    ];
    for (const [i, [req, status]] of cases.entries()) {
      const res = await req;
      expect({ i, status: res.status, type: res.type }).toEqual({ i, status, type: 'application/problem+json' });
    }
  });
});
