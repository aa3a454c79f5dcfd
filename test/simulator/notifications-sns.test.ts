import { verify, X509Certificate } from 'node:crypto';
import { startSimulator } from '../../src/simulator';
import { drain, legacyProduct, licenseProduct, snsMessages, startKit, type TestKit } from './support';

/** The string to sign per facts §4.3, written independently of the simulator. */
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

async function verifySns(envelope: Record<string, string>): Promise<boolean> {
  const pem = await (await fetch(envelope.SigningCertURL!)).text();
  const cert = new X509Certificate(pem);
  const algorithm = envelope.SignatureVersion === '1' ? 'sha1' : 'sha256';
  return verify(algorithm, Buffer.from(stringToSign(envelope)), cert.publicKey, Buffer.from(envelope.Signature!, 'base64'));
}

describe('SNS notifications into SQS (facts §4.1, §4.3, §5.1–§5.3)', () => {
  let kit: TestKit;
  let subsQueue: string;
  let entQueue: string;
  beforeAll(async () => {
    kit = await startKit();
    legacyProduct(kit.sim);
    kit.sim.createProduct({
      productCode: 'contract-sns',
      pricingModel: 'contract',
      identity: 'customer-identifier',
      dimensions: [{ name: 'seats' }],
    });
    licenseProduct(kit.sim, 'license-both', 'both');
    subsQueue = kit.sim.queueUrl('marketplace-subscription');
    entQueue = kit.sim.queueUrl('marketplace-entitlement');
  });
  afterAll(() => kit.close());

  it('publishes subscribe-success on confirm: a signed SNS envelope whose Message is a JSON string with kebab-case keys', async () => {
    const s = await kit.sim.subscribe({ productCode: 'legacy-product', confirmation: 'manual', offerId: 'offer-abc123' });
    expect(await drain(kit.sqs, subsQueue)).toEqual([]); // nothing before payment is confirmed
    await kit.sim.confirm(s.id);
    const [n] = snsMessages(await drain(kit.sqs, subsQueue));
    expect(Object.keys(n!.envelope)).toEqual([
      'Type',
      'MessageId',
      'TopicArn',
      'Message',
      'Timestamp',
      'SignatureVersion',
      'Signature',
      'SigningCertURL',
      'UnsubscribeURL',
    ]);
    expect(n!.envelope.Type).toBe('Notification');
    expect(n!.envelope.TopicArn).toBe('arn:aws:sns:us-east-1:287250355862:aws-mp-subscription-notification-legacy-product');
    expect(n!.envelope.Timestamp).toBe(new Date(kit.clock.t).toISOString());
    expect(n!.envelope.SignatureVersion).toBe('1');
    expect(n!.envelope.SigningCertURL).toMatch(/\/simulator\/SimpleNotificationService-[0-9a-f]{32}\.pem$/);
    expect(typeof n!.envelope.Message).toBe('string');
    expect(n!.message).toEqual({
      action: 'subscribe-success',
      'customer-identifier': s.customerIdentifier,
      'product-code': 'legacy-product',
      'offer-identifier': 'offer-abc123',
      isFreeTrialTermPresent: 'false',
    });
    expect(await verifySns(n!.envelope)).toBe(true);
  });

  it('signs so that any change to a signed field breaks the signature', async () => {
    const s = await kit.sim.subscribe({ productCode: 'legacy-product', confirmation: 'manual' });
    await kit.sim.confirm(s.id);
    const [n] = snsMessages(await drain(kit.sqs, subsQueue));
    expect(await verifySns({ ...n!.envelope, Message: n!.envelope.Message!.replace('subscribe-success', 'unsubscribe-success') })).toBe(
      false,
    );
  });

  it('sends isFreeTrialTermPresent as the string "true" for free trials', async () => {
    const s = await kit.sim.subscribe({ productCode: 'legacy-product', confirmation: 'manual', freeTrial: true });
    await kit.sim.confirm(s.id);
    const [n] = snsMessages(await drain(kit.sqs, subsQueue));
    expect(n!.message.isFreeTrialTermPresent).toBe('true');
  });

  it('publishes unsubscribe-pending on cancel and unsubscribe-success after the delay (no offer-identifier on unsubscribe)', async () => {
    const s = await kit.sim.subscribe({ productCode: 'legacy-product', confirmation: 'manual' });
    await kit.sim.confirm(s.id);
    await drain(kit.sqs, subsQueue);
    // The delay runs on the simulator clock (advanced below), so the test does not race a real timer.
    await kit.sim.cancel(s.id, { endAfterMs: 60_000 });
    expect(snsMessages(await drain(kit.sqs, subsQueue)).map((n) => n.message)).toEqual([
      {
        action: 'unsubscribe-pending',
        'customer-identifier': s.customerIdentifier,
        'product-code': 'legacy-product',
        isFreeTrialTermPresent: 'false',
      },
    ]);
    expect(kit.sim.subscription(s.id).status).toBe('unsubscribe-pending');
    const due = kit.sim.now() + 60_000;
    await kit.sim.advanceClock(60_000);
    expect(kit.sim.subscription(s.id).status).toBe('unsubscribed');
    expect(kit.sim.subscription(s.id).endedAt).toBe(due);
    expect(snsMessages(await drain(kit.sqs, subsQueue)).map((n) => n.message.action)).toEqual(['unsubscribe-success']);
  });

  it('publishes subscribe-fail when payment fails', async () => {
    const s = await kit.sim.subscribe({ productCode: 'legacy-product', confirmation: 'manual' });
    await kit.sim.failPayment(s.id);
    expect(kit.sim.subscription(s.id).status).toBe('failed');
    expect(snsMessages(await drain(kit.sqs, subsQueue)).map((n) => n.message.action)).toEqual(['subscribe-fail']);
  });

  it('confirms automatically after confirmDelayMs', async () => {
    const sim = await startSimulator({ confirmDelayMs: 20 });
    try {
      legacyProduct(sim);
      const s = await sim.subscribe({ productCode: 'legacy-product' });
      expect(s.status).toBe('pending');
      await new Promise((r) => setTimeout(r, 80));
      expect(sim.subscription(s.id).status).toBe('active');
    } finally {
      await sim.stop();
    }
  });

  it('re-subscribing while unsubscribe-pending sends subscribe-success instead of unsubscribe-success (§5.2)', async () => {
    const s = await kit.sim.subscribe({ productCode: 'legacy-product', confirmation: 'manual', awsAccountId: '444455556666' });
    await kit.sim.confirm(s.id);
    await kit.sim.cancel(s.id, { endAfterMs: 40 });
    const again = await kit.sim.subscribe({ productCode: 'legacy-product', confirmation: 'manual', awsAccountId: '444455556666' });
    expect(again.id).toBe(s.id);
    await kit.sim.confirm(again.id);
    await new Promise((r) => setTimeout(r, 80));
    expect(snsMessages(await drain(kit.sqs, subsQueue)).map((n) => n.message.action)).toEqual([
      'subscribe-success',
      'unsubscribe-pending',
      'subscribe-success',
    ]);
    expect(kit.sim.subscription(s.id).status).toBe('active');
  });

  it('publishes entitlement-updated on the entitlement topic for contract changes', async () => {
    const s = await kit.sim.subscribe({ productCode: 'contract-sns', confirmation: 'manual' });
    await kit.sim.confirm(s.id);
    await kit.sim.setEntitlements(s.id, [{ dimension: 'seats', integerValue: 20 }]);
    const msgs = snsMessages(await drain(kit.sqs, entQueue));
    expect(msgs.map((n) => n.message)).toEqual([
      { action: 'entitlement-updated', 'customer-identifier': s.customerIdentifier, 'product-code': 'contract-sns' },
      { action: 'entitlement-updated', 'customer-identifier': s.customerIdentifier, 'product-code': 'contract-sns' },
    ]);
    expect(msgs[0]!.envelope.TopicArn).toBe('arn:aws:sns:us-east-1:287250355862:aws-mp-entitlement-notification-contract-sns');
    expect(kit.sim.subscription(s.id).entitlements).toEqual([{ dimension: 'seats', integerValue: 20 }]);
    expect(snsMessages(await drain(kit.sqs, subsQueue)).map((n) => n.message.action)).toEqual(['subscribe-success']);
  });

  it('adds customer-aws-account-id and license-arn (and no customer-identifier) for license products on SNS', async () => {
    const s = await kit.sim.subscribe({ productCode: 'license-both', confirmation: 'manual' });
    await kit.sim.confirm(s.id);
    const [n] = snsMessages(await drain(kit.sqs, subsQueue));
    expect(n!.message).toEqual({
      action: 'subscribe-success',
      'product-code': 'license-both',
      'customer-aws-account-id': s.customerAWSAccountId,
      'license-arn': s.licenseArn,
      'offer-identifier': s.offerId,
      isFreeTrialTermPresent: 'false',
    });
  });

  it('uses SignatureVersion 2 (SHA256withRSA) when configured', async () => {
    const k = await startKit({ signatureVersion: '2' });
    try {
      legacyProduct(k.sim);
      const s = await k.sim.subscribe({ productCode: 'legacy-product', confirmation: 'manual' });
      await k.sim.confirm(s.id);
      const [n] = snsMessages(await drain(k.sqs, k.sim.queueUrl('marketplace-subscription')));
      expect(n!.envelope.SignatureVersion).toBe('2');
      expect(await verifySns(n!.envelope)).toBe(true);
    } finally {
      await k.close();
    }
  });

  it('serves the signing certificate as a parseable self-signed X.509 PEM', async () => {
    const res = await fetch(kit.sim.signingCert.url);
    expect(res.status).toBe(200);
    const cert = new X509Certificate(await res.text());
    expect(cert.subject).toBe('CN=sns.us-east-1.amazonaws.com');
    expect(cert.verify(cert.publicKey)).toBe(true);
  });
});
