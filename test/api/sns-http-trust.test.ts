import { createSign } from 'node:crypto';
import request from 'supertest';
import type { BoundedGet } from '../../src/platform/bounded-fetch.gateway';
import { fixtureJson } from '../events/fixture-loader';
import { startHarness, type Harness } from '../support/harness';
import { makeTestCertificates, type TestCertificates } from '../support/test-certificates';

const FILE = 'SimpleNotificationService-f3ecfb7224c7233fe7bb5f59f96de52f.pem';

/** `POST /marketplace/sns` with an outbound fetcher we can watch: which URLs does the service fetch? */
describe('POST /marketplace/sns: certificate trust', () => {
  let h: Harness;
  let certs: TestCertificates;
  let served: string;
  const fetched: string[] = [];

  beforeAll(async () => {
    certs = makeTestCertificates();
    served = certs.leaf;
    const outboundGet: BoundedGet = async (url) => {
      fetched.push(url);
      if (url.includes('?Action=ConfirmSubscription')) return { status: 500, body: '' };
      return { status: 200, body: served };
    };
    h = await startHarness({ outboundGet });
  });
  afterAll(async () => {
    await h.close();
  });
  beforeEach(() => {
    fetched.length = 0;
    served = certs.leaf;
  });

  function signed(extra: Record<string, unknown>, base = 'sns-sqs-subscribe-success.json'): Record<string, unknown> {
    const { Signature: _s, SignatureVersion: _v, ...rest } = fixtureJson(base);
    const msg: Record<string, unknown> = { ...rest, MessageId: `m-${Math.random()}`, ...extra };
    const keys =
      msg.Type === 'Notification'
        ? ['Message', 'MessageId', 'Subject', 'Timestamp', 'TopicArn', 'Type']
        : ['Message', 'MessageId', 'SubscribeURL', 'Timestamp', 'Token', 'TopicArn', 'Type'];
    const text = keys
      .filter((k) => msg[k] !== undefined)
      .map((k) => `${k}\n${String(msg[k])}\n`)
      .join('');
    const signer = createSign('RSA-SHA256');
    signer.update(text, 'utf8');
    return { ...msg, SignatureVersion: '2', Signature: signer.sign(certs.leafKey, 'base64') };
  }

  const post = (body: unknown) =>
    request(h.app).post('/marketplace/sns').set('Content-Type', 'text/plain; charset=UTF-8').send(JSON.stringify(body));

  it('accepts a message signed with the certificate of a regional SNS host', async () => {
    const res = await post(signed({ SigningCertURL: `https://sns.us-west-2.amazonaws.com/${FILE}` }));
    expect(res.status).toBe(200);
    expect(fetched).toEqual([`https://sns.us-west-2.amazonaws.com/${FILE}`]);
  });

  it.each([
    `https://sns.s3-us-west-2.amazonaws.com/${FILE}`,
    `https://sns.s3-accelerate.amazonaws.com/${FILE}`,
    `https://sns.s3.amazonaws.com/${FILE}`,
    `https://sns.us-east-1.amazonaws.com.evil.example/${FILE}`,
    `http://sns.us-east-1.amazonaws.com/${FILE}`,
    `http://127.0.0.1:1/simulator/${FILE}`,
  ])('refuses %s with 403 problem+json and makes no outbound request', async (url) => {
    const res = await post(signed({ SigningCertURL: url }));
    expect(res.status).toBe(403);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.body).toMatchObject({ code: 'sns_signature_invalid', detail: expect.stringMatching(/SigningCertURL not allowed/) });
    expect(fetched).toEqual([]);
  });

  it('refuses a self-signed certificate served from an AWS host', async () => {
    served = certs.selfSigned;
    const res = await post(signed({ SigningCertURL: `https://sns.eu-west-1.amazonaws.com/${FILE}` }));
    expect(res.status).toBe(403);
    expect(res.body.detail).toMatch(/self-signed/);
  });

  it('answers problem+json for a body too large, and 503 when the SubscribeURL cannot be fetched', async () => {
    const big = await request(h.app).post('/marketplace/sns').set('Content-Type', 'text/plain').send('x'.repeat(300_000));
    expect(big.status).toBe(413);
    expect(big.headers['content-type']).toMatch(/^application\/problem\+json/);
    const confirmation = signed(
      { SigningCertURL: `https://sns.us-east-1.amazonaws.com/${FILE}` },
      'sns-http-subscription-confirmation.json',
    );
    const res = await post(confirmation);
    expect(res.status).toBe(503);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.headers['retry-after']).toBeDefined();
  });

  it('logs an unauthenticated TopicArn truncated and printable', async () => {
    const res = await post(
      signed({ TopicArn: `arn:aws:sns:us-east-1:1:${'x'.repeat(5000)}\u0007`, SigningCertURL: 'https://evil.example/x.pem' }),
    );
    expect(res.status).toBe(403);
    const line = h
      .logs()
      .split('\n')
      .reverse()
      .find((l) => l.includes('SNS HTTP message refused'));
    expect(line).toBeDefined();
    const topic = (JSON.parse(line!) as { topicArn: string }).topicArn;
    expect(topic.length).toBeLessThanOrEqual(120);
    expect(topic).not.toMatch(/[^\x20-\x7e]/);
  });
});
