import {
  DeleteMessageCommand,
  GetQueueUrlCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
  SQSClient,
  errorTypeRegistries,
} from '@aws-sdk/client-sqs';
import { AwsQueryProtocol } from '@aws-sdk/core/protocols';
import { startSimulator, type Simulator } from '../../src/simulator';
import { credentials, errorOf } from './support';

/**
 * The legacy SQS Query protocol (form-encoded Action=…, XML answers) spoken by older SDKs and by
 * Debian bookworm's awscli 2.9.19. Checked with the real SDK switched to its AwsQueryProtocol
 * (facts §3.1 "Alternative"), and with a raw form POST.
 */
describe('SQS Query protocol', () => {
  let sim: Simulator;
  let sqs: SQSClient;
  beforeAll(async () => {
    sim = await startSimulator();
    sqs = new SQSClient({
      endpoint: sim.url,
      region: 'us-east-1',
      credentials,
      maxAttempts: 1,
      protocol: AwsQueryProtocol as never,
      protocolSettings: {
        defaultNamespace: 'com.amazonaws.sqs',
        xmlNamespace: 'http://queue.amazonaws.com/doc/2012-11-05/',
        version: '2012-11-05',
        errorTypeRegistries,
      } as never,
    });
  });
  afterAll(async () => {
    sqs.destroy();
    await sim.stop();
  });

  it('sends, receives (with attributes, XML-escaped body) and deletes through the Query protocol', async () => {
    const QueueUrl = sim.queueUrl('marketplace-subscription');
    const body = '<Message> & "quotes" \r\n';
    const sent = await sqs.send(
      new SendMessageCommand({ QueueUrl, MessageBody: body, MessageAttributes: { kind: { DataType: 'String', StringValue: 'x<y' } } }),
    );
    const got = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl,
        MessageSystemAttributeNames: ['All'],
        MessageAttributeNames: ['All'],
        MaxNumberOfMessages: 10,
      }),
    );
    expect(got.Messages).toHaveLength(1);
    const m = got.Messages![0]!;
    expect(m.MessageId).toBe(sent.MessageId);
    expect(m.Body).toBe(body);
    expect(m.MessageAttributes).toEqual({ kind: { DataType: 'String', StringValue: 'x<y' } });
    expect(m.Attributes?.ApproximateReceiveCount).toBe('1');
    await sqs.send(new DeleteMessageCommand({ QueueUrl, ReceiptHandle: m.ReceiptHandle }));
    expect((await sqs.send(new ReceiveMessageCommand({ QueueUrl }))).Messages).toBeUndefined();
  });

  it('answers batches with result entries and errors with the legacy query code', async () => {
    const QueueUrl = sim.queueUrl('marketplace-entitlement');
    const out = await sqs.send(
      new SendMessageBatchCommand({
        QueueUrl,
        Entries: [
          { Id: 'a', MessageBody: 'one' },
          { Id: 'b', MessageBody: 'bad\u0002' },
        ],
      }),
    );
    expect(out.Successful?.map((e) => e.Id)).toEqual(['a']);
    expect(out.Failed).toEqual([expect.objectContaining({ Id: 'b', Code: 'InvalidMessageContents', SenderFault: true })]);
    const err = await errorOf(sqs.send(new GetQueueUrlCommand({ QueueName: 'nope' })));
    expect(err.name).toBe('QueueDoesNotExist');
  });

  it('renders a raw form POST as XML with an <ErrorResponse> for an unknown action', async () => {
    const auth = 'AWS4-HMAC-SHA256 Credential=AKID/20260310/us-east-1/sqs/aws4_request, SignedHeaders=host, Signature=00';
    const ok = await fetch(sim.url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8', authorization: auth },
      body: new URLSearchParams({ Action: 'GetQueueUrl', Version: '2012-11-05', QueueName: 'marketplace-eventbridge' }).toString(),
    });
    expect(ok.status).toBe(200);
    expect(await ok.text()).toContain(
      `<GetQueueUrlResult><QueueUrl>${sim.queueUrl('marketplace-eventbridge')}</QueueUrl></GetQueueUrlResult>`,
    );
    const bad = await fetch(sim.url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: auth },
      body: 'Action=Explode&Version=2012-11-05',
    });
    expect(bad.status).toBe(400);
    expect(await bad.text()).toMatch(/<ErrorResponse.*<Code>InvalidAction<\/Code>/);
  });
});
