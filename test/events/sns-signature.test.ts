import { createSign } from 'node:crypto';
import { SnsCertificateStore, type CertificateFetch } from '../../src/events/sns-certificate-store';
import { SnsSignatureVerifier } from '../../src/events/sns-signature';
import type { SnsTrust } from '../../src/events/sns-trust';
import { systemClock } from '../../src/platform/clock';
import { makeTestCertificates, type TestCertificates } from '../support/test-certificates';
import { fixtureJson } from './fixture-loader';

let certs: TestCertificates;
let keyPem = '';
let certPem = '';
let otherCertPem = '';
beforeAll(() => {
  certs = makeTestCertificates();
  keyPem = certs.leafKey;
  certPem = certs.leaf;
  otherCertPem = certs.otherLeaf;
});

const CERT_URL = 'https://sns.us-east-1.amazonaws.com/SimpleNotificationService-f3ecfb7224c7233fe7bb5f59f96de52f.pem';
const TOPIC = 'arn:aws:sns:us-east-1:287250355862:aws-mp-subscription-notification-7m2x9kq4v1d8b0c3n6p5r2t4w';

/** Signs exactly as facts §4.3 says, written independently of the code under test. */
function sign(msg: Record<string, unknown>, version: '1' | '2'): Record<string, unknown> {
  const keys =
    msg['Type'] === 'Notification'
      ? ['Message', 'MessageId', 'Subject', 'Timestamp', 'TopicArn', 'Type']
      : ['Message', 'MessageId', 'SubscribeURL', 'Timestamp', 'Token', 'TopicArn', 'Type'];
  const text = keys
    .filter((k) => msg[k] !== undefined)
    .map((k) => `${k}\n${String(msg[k])}\n`)
    .join('');
  const signer = createSign(version === '1' ? 'RSA-SHA1' : 'RSA-SHA256');
  signer.update(text, 'utf8');
  return { ...msg, SignatureVersion: version, SigningCertURL: msg['SigningCertURL'] ?? CERT_URL, Signature: signer.sign(keyPem, 'base64') };
}

function notification(extra: Record<string, unknown> = {}): Record<string, unknown> {
  const { Signature: _s, SignatureVersion: _v, ...rest } = fixtureJson('sns-sqs-subscribe-success.json');
  return { ...rest, ...extra };
}

function verifier(
  opts: { trust?: SnsTrust; allowedTopicArns?: string[]; fetchCertificate?: (url: string) => Promise<string>; cacheSize?: number } = {},
) {
  const fetches: string[] = [];
  const fetchPem: CertificateFetch = async (url) => {
    fetches.push(url);
    return { status: 200, body: await (opts.fetchCertificate ?? (async () => certPem))(url) };
  };
  const v = new SnsSignatureVerifier({
    trust: opts.trust ?? {},
    certificates: new SnsCertificateStore(fetchPem, systemClock, {
      cacheSize: opts.cacheSize ?? 50,
      failureTtlMs: 0,
      fetchesPerMinute: 1000,
    }),
    ...(opts.allowedTopicArns ? { allowedTopicArns: opts.allowedTopicArns } : {}),
  });
  return { v, fetches };
}

describe('SnsSignatureVerifier (facts §4.3)', () => {
  it.each(['1', '2'] as const)('accepts a valid SignatureVersion %s notification', async (version) => {
    const { v } = verifier();
    await expect(v.verify(sign(notification(), version))).resolves.toEqual({ ok: true });
  });

  it('accepts a notification with a Subject (signed) and one with Subject null (Lambda, not signed)', async () => {
    const { v } = verifier();
    await expect(v.verify(sign(notification({ Subject: 'Hello' }), '2'))).resolves.toEqual({ ok: true });
    const lambda = { ...sign(notification(), '1'), Subject: null };
    await expect(v.verify(lambda)).resolves.toEqual({ ok: true });
  });

  it.each([
    ['Message', { Message: '{"action":"unsubscribe-success"}' }],
    ['Timestamp', { Timestamp: '2026-03-01T10:00:00.124Z' }],
    ['Subject', { Subject: 'changed' }],
    ['MessageId', { MessageId: 'another' }],
    ['TopicArn', { TopicArn: `${TOPIC}x` }],
  ])('refuses a tampered %s', async (_field, change) => {
    const { v } = verifier();
    const signed = sign(notification({ Subject: 'original' }), '1');
    await expect(v.verify({ ...signed, ...change })).resolves.toMatchObject({ ok: false, reason: 'signature does not match' });
  });

  it('refuses a signature made with another key', async () => {
    const { v } = verifier({ fetchCertificate: async () => otherCertPem });
    await expect(v.verify(sign(notification(), '2'))).resolves.toMatchObject({ ok: false, reason: 'signature does not match' });
  });

  it('refuses a v1 signature presented as v2', async () => {
    const { v } = verifier();
    await expect(v.verify({ ...sign(notification(), '1'), SignatureVersion: '2' })).resolves.toMatchObject({ ok: false });
  });

  it.each([
    'http://sns.us-east-1.amazonaws.com/SimpleNotificationService-f3ecfb7224c7233fe7bb5f59f96de52f.pem',
    'https://sns.us-east-1.amazonaws.com.evil.example/SimpleNotificationService-f3ecfb7224c7233fe7bb5f59f96de52f.pem',
    'https://evil.example/SimpleNotificationService-f3ecfb7224c7233fe7bb5f59f96de52f.pem',
    'https://sns.us-east-1.amazonaws.com/SimpleNotificationService-short.pem',
    'http://127.0.0.1:4566/simulator/SimpleNotificationService-f3ecfb7224c7233fe7bb5f59f96de52f.pem',
    'https://sns.s3-us-west-2.amazonaws.com/SimpleNotificationService-f3ecfb7224c7233fe7bb5f59f96de52f.pem',
    'https://sns.s3-accelerate.amazonaws.com/SimpleNotificationService-f3ecfb7224c7233fe7bb5f59f96de52f.pem',
  ])('refuses cert URL %s without fetching it', async (url) => {
    const { v, fetches } = verifier();
    const r = await v.verify(sign(notification({ SigningCertURL: url }), '2'));
    expect(r).toMatchObject({ ok: false, reason: expect.stringMatching(/SigningCertURL not allowed/) });
    expect(fetches).toEqual([]);
  });

  it('accepts the simulator cert URL when configured, alongside AWS', async () => {
    const local = 'http://127.0.0.1:4566/simulator/SimpleNotificationService-0123456789abcdef0123456789abcdef.pem';
    const { v, fetches } = verifier({ trust: { simulatorOrigin: 'http://127.0.0.1:4566' } });
    await expect(v.verify(sign(notification({ SigningCertURL: local }), '1'))).resolves.toEqual({ ok: true });
    await expect(v.verify(sign(notification(), '1'))).resolves.toEqual({ ok: true });
    expect(fetches).toEqual([local, CERT_URL]);
    const other = 'http://127.0.0.1:9999/simulator/SimpleNotificationService-0123456789abcdef0123456789abcdef.pem';
    await expect(v.verify(sign(notification({ SigningCertURL: other }), '1'))).resolves.toMatchObject({ ok: false });
  });

  it('refuses a topic outside the allow-list, without fetching', async () => {
    const { v, fetches } = verifier({ allowedTopicArns: ['arn:aws:sns:us-east-1:287250355862:aws-mp-subscription-notification-other'] });
    await expect(v.verify(sign(notification(), '2'))).resolves.toMatchObject({
      ok: false,
      reason: expect.stringMatching(/TopicArn not allowed/),
    });
    expect(fetches).toEqual([]);
    const { v: v2 } = verifier({ allowedTopicArns: [TOPIC] });
    await expect(v2.verify(sign(notification(), '2'))).resolves.toEqual({ ok: true });
  });

  it.each([['3'], ['0'], [1], [undefined]])('refuses SignatureVersion %p', async (version) => {
    const { v } = verifier();
    await expect(v.verify({ ...sign(notification(), '1'), SignatureVersion: version })).resolves.toMatchObject({
      ok: false,
      reason: expect.stringMatching(/SignatureVersion/),
    });
  });

  it.each(['Message', 'MessageId', 'Timestamp', 'TopicArn', 'Type', 'Signature', 'SigningCertURL'])(
    'refuses a message without %s',
    async (field) => {
      const { v } = verifier();
      const msg = sign(notification(), '2');
      delete msg[field];
      await expect(v.verify(msg)).resolves.toMatchObject({ ok: false });
    },
  );

  it('signs SubscriptionConfirmation over SubscribeURL and Token (and UnsubscribeConfirmation too)', async () => {
    const { v } = verifier();
    const { Signature: _s, ...confirmation } = fixtureJson('sns-http-subscription-confirmation.json');
    const signed = sign(confirmation, '1');
    await expect(v.verify(signed)).resolves.toEqual({ ok: true });
    await expect(v.verify({ ...signed, Token: 'forged' })).resolves.toMatchObject({ ok: false });
    await expect(
      v.verify({ ...signed, SubscribeURL: 'https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription&x=1' }),
    ).resolves.toMatchObject({ ok: false });
    const unsub = sign({ ...confirmation, Type: 'UnsubscribeConfirmation' }, '2');
    await expect(v.verify(unsub)).resolves.toEqual({ ok: true });
    const missing = sign({ ...confirmation, Token: undefined }, '2');
    await expect(v.verify(missing)).resolves.toMatchObject({ ok: false, reason: expect.stringMatching(/Token/) });
  });

  it('refuses a body that is not a certificate, or a certificate that is not an SNS signing certificate', async () => {
    const { v } = verifier({ fetchCertificate: async () => 'not a pem' });
    await expect(v.verify(sign(notification(), '2'))).resolves.toMatchObject({
      ok: false,
      reason: expect.stringMatching(/invalid signing certificate/),
    });
    const { v: selfSigned } = verifier({ fetchCertificate: async () => certs.selfSigned });
    await expect(selfSigned.verify(sign(notification(), '2'))).resolves.toMatchObject({
      ok: false,
      reason: expect.stringMatching(/self-signed/),
    });
  });

  it('never throws on garbage', async () => {
    const { v } = verifier();
    for (const garbage of [null, 42, 'str', [], { Type: 'Notification' }, { SignatureVersion: '1', Signature: '!!', Type: {} }]) {
      await expect(v.verify(garbage as unknown as Record<string, unknown>)).resolves.toMatchObject({ ok: false });
    }
  });
});
