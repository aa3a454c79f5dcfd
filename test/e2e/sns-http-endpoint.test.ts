import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import request from 'supertest';
import { legacySubscription, startHarness, type Harness } from '../support/harness';
import { until } from '../support/until';

describe('SNS over HTTPS: POST /marketplace/sns', () => {
  let h: Harness;
  let server: Server;
  let url: string;
  const received: string[] = [];

  beforeAll(async () => {
    h = await startHarness({ simulator: { confirmDelayMs: 20 } });
    // Keep a copy of every body SNS posts, to replay and tamper with.
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        received.push(Buffer.concat(chunks).toString('utf8'));
        const forward = request(h.app)
          .post('/marketplace/sns')
          .set('Content-Type', String(req.headers['content-type'] ?? 'text/plain'))
          .send(Buffer.concat(chunks).toString('utf8'));
        void forward.then((r) => {
          res.writeHead(r.status, { 'content-type': 'application/json' });
          res.end(r.text);
        });
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/marketplace/sns`;
  });
  afterAll(async () => {
    await new Promise((r) => server.close(r));
    await h.close();
  });

  /** Subscribes the endpoint once (idempotent across tests) and waits for its confirmation. */
  let subscribed: Promise<{ subscriptionArn: string; topicArn: string }> | undefined;
  const ensureSubscribed = () =>
    (subscribed ??= (async () => {
      const subscription = await h.sim.subscribeHttpEndpoint('subscription', url, { productCode: legacySubscription.code });
      await until('confirmed', async () => h.logs().includes('SNS subscription confirmed'));
      return subscription;
    })());

  /** A buyer subscribes; resolves with the signed Notification SNS posted for it. */
  async function signedNotificationFor(): Promise<Record<string, unknown> & { Message: string }> {
    await ensureSubscribed();
    const sub = await h.sim.subscribe({ productCode: legacySubscription.code, confirmation: 'manual' });
    await h.sim.confirm(sub.id);
    let found: (Record<string, unknown> & { Message: string }) | undefined;
    await until('signed notification received', async () => {
      found = received
        .map((b) => JSON.parse(b) as Record<string, unknown> & { Message: string })
        .find((m) => m.Type === 'Notification' && m.Message.includes(sub.customerIdentifier!) && m.Message.includes('subscribe-success'));
      return found !== undefined;
    });
    return found!;
  }

  it('confirms the subscription through the SubscribeURL, then applies signed notifications', async () => {
    const subscription = await ensureSubscribed();
    expect(subscription.subscriptionArn.startsWith(`${subscription.topicArn}:`)).toBe(true);
    expect(subscription.topicArn).toMatch(/^arn:aws:sns:[a-z0-9-]+:\d{12}:aws-mp-subscription-notification-/);
    const sub = await h.sim.subscribe({ productCode: legacySubscription.code, confirmation: 'manual' });
    await h.sim.confirm(sub.id);
    await until(
      'active via HTTPS',
      async () =>
        (await h.container.customers.findByIdentity({ productCode: legacySubscription.code, customerIdentifier: sub.customerIdentifier }))
          ?.subscription.status === 'active',
    );
  });

  it('refuses forged, tampered and unsigned messages with 403 and applies nothing', async () => {
    const notification = await signedNotificationFor();
    const tampered = {
      ...notification,
      MessageId: 'forged-1',
      Message: String(notification!.Message).replace('subscribe-success', 'unsubscribe-success'),
    };
    const r1 = await request(h.app).post('/marketplace/sns').set('Content-Type', 'text/plain').send(JSON.stringify(tampered));
    expect(r1.status).toBe(403);
    expect(r1.body.code).toBe('sns_signature_invalid');
    const unsigned = { ...notification, MessageId: 'forged-2' } as Record<string, unknown>;
    delete unsigned.Signature;
    expect((await request(h.app).post('/marketplace/sns').set('Content-Type', 'text/plain').send(JSON.stringify(unsigned))).status).toBe(
      403,
    );
    const foreignCert = {
      ...notification,
      MessageId: 'forged-3',
      SigningCertURL: 'https://evil.example.com/SimpleNotificationService-0123456789abcdef0123456789abcdef.pem',
    };
    expect((await request(h.app).post('/marketplace/sns').set('Content-Type', 'text/plain').send(JSON.stringify(foreignCert))).status).toBe(
      403,
    );
    expect((await request(h.app).post('/marketplace/sns').set('Content-Type', 'text/plain').send('not json')).status).toBe(400);
    const forgedRows = await h.db.store.db.selectFrom('events').select('dedupe_key').where('dedupe_key', 'like', 'forged%').execute();
    expect(forgedRows).toEqual([]);
  });
});
