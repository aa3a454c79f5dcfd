import {
  certificateOrigin,
  checkSigningCertificate,
  isAllowedSubscribeUrl,
  isAwsSnsCertUrl,
  isAwsSnsHost,
} from '../../src/events/sns-trust';
import { makeTestCertificates, type TestCertificates } from '../support/test-certificates';

const FILE = 'SimpleNotificationService-f3ecfb7224c7233fe7bb5f59f96de52f.pem';
let NOW: Date;
let certs: TestCertificates;
beforeAll(() => {
  certs = makeTestCertificates();
  NOW = new Date(Date.now() + 60_000);
});

describe('SNS hosts and certificate URLs (facts §4.3)', () => {
  it.each([
    'sns.us-east-1.amazonaws.com',
    'sns.us-west-2.amazonaws.com',
    'sns.eu-central-2.amazonaws.com',
    'sns.ap-southeast-4.amazonaws.com',
    'sns.ap-northeast-3.amazonaws.com',
    'sns.il-central-1.amazonaws.com',
    'sns.me-south-1.amazonaws.com',
    'sns.ca-west-1.amazonaws.com',
    'sns.us-gov-west-1.amazonaws.com',
    'sns.cn-north-1.amazonaws.com.cn',
    'sns.cn-northwest-1.amazonaws.com.cn',
  ])('accepts the regional SNS host %s', (host) => {
    expect(isAwsSnsHost(host)).toBe(true);
    expect(isAwsSnsCertUrl(`https://${host}/${FILE}`)).toBe(true);
    expect(certificateOrigin(`https://${host}/${FILE}`, {})).toBe('aws');
  });

  // S3 bucket hosts (virtual-hosted style, bucket "sns"), look-alikes and other labels: someone
  // other than AWS may serve a certificate there.
  it.each([
    'sns.s3-us-west-2.amazonaws.com',
    'sns.s3-accelerate.amazonaws.com',
    'sns.s3.amazonaws.com',
    'sns.s3.us-east-1.amazonaws.com',
    'sns.s3-website-us-east-1.amazonaws.com',
    'sns.execute-api.amazonaws.com',
    'sns.us-east-1.elb.amazonaws.com',
    'sns.foo.amazonaws.com',
    'sns.amazonaws.com',
    'sns.us-east-1.amazonaws.com.cn',
    'sns.cn-north-1.amazonaws.com',
    'sns.us-east-1.amazonaws.com.evil.example',
    'evil.sns.us-east-1.amazonaws.com',
    'SNS.US-EAST-1.AMAZONAWS.COM',
    'sns.us-east-1x.amazonaws.com',
  ])('refuses the host %s', (host) => {
    expect(isAwsSnsHost(host)).toBe(false);
    expect(isAwsSnsCertUrl(`https://${host}/${FILE}`)).toBe(false);
    expect(certificateOrigin(`https://${host}/${FILE}`, {})).toBeNull();
  });

  it.each([
    `http://sns.us-east-1.amazonaws.com/${FILE}`,
    'https://sns.us-east-1.amazonaws.com/SimpleNotificationService-short.pem',
    `https://sns.us-east-1.amazonaws.com:443/${FILE}`,
    `https://user@sns.us-east-1.amazonaws.com/${FILE}`,
    `https://sns.us-east-1.amazonaws.com/a/${FILE}`,
    `https://sns.us-east-1.amazonaws.com/${FILE}?x=1`,
    `https://sns.us-east-1.amazonaws.com/${FILE}#x`,
    `https://sns.us-east-1.amazonaws.com/${FILE.replace('.pem', '.crt')}`,
    `https://sns.us-east-1.amazonaws.com/${FILE.replace('f3ec', 'zzzz')}`,
    '',
  ])('refuses the certificate URL %s', (url) => {
    expect(certificateOrigin(url, {})).toBeNull();
  });

  it('trusts the simulator only at its exact origin, and only its certificate path', () => {
    const trust = { simulatorOrigin: 'http://127.0.0.1:4599' };
    expect(certificateOrigin(`http://127.0.0.1:4599/simulator/${FILE}`, trust)).toBe('simulator');
    expect(certificateOrigin(`http://127.0.0.1:4599/simulator/${FILE}`, {})).toBeNull();
    expect(certificateOrigin(`http://127.0.0.1:4598/simulator/${FILE}`, trust)).toBeNull();
    expect(certificateOrigin(`http://127.0.0.1:45990/simulator/${FILE}`, trust)).toBeNull();
    expect(certificateOrigin(`http://127.0.0.1:4599/other/${FILE}`, trust)).toBeNull();
    expect(certificateOrigin(`http://127.0.0.1:4599@evil.example/simulator/${FILE}`, trust)).toBeNull();
  });
});

describe('SubscribeURL allow-list (facts §4.2)', () => {
  it.each([
    ['https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription&TopicArn=arn&Token=t', true],
    ['https://sns.cn-north-1.amazonaws.com.cn/?Action=ConfirmSubscription', true],
    ['https://sns.s3-us-west-2.amazonaws.com/?Action=ConfirmSubscription', false],
    ['https://sns.s3-accelerate.amazonaws.com/?Action=ConfirmSubscription', false],
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

  it("accepts the embedded simulator's exact origin only", () => {
    const trust = { simulatorOrigin: 'http://127.0.0.1:4566' };
    expect(isAllowedSubscribeUrl('http://127.0.0.1:4566/simulator/confirm?token=t', trust)).toBe(true);
    expect(isAllowedSubscribeUrl('http://127.0.0.1:4567/simulator/confirm?token=t', trust)).toBe(false);
    expect(isAllowedSubscribeUrl('http://127.0.0.1:4566/elsewhere', trust)).toBe(false);
  });
});

describe('signing certificate checks', () => {
  it('accepts a leaf naming SNS, issued by a CA, within its dates (alone or with its chain)', () => {
    expect(checkSigningCertificate(certs.leaf, 'aws', NOW)).toMatchObject({ ok: true });
    expect(checkSigningCertificate(certs.leafWithChain, 'aws', NOW)).toMatchObject({ ok: true });
  });

  it('refuses a self-signed certificate from AWS hosts (the simulator signs its own)', () => {
    expect(checkSigningCertificate(certs.selfSigned, 'aws', NOW)).toEqual({ ok: false, reason: 'signing certificate is self-signed' });
    expect(checkSigningCertificate(certs.selfSigned, 'simulator', NOW)).toMatchObject({ ok: true });
  });

  it('refuses a CA certificate, one that does not name SNS, and a chain that does not link up', () => {
    expect(checkSigningCertificate(certs.ca, 'aws', NOW)).toMatchObject({ ok: false, reason: expect.stringMatching(/does not name SNS/) });
    expect(checkSigningCertificate(certs.notSns, 'aws', NOW)).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/does not name SNS/),
    });
    expect(checkSigningCertificate(certs.brokenChain, 'aws', NOW)).toEqual({ ok: false, reason: 'certificate chain does not link up' });
  });

  it('refuses a certificate outside its validity period', () => {
    expect(checkSigningCertificate(certs.leaf, 'aws', new Date('2200-01-01T00:00:00Z'))).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/validity/),
    });
    expect(checkSigningCertificate(certs.leaf, 'aws', new Date('2000-01-01T00:00:00Z'))).toMatchObject({ ok: false });
  });

  it.each(['', 'not a pem', '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----', '<html>404</html>'])('refuses %p', (pem) => {
    expect(checkSigningCertificate(pem, 'aws', NOW)).toMatchObject({ ok: false });
  });
});
