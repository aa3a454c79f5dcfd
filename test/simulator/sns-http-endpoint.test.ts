import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { verify, X509Certificate } from 'node:crypto';
import { drain, legacyProduct, startKit, type TestKit } from './support';

interface Received {
  headers: IncomingHttpHeaders;
  body: Record<string, string>;
}

function stringToSign(m: Record<string, string>): string {
  const keys =
    m.Type === 'Notification'
      ? ['Message', 'MessageId', 'Subject', 'Timestamp', 'TopicArn', 'Type']
      : ['Message', 'MessageId', 'SubscribeURL', 'Timestamp', 'Token', 'TopicArn', 'Type'];
  return keys
    .filter((k) => m[k] !== undefined)
    .map((k) => `${k}\n${m[k]}\n`)
    .join('');
}

describe('SNS HTTP(S) endpoint delivery (facts §4.2, §4.3)', () => {
  let kit: TestKit;
  let server: Server;
  let endpoint: string;
  const received: Received[] = [];
  let failNext = 0;

  beforeAll(async () => {
    kit = await startKit({ httpRetryDelayMs: 20 });
    legacyProduct(kit.sim);
    server = createServer((req, res) => {
      let data = '';
      req.on('data', (c) => (data += c));
      req.on('end', () => {
        received.push({ headers: req.headers, body: JSON.parse(data) as Record<string, string> });
        res.statusCode = failNext-- > 0 ? 500 : 200;
        res.end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}/sns`;
  });
  afterAll(async () => {
    await kit.close();
    await new Promise((r) => server.close(r));
  });

  it('POSTs a signed SubscriptionConfirmation, delivers nothing until SubscribeURL is fetched, then signed notifications with x-amz-sns headers', async () => {
    const sub = await kit.sim.subscribeHttpEndpoint('subscription', endpoint);
    expect(sub.confirmed).toBe(false);
    const confirmation = received.shift()!;
    expect(confirmation.headers['x-amz-sns-message-type']).toBe('SubscriptionConfirmation');
    expect(confirmation.headers['content-type']).toBe('text/plain; charset=UTF-8');
    expect(confirmation.headers['x-amz-sns-topic-arn']).toBe(sub.topicArn);
    expect(confirmation.headers['x-amz-sns-subscription-arn']).toBeUndefined();
    expect(Object.keys(confirmation.body).sort()).toEqual([
      'Message',
      'MessageId',
      'Signature',
      'SignatureVersion',
      'SigningCertURL',
      'SubscribeURL',
      'Timestamp',
      'Token',
      'TopicArn',
      'Type',
    ]);
    const cert = new X509Certificate(await (await fetch(confirmation.body.SigningCertURL!)).text());
    expect(
      verify('sha1', Buffer.from(stringToSign(confirmation.body)), cert.publicKey, Buffer.from(confirmation.body.Signature!, 'base64')),
    ).toBe(true);

    const before = await kit.sim.subscribe({ productCode: 'legacy-product', confirmation: 'manual' });
    await kit.sim.confirm(before.id);
    await kit.sim.flushNotifications();
    expect(received).toEqual([]);

    const confirm = await fetch(confirmation.body.SubscribeURL!);
    expect(confirm.status).toBe(200);
    expect(await confirm.text()).toContain('<ConfirmSubscriptionResponse');

    const s = await kit.sim.subscribe({ productCode: 'legacy-product', confirmation: 'manual' });
    await kit.sim.confirm(s.id);
    await kit.sim.flushNotifications();
    const n = received.shift()!;
    expect(n.headers['x-amz-sns-message-type']).toBe('Notification');
    expect(n.headers['x-amz-sns-message-id']).toBe(n.body.MessageId);
    expect(n.headers['x-amz-sns-subscription-arn']).toBe(sub.subscriptionArn);
    expect(n.headers['user-agent']).toBe('Amazon Simple Notification Service Agent');
    expect(JSON.parse(n.body.Message!)).toEqual(
      expect.objectContaining({ action: 'subscribe-success', 'customer-identifier': s.customerIdentifier }),
    );
    expect(verify('sha1', Buffer.from(stringToSign(n.body)), cert.publicKey, Buffer.from(n.body.Signature!, 'base64'))).toBe(true);
    expect(n.body.UnsubscribeURL).toContain(encodeURIComponent(sub.subscriptionArn));
    // The same publish lands in the SQS queue with the same MessageId.
    const queued = (await drain(kit.sqs, kit.sim.queueUrl('marketplace-subscription'))).map((m) => JSON.parse(m.Body!).MessageId as string);
    expect(queued).toContain(n.body.MessageId);
  });

  it('retries a failed (5xx) delivery with the same MessageId', async () => {
    failNext = 2;
    const s = await kit.sim.subscribe({ productCode: 'legacy-product', confirmation: 'manual' });
    await kit.sim.cancel(s.id, { endAfterMs: 60_000 });
    await kit.sim.flushNotifications();
    expect(received.map((r) => r.headers['x-amz-sns-message-type'])).toEqual(['Notification', 'Notification', 'Notification']);
    expect(new Set(received.map((r) => r.body.MessageId)).size).toBe(1);
    received.length = 0;
  });

  it('stops deliveries after the UnsubscribeURL is fetched and sends an UnsubscribeConfirmation', async () => {
    const s = await kit.sim.subscribe({ productCode: 'legacy-product', confirmation: 'manual' });
    await kit.sim.confirm(s.id);
    await kit.sim.flushNotifications();
    const last = received.pop()!;
    received.length = 0;
    expect((await fetch(last.body.UnsubscribeURL!)).status).toBe(200);
    await kit.sim.flushNotifications();
    expect(received.map((r) => r.body.Type)).toEqual(['UnsubscribeConfirmation']);
    received.length = 0;
    await kit.sim.failPayment((await kit.sim.subscribe({ productCode: 'legacy-product', confirmation: 'manual' })).id);
    await kit.sim.flushNotifications();
    expect(received).toEqual([]);
  });

  it('does not hold subscribeHttpEndpoint up on an unreachable endpoint (retries continue in the background)', async () => {
    const started = Date.now();
    const sub = await kit.sim.subscribeHttpEndpoint('entitlement', 'http://127.0.0.1:1/unreachable');
    expect(sub.confirmed).toBe(false);
    expect(Date.now() - started).toBeLessThan(1_000);
  });
});
