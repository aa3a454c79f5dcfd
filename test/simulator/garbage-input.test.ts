import { MarketplaceMeteringClient, ResolveCustomerCommand } from '@aws-sdk/client-marketplace-metering';
import { credentials, errorOf, legacyProduct, startKit, type TestKit } from './support';

const METERING_AUTH =
  'AWS4-HMAC-SHA256 Credential=AKIDTEST/20260310/us-east-1/aws-marketplace/aws4_request, SignedHeaders=host;x-amz-date, Signature=0000';
const SQS_AUTH = 'AWS4-HMAC-SHA256 Credential=AKIDTEST/20260310/us-east-1/sqs/aws4_request, SignedHeaders=host;x-amz-date, Signature=0000';

describe('bad input gets the AWS-style error a client expects, never a crash (plain fetch)', () => {
  let kit: TestKit;
  beforeAll(async () => {
    kit = await startKit();
    legacyProduct(kit.sim);
  });
  afterAll(() => kit.close());

  const post = (target: string | undefined, body: string | Buffer, headers: Record<string, string> = {}) =>
    fetch(kit.sim.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-amz-json-1.1',
        authorization: METERING_AUTH,
        ...(target ? { 'x-amz-target': target } : {}),
        ...headers,
      },
      body,
    });
  const json = async (res: Response) => ({
    status: res.status,
    type: res.headers.get('content-type'),
    body: (await res.json()) as { __type: string; message: string },
  });

  it('malformed JSON → 400 SerializationException with __type', async () => {
    const r = await json(await post('AWSMPMeteringService.BatchMeterUsage', '{"UsageRecords": ['));
    expect(r.status).toBe(400);
    expect(r.type).toBe('application/x-amz-json-1.1');
    expect(r.body.__type).toBe('SerializationException');
    expect(r.body.message).toBeTruthy();
  });

  it.each([
    ['a JSON array body', '[]'],
    ['a JSON string body', '"hello"'],
    ['a list where a string belongs', JSON.stringify({ RegistrationToken: ['a'] })],
    ['binary garbage', Buffer.from([0xff, 0xfe, 0x00, 0x7b])],
  ])('%s → SerializationException', async (_label, body) => {
    const r = await json(await post('AWSMPMeteringService.ResolveCustomer', body));
    expect(r.status).toBe(400);
    expect(r.body.__type).toBe('SerializationException');
  });

  it('a string quantity → SerializationException; a missing required member → ValidationException naming it', async () => {
    const wrongType = await json(
      await post(
        'AWSMPMeteringService.BatchMeterUsage',
        JSON.stringify({ ProductCode: 'legacy-product', UsageRecords: [{ Timestamp: 1, Dimension: 'users', Quantity: '3' }] }),
      ),
    );
    expect(wrongType.body.__type).toBe('SerializationException');
    const missing = await json(await post('AWSMPMeteringService.BatchMeterUsage', JSON.stringify({ ProductCode: 'legacy-product' })));
    expect(missing.status).toBe(400);
    expect(missing.body.__type).toBe('ValidationException');
    expect(missing.body.message).toMatch(
      /^1 validation error detected: Value null at 'usageRecords' failed to satisfy constraint: Member must not be null/,
    );
  });

  it('an ISO string where epoch seconds belong → SerializationException', async () => {
    const r = await json(
      await post(
        'AWSMPMeteringService.BatchMeterUsage',
        JSON.stringify({
          ProductCode: 'legacy-product',
          UsageRecords: [{ Timestamp: '2026-03-10T12:00:00Z', Dimension: 'users', Quantity: 1, CustomerIdentifier: 'x' }],
        }),
      ),
    );
    expect(r.body.__type).toBe('SerializationException');
  });

  it.each([['AWSMPMeteringService.Explode'], ['AWSMPEntitlementService.GetEverything'], ['NoSuchService.Op'], ['garbage']])(
    'unknown target %s → 400 UnknownOperationException',
    async (target) => {
      const r = await json(await post(target, '{}'));
      expect(r.status).toBe(400);
      expect(r.body.__type).toBe('UnknownOperationException');
    },
  );

  it('a POST with no X-Amz-Target and no form body → UnknownOperationException', async () => {
    const r = await json(await post(undefined, '{}'));
    expect(r.body.__type).toBe('UnknownOperationException');
  });

  it('an unsigned call → 403 MissingAuthenticationTokenException; a call scoped to the wrong service → 403 InvalidSignatureException', async () => {
    const unsigned = await json(await post('AWSMPMeteringService.ResolveCustomer', '{}', { authorization: '' }));
    expect(unsigned.status).toBe(403);
    expect(unsigned.body.__type).toBe('MissingAuthenticationTokenException');
    const wrongService = await json(await post('AWSMPMeteringService.ResolveCustomer', '{}', { authorization: SQS_AUTH }));
    expect(wrongService.status).toBe(403);
    expect(wrongService.body.__type).toBe('InvalidSignatureException');
  });

  it('the real SDK configured for another region gets InvalidSignatureException (Marketplace endpoints are us-east-1)', async () => {
    const client = new MarketplaceMeteringClient({ endpoint: kit.sim.url, region: 'eu-west-1', credentials, maxAttempts: 1 });
    const err = await errorOf(client.send(new ResolveCustomerCommand({ RegistrationToken: 't' })));
    client.destroy();
    expect(err.name).toBe('InvalidSignatureException');
    expect(err.$metadata?.httpStatusCode).toBe(403);
  });

  it('SQS JSON errors carry x-amzn-query-error in query mode (MissingParameter for a missing QueueUrl)', async () => {
    const res = await post('AmazonSQS.ReceiveMessage', '{}', {
      'content-type': 'application/x-amz-json-1.0',
      'x-amzn-query-mode': 'true',
      authorization: SQS_AUTH,
    });
    expect(res.status).toBe(400);
    expect(res.headers.get('x-amzn-query-error')).toBe('MissingParameter;Sender');
    expect(((await res.json()) as { __type: string }).__type).toBe('com.amazonaws.sqs#MissingParameter');
    const bad = await post('AmazonSQS.SendMessage', '{"QueueUrl":', {
      'content-type': 'application/x-amz-json-1.0',
      'x-amzn-query-mode': 'true',
      authorization: SQS_AUTH,
    });
    expect(bad.headers.get('x-amzn-query-error')).toBe('SerializationException;Sender');
  });

  it('a body over the size limit → 413, and a BatchMeterUsage body of 1 MB or more → ValidationException', async () => {
    const huge = await post('AWSMPMeteringService.BatchMeterUsage', Buffer.alloc(2 * 1_048_576 + 10, 0x20));
    expect(huge.status).toBe(413);
    const big = JSON.stringify({ ProductCode: 'legacy-product', UsageRecords: [], Padding: 'x'.repeat(1_048_576) });
    const r = await json(await post('AWSMPMeteringService.BatchMeterUsage', big));
    expect(r.body.__type).toBe('ValidationException');
    expect(r.body.message).toMatch(/1 MB/);
  });

  it('still answers a valid call after all that', async () => {
    const s = await kit.sim.subscribe({ productCode: 'legacy-product', confirmation: 'manual' });
    const out = await kit.metering.send(new ResolveCustomerCommand({ RegistrationToken: s.registrationToken }));
    expect(out.CustomerIdentifier).toBe(s.customerIdentifier);
  });
});
