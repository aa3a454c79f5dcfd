import { createSign } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  AWS_SNS_CERT_URL_PATTERN,
  isAllowedSubscribeUrl,
  simulatorCertUrlPattern,
  simulatorSubscribeUrlPattern,
  SnsSignatureVerifier,
  type SnsVerifierOptions,
} from '../../src/events/sns-signature';
import { fixtureJson } from './fixture-loader';

// A throwaway RSA key and self-signed certificate, made with openssl (node:crypto cannot make X.509).
let keyPem = '';
let certPem = '';
let otherCertPem = '';
beforeAll(() => {
  const dir = mkdtempSync(join(tmpdir(), 'sns-cert-'));
  try {
    const make = (name: string): void => {
      execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '3650', '-subj', '/CN=sns.amazonaws.com',
        '-keyout', join(dir, `${name}.key`), '-out', join(dir, `${name}.pem`)], { stdio: 'ignore' });
    };
    make('a');
    make('b');
    keyPem = readFileSync(join(dir, 'a.key'), 'utf8');
    certPem = readFileSync(join(dir, 'a.pem'), 'utf8');
    otherCertPem = readFileSync(join(dir, 'b.pem'), 'utf8');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

const CERT_URL = 'https://sns.us-east-1.amazonaws.com/SimpleNotificationService-f3ecfb7224c7233fe7bb5f59f96de52f.pem';
const TOPIC = 'arn:aws:sns:us-east-1:287250355862:aws-mp-subscription-notification-7m2x9kq4v1d8b0c3n6p5r2t4w';

/** Signs exactly as facts §4.3 says, written independently of the code under test. */
function sign(msg: Record<string, unknown>, version: '1' | '2'): Record<string, unknown> {
  const keys = msg['Type'] === 'Notification'
    ? ['Message', 'MessageId', 'Subject', 'Timestamp', 'TopicArn', 'Type']
    : ['Message', 'MessageId', 'SubscribeURL', 'Timestamp', 'Token', 'TopicArn', 'Type'];
  const text = keys.filter((k) => msg[k] !== undefined).map((k) => `${k}\n${String(msg[k])}\n`).join('');
  const signer = createSign(version === '1' ? 'RSA-SHA1' : 'RSA-SHA256');
  signer.update(text, 'utf8');
  return { ...msg, SignatureVersion: version, SigningCertURL: msg['SigningCertURL'] ?? CERT_URL, Signature: signer.sign(keyPem, 'base64') };
}

function notification(extra: Record<string, unknown> = {}): Record<string, unknown> {
  const { Signature: _s, SignatureVersion: _v, ...rest } = fixtureJson('sns-sqs-subscribe-success.json');
  return { ...rest, ...extra };
}

function verifier(opts: Partial<SnsVerifierOptions> = {}) {
  const fetches: string[] = [];
  const v = new SnsSignatureVerifier({
    allowedCertUrl: [],
    fetchCertificate: async (url) => {
      fetches.push(url);
      return certPem;
    },
    ...opts,
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
  ])('refuses cert URL %s without fetching it', async (url) => {
    const { v, fetches } = verifier();
    const r = await v.verify(sign(notification({ SigningCertURL: url }), '2'));
    expect(r).toMatchObject({ ok: false, reason: expect.stringMatching(/SigningCertURL not allowed/) });
    expect(fetches).toEqual([]);
  });

  it('accepts the simulator cert URL when configured, alongside AWS', async () => {
    const local = 'http://127.0.0.1:4566/simulator/SimpleNotificationService-0123456789abcdef0123456789abcdef.pem';
    const { v, fetches } = verifier({ allowedCertUrl: [AWS_SNS_CERT_URL_PATTERN, simulatorCertUrlPattern(4566)] });
    await expect(v.verify(sign(notification({ SigningCertURL: local }), '1'))).resolves.toEqual({ ok: true });
    await expect(v.verify(sign(notification(), '1'))).resolves.toEqual({ ok: true });
    expect(fetches).toEqual([local, CERT_URL]);
    const other = 'http://127.0.0.1:9999/simulator/SimpleNotificationService-0123456789abcdef0123456789abcdef.pem';
    await expect(v.verify(sign(notification({ SigningCertURL: other }), '1'))).resolves.toMatchObject({ ok: false });
  });

  it('refuses a topic outside the allow-list, without fetching', async () => {
    const { v, fetches } = verifier({ allowedTopicArns: ['arn:aws:sns:us-east-1:287250355862:aws-mp-subscription-notification-other'] });
    await expect(v.verify(sign(notification(), '2'))).resolves.toMatchObject({ ok: false, reason: expect.stringMatching(/TopicArn not allowed/) });
    expect(fetches).toEqual([]);
    const { v: v2 } = verifier({ allowedTopicArns: [TOPIC] });
    await expect(v2.verify(sign(notification(), '2'))).resolves.toEqual({ ok: true });
  });

  it.each([['3'], ['0'], [1], [undefined]])('refuses SignatureVersion %p', async (version) => {
    const { v } = verifier();
    await expect(v.verify({ ...sign(notification(), '1'), SignatureVersion: version })).resolves.toMatchObject({ ok: false, reason: expect.stringMatching(/SignatureVersion/) });
  });

  it.each(['Message', 'MessageId', 'Timestamp', 'TopicArn', 'Type', 'Signature', 'SigningCertURL'])('refuses a message without %s', async (field) => {
    const { v } = verifier();
    const msg = sign(notification(), '2');
    delete msg[field];
    await expect(v.verify(msg)).resolves.toMatchObject({ ok: false });
  });

  it('signs SubscriptionConfirmation over SubscribeURL and Token (and UnsubscribeConfirmation too)', async () => {
    const { v } = verifier();
    const { Signature: _s, ...confirmation } = fixtureJson('sns-http-subscription-confirmation.json');
    const signed = sign(confirmation, '1');
    await expect(v.verify(signed)).resolves.toEqual({ ok: true });
    await expect(v.verify({ ...signed, Token: 'forged' })).resolves.toMatchObject({ ok: false });
    await expect(v.verify({ ...signed, SubscribeURL: 'https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription&x=1' })).resolves.toMatchObject({ ok: false });
    const unsub = sign({ ...confirmation, Type: 'UnsubscribeConfirmation' }, '2');
    await expect(v.verify(unsub)).resolves.toEqual({ ok: true });
    const missing = sign({ ...confirmation, Token: undefined }, '2');
    await expect(v.verify(missing)).resolves.toMatchObject({ ok: false, reason: expect.stringMatching(/Token/) });
  });

  it('caches certificates (LRU, bounded) and does not cache failures', async () => {
    const urls = ['a', 'b', 'c'].map((c) => `https://sns.us-east-1.amazonaws.com/SimpleNotificationService-${c.repeat(32)}.pem`);
    const { v, fetches } = verifier({ cacheSize: 2 });
    for (const url of [urls[0], urls[0], urls[1], urls[0], urls[2], urls[0], urls[1]]) {
      await expect(v.verify(sign(notification({ SigningCertURL: url }), '2'))).resolves.toEqual({ ok: true });
    }
    // a: fetched once (kept hot); b evicted by c, fetched again
    expect(fetches).toEqual([urls[0], urls[1], urls[2], urls[1]]);

    let calls = 0;
    const flaky = new SnsSignatureVerifier({ allowedCertUrl: [], fetchCertificate: async () => (++calls === 1 ? Promise.reject(new Error('ECONNRESET')) : certPem) });
    await expect(flaky.verify(sign(notification(), '1'))).resolves.toMatchObject({ ok: false, retryable: true, reason: expect.stringMatching(/ECONNRESET/) });
    await expect(flaky.verify(sign(notification(), '1'))).resolves.toEqual({ ok: true });
  });

  it('refuses a body that is not a certificate, and expired certificates when a clock is given', async () => {
    const { v } = verifier({ fetchCertificate: async () => 'not a pem' });
    await expect(v.verify(sign(notification(), '2'))).resolves.toMatchObject({ ok: false, reason: expect.stringMatching(/invalid signing certificate/) });
    const { v: v2 } = verifier({ clock: { now: () => new Date('2200-01-01T00:00:00Z') } });
    await expect(v2.verify(sign(notification(), '2'))).resolves.toMatchObject({ ok: false, reason: expect.stringMatching(/validity/) });
  });

  it('never throws on garbage', async () => {
    const { v } = verifier();
    for (const garbage of [null, 42, 'str', [], { Type: 'Notification' }, { SignatureVersion: '1', Signature: '!!', Type: {} }]) {
      await expect(v.verify(garbage as unknown as Record<string, unknown>)).resolves.toMatchObject({ ok: false });
    }
  });
});

describe('isAllowedSubscribeUrl (facts §4.2)', () => {
  it.each([
    ['https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription&TopicArn=arn&Token=t', true],
    ['https://sns.cn-north-1.amazonaws.com.cn/?Action=ConfirmSubscription', true],
    ['http://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription', false],
    ['https://sns.us-east-1.amazonaws.com.evil.example/', false],
    ['https://user:pw@sns.us-east-1.amazonaws.com/', false],
    ['https://sns.us-east-1.amazonaws.com:8443/', false],
    ['https://evil.example/?sns.us-east-1.amazonaws.com', false],
    ['http://127.0.0.1:4566/simulator/confirm?token=t', false],
    ['not a url', false],
  ])('%s → %s', (url, expected) => {
    expect(isAllowedSubscribeUrl(url)).toBe(expected);
  });

  it('accepts configured extra patterns (the local simulator)', () => {
    expect(isAllowedSubscribeUrl('http://127.0.0.1:4566/simulator/confirm?token=t', [simulatorSubscribeUrlPattern(4566)])).toBe(true);
    expect(isAllowedSubscribeUrl('http://127.0.0.1:4567/simulator/confirm?token=t', [simulatorSubscribeUrlPattern(4566)])).toBe(false);
    expect(isAllowedSubscribeUrl('http://127.0.0.1:1/simulator/x', [simulatorSubscribeUrlPattern()])).toBe(true);
  });
});
