import { createHash } from 'node:crypto';
import {
  ChangeMessageVisibilityBatchCommand,
  ChangeMessageVisibilityCommand,
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
  SQSClient,
  type MessageAttributeValue,
} from '@aws-sdk/client-sqs';
import { startSimulator } from '../../src/simulator';
import { credentials, errorOf, startKit, type TestKit } from './support';

/** The SQS message-attribute MD5, written independently of the simulator's implementation. */
function attributesMd5(attrs: Record<string, MessageAttributeValue>): string {
  const hash = createHash('md5');
  const put = (b: Buffer) => {
    const n = Buffer.alloc(4);
    n.writeUInt32BE(b.length);
    hash.update(n);
    hash.update(b);
  };
  for (const name of Object.keys(attrs).sort()) {
    const a = attrs[name]!;
    put(Buffer.from(name));
    put(Buffer.from(a.DataType!));
    if (a.DataType!.startsWith('Binary')) {
      hash.update(Buffer.from([2]));
      put(Buffer.from(a.BinaryValue!));
    } else {
      hash.update(Buffer.from([1]));
      put(Buffer.from(a.StringValue!));
    }
  }
  return hash.digest('hex');
}

describe('SQS messages (facts §3.1–§3.4)', () => {
  let kit: TestKit;
  let n = 0;
  const queue = async (attributes: Record<string, string> = {}) =>
    (await kit.sqs.send(new CreateQueueCommand({ QueueName: `q${++n}`, Attributes: attributes }))).QueueUrl!;
  const receive = (QueueUrl: string, extra: Record<string, unknown> = {}) =>
    kit.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl,
        MaxNumberOfMessages: 10,
        MessageSystemAttributeNames: ['All'],
        MessageAttributeNames: ['All'],
        ...extra,
      }),
    );

  beforeAll(async () => {
    kit = await startKit();
  });
  afterAll(() => kit.close());

  it('round-trips a body and attributes; the SDK MD5 checks pass and MD5OfMessageAttributes follows the SQS algorithm', async () => {
    const QueueUrl = await queue();
    const attrs: Record<string, MessageAttributeValue> = {
      kind: { DataType: 'String', StringValue: 'subscribe-success' },
      count: { DataType: 'Number', StringValue: '42' },
      blob: { DataType: 'Binary', BinaryValue: new Uint8Array([1, 2, 3, 250]) },
    };
    const body = '{"emoji":"✓ ünïcode 𝄞"}';
    const sent = await kit.sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: body, MessageAttributes: attrs }));
    expect(sent.MD5OfMessageBody).toBe(createHash('md5').update(body).digest('hex'));
    expect(sent.MD5OfMessageAttributes).toBe(attributesMd5(attrs));
    const got = await receive(QueueUrl);
    const m = got.Messages![0]!;
    expect(m.Body).toBe(body);
    expect(m.MessageId).toBe(sent.MessageId);
    expect(m.MD5OfMessageAttributes).toBe(attributesMd5(attrs));
    expect(m.MessageAttributes!.count).toEqual({ DataType: 'Number', StringValue: '42' });
    expect(Buffer.from(m.MessageAttributes!.blob!.BinaryValue!)).toEqual(Buffer.from([1, 2, 3, 250]));
    expect(m.Attributes).toEqual(
      expect.objectContaining({
        ApproximateReceiveCount: '1',
        SentTimestamp: String(kit.clock.t),
        ApproximateFirstReceiveTimestamp: String(kit.clock.t),
        SenderId: credentials.accessKeyId,
      }),
    );
  });

  it('computes MD5OfMessageAttributes over the attributes ReceiveMessage returns (MessageAttributeNames), none when none are returned', async () => {
    const QueueUrl = await queue({ VisibilityTimeout: '0' });
    const attrs: Record<string, MessageAttributeValue> = {
      kind: { DataType: 'String', StringValue: 'subscribe-success' },
      count: { DataType: 'Number', StringValue: '42' },
      'x.trace': { DataType: 'String', StringValue: 't-1' },
    };
    await kit.sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: 'm', MessageAttributes: attrs }));
    const get = async (MessageAttributeNames?: string[]) =>
      (await kit.sqs.send(new ReceiveMessageCommand({ QueueUrl, MessageAttributeNames, WaitTimeSeconds: 0 }))).Messages![0]!;
    const one = await get(['kind']);
    expect(Object.keys(one.MessageAttributes!)).toEqual(['kind']);
    expect(one.MD5OfMessageAttributes).toBe(attributesMd5({ kind: attrs.kind! }));
    const prefixed = await get(['x.*', 'count']);
    expect(Object.keys(prefixed.MessageAttributes!).sort()).toEqual(['count', 'x.trace']);
    expect(prefixed.MD5OfMessageAttributes).toBe(attributesMd5({ count: attrs.count!, 'x.trace': attrs['x.trace']! }));
    const none = await get();
    expect(none.MessageAttributes).toBeUndefined();
    expect(none.MD5OfMessageAttributes).toBeUndefined();
    expect((await get(['All'])).MD5OfMessageAttributes).toBe(attributesMd5(attrs));
  });

  it('hides a received message for the visibility timeout, then redelivers it with a new receipt handle and a higher receive count', async () => {
    const QueueUrl = await queue({ VisibilityTimeout: '30' });
    await kit.sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: 'v' }));
    const first = (await receive(QueueUrl)).Messages![0]!;
    expect((await receive(QueueUrl)).Messages).toBeUndefined();
    kit.clock.advance(29_999);
    expect((await receive(QueueUrl)).Messages).toBeUndefined();
    kit.clock.advance(1);
    const second = (await receive(QueueUrl)).Messages![0]!;
    expect(second.MessageId).toBe(first.MessageId);
    expect(second.ReceiptHandle).not.toBe(first.ReceiptHandle);
    expect(second.Attributes!.ApproximateReceiveCount).toBe('2');
    expect(second.Attributes!.ApproximateFirstReceiveTimestamp).toBe(first.Attributes!.ApproximateFirstReceiveTimestamp);
    // An old receipt handle "succeeds" without deleting (§3.2).
    await kit.sqs.send(new DeleteMessageCommand({ QueueUrl, ReceiptHandle: first.ReceiptHandle }));
    kit.clock.advance(30_000);
    const third = (await receive(QueueUrl)).Messages![0]!;
    expect(third.MessageId).toBe(first.MessageId);
    await kit.sqs.send(new DeleteMessageCommand({ QueueUrl, ReceiptHandle: third.ReceiptHandle }));
    kit.clock.advance(30_000);
    expect((await receive(QueueUrl)).Messages).toBeUndefined();
  });

  it('ChangeMessageVisibility counts from now; 0 releases at once; not in flight → MessageNotInflight', async () => {
    const QueueUrl = await queue();
    await kit.sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: 'c' }));
    const m = (await receive(QueueUrl, { VisibilityTimeout: 10 })).Messages![0]!;
    kit.clock.advance(5_000);
    await kit.sqs.send(new ChangeMessageVisibilityCommand({ QueueUrl, ReceiptHandle: m.ReceiptHandle, VisibilityTimeout: 20 }));
    kit.clock.advance(19_000);
    expect((await receive(QueueUrl)).Messages).toBeUndefined();
    kit.clock.advance(1_000);
    const again = (await receive(QueueUrl, { VisibilityTimeout: 60 })).Messages![0]!;
    await kit.sqs.send(new ChangeMessageVisibilityCommand({ QueueUrl, ReceiptHandle: again.ReceiptHandle, VisibilityTimeout: 0 }));
    const err = await errorOf(
      kit.sqs.send(new ChangeMessageVisibilityCommand({ QueueUrl, ReceiptHandle: again.ReceiptHandle, VisibilityTimeout: 5 })),
    );
    expect(err.name).toBe('MessageNotInflight');
    expect(err.Code).toBe('AWS.SimpleQueueService.MessageNotInflight');
    expect((await receive(QueueUrl)).Messages![0]!.Attributes!.ApproximateReceiveCount).toBe('3');
  });

  it('answers ReceiptHandleIsInvalid (404) for a receipt handle it never issued', async () => {
    const QueueUrl = await queue();
    const err = await errorOf(kit.sqs.send(new DeleteMessageCommand({ QueueUrl, ReceiptHandle: 'garbage' })));
    expect(err.name).toBe('ReceiptHandleIsInvalid');
    expect(err.$metadata?.httpStatusCode).toBe(404);
  });

  it('moves a message to the dead-letter queue once received maxReceiveCount times', async () => {
    const dlqUrl = await queue();
    const dlqArn = (await kit.sqs.send(new GetQueueAttributesCommand({ QueueUrl: dlqUrl, AttributeNames: ['QueueArn'] }))).Attributes!
      .QueueArn!;
    const QueueUrl = await queue({
      RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlqArn, maxReceiveCount: 2 }),
      VisibilityTimeout: '1',
    });
    const sent = await kit.sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: 'poison' }));
    for (let i = 0; i < 2; i++) {
      expect((await receive(QueueUrl)).Messages![0]!.MessageId).toBe(sent.MessageId);
      kit.clock.advance(1_000);
    }
    expect((await receive(QueueUrl)).Messages).toBeUndefined();
    const dead = (await receive(dlqUrl)).Messages![0]!;
    expect(dead.MessageId).toBe(sent.MessageId);
    expect(dead.Body).toBe('poison');
    expect(dead.Attributes!.DeadLetterQueueSourceArn).toMatch(/:q\d+$/);
  });

  it('batches: SendMessageBatch and DeleteMessageBatch answer 200 with per-entry Successful/Failed', async () => {
    const QueueUrl = await queue();
    const sent = await kit.sqs.send(
      new SendMessageBatchCommand({
        QueueUrl,
        Entries: [
          { Id: 'a', MessageBody: 'one' },
          { Id: 'b', MessageBody: 'two' },
          { Id: 'c', MessageBody: 'bad\u0001char' },
        ],
      }),
    );
    expect(sent.Successful!.map((e) => e.Id).sort()).toEqual(['a', 'b']);
    expect(sent.Failed).toEqual([expect.objectContaining({ Id: 'c', SenderFault: true, Code: 'InvalidMessageContents' })]);
    const msgs = (await receive(QueueUrl)).Messages!;
    const del = await kit.sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl,
        Entries: [...msgs.map((m, i) => ({ Id: `m${i}`, ReceiptHandle: m.ReceiptHandle! })), { Id: 'junk', ReceiptHandle: 'not-a-handle' }],
      }),
    );
    expect(del.Successful).toHaveLength(2);
    expect(del.Failed).toEqual([expect.objectContaining({ Id: 'junk', SenderFault: true, Code: 'ReceiptHandleIsInvalid' })]);
    const cmv = await kit.sqs.send(
      new ChangeMessageVisibilityBatchCommand({
        QueueUrl,
        Entries: [{ Id: 'x', ReceiptHandle: msgs[0]!.ReceiptHandle!, VisibilityTimeout: 5 }],
      }),
    );
    expect(cmv.Failed).toHaveLength(1);
  });

  it('rejects malformed batches: empty, more than 10, repeated ids', async () => {
    const QueueUrl = await queue();
    expect((await errorOf(kit.sqs.send(new SendMessageBatchCommand({ QueueUrl, Entries: [] })))).name).toBe('EmptyBatchRequest');
    const eleven = Array.from({ length: 11 }, (_, i) => ({ Id: `e${i}`, MessageBody: 'x' }));
    const tooMany = await errorOf(kit.sqs.send(new SendMessageBatchCommand({ QueueUrl, Entries: eleven })));
    expect(tooMany.name).toBe('TooManyEntriesInBatchRequest');
    expect(tooMany.Code).toBe('AWS.SimpleQueueService.TooManyEntriesInBatchRequest');
    expect(
      (
        await errorOf(
          kit.sqs.send(
            new SendMessageBatchCommand({
              QueueUrl,
              Entries: [
                { Id: 'd', MessageBody: 'x' },
                { Id: 'd', MessageBody: 'y' },
              ],
            }),
          ),
        )
      ).name,
    ).toBe('BatchEntryIdsNotDistinct');
  });

  it('validates ReceiveMessage parameters (MaxNumberOfMessages 1–10, WaitTimeSeconds 0–20)', async () => {
    const QueueUrl = await queue();
    const err = await errorOf(receive(QueueUrl, { MaxNumberOfMessages: 11 }));
    expect(err.name).toBe('InvalidParameterValue');
    expect((await errorOf(receive(QueueUrl, { WaitTimeSeconds: 21 }))).name).toBe('InvalidParameterValue');
  });

  it('delays a message by DelaySeconds on the simulator clock', async () => {
    const QueueUrl = await queue();
    await kit.sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: 'later', DelaySeconds: 10 }));
    expect(
      (await kit.sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['ApproximateNumberOfMessagesDelayed'] }))).Attributes,
    ).toEqual({ ApproximateNumberOfMessagesDelayed: '1' });
    expect((await receive(QueueUrl)).Messages).toBeUndefined();
    kit.clock.advance(10_000);
    expect((await receive(QueueUrl)).Messages![0]!.Body).toBe('later');
  });

  it('long polling returns as soon as a message arrives', async () => {
    const QueueUrl = await queue();
    const started = Date.now();
    const pending = receive(QueueUrl, { WaitTimeSeconds: 10 });
    setTimeout(() => void kit.sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: 'wake up' })), 150);
    const got = await pending;
    expect(got.Messages![0]!.Body).toBe('wake up');
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it('long polling waits WaitTimeSeconds and returns no messages when none arrive', async () => {
    const QueueUrl = await queue();
    const started = Date.now();
    const got = await receive(QueueUrl, { WaitTimeSeconds: 1 });
    expect(got.Messages).toBeUndefined();
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
  });

  it('stop() does not wait for a 20 s long poll in progress', async () => {
    const sim = await startSimulator();
    const sqs = new SQSClient({ endpoint: sim.url, region: 'us-east-1', credentials, maxAttempts: 1 });
    const poll = sqs.send(new ReceiveMessageCommand({ QueueUrl: sim.queueUrl('marketplace-subscription'), WaitTimeSeconds: 20 })).then(
      (r) => r.Messages ?? [],
      () => [],
    );
    await new Promise((r) => setTimeout(r, 100));
    const started = Date.now();
    await sim.stop();
    expect(Date.now() - started).toBeLessThan(1_500);
    expect(await poll).toEqual([]);
    sqs.destroy();
  });
});
