import {
  CreateQueueCommand,
  DeleteQueueCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  ListDeadLetterSourceQueuesCommand,
  ListQueuesCommand,
  PurgeQueueCommand,
  SendMessageCommand,
  SetQueueAttributesCommand,
} from '@aws-sdk/client-sqs';
import { errorOf, startKit, type TestKit } from './support';

describe('SQS queues over AWS JSON 1.0 with query compatibility (facts §3.1, §3.4)', () => {
  let kit: TestKit;
  beforeAll(async () => {
    kit = await startKit({ queues: { subscription: 'subs', entitlement: 'ents', eventBridge: 'events' }, maxReceiveCount: 5 });
  });
  afterAll(() => kit.close());

  it('creates each notification queue with a <name>-dlq and RedrivePolicy maxReceiveCount 5', async () => {
    for (const name of ['subs', 'ents', 'events']) {
      const { QueueUrl } = await kit.sqs.send(new GetQueueUrlCommand({ QueueName: name }));
      expect(QueueUrl).toBe(kit.sim.queueUrl(name));
      expect(QueueUrl).toBe(`${kit.sim.url}/111122223333/${name}`);
      const attrs = (await kit.sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['All'] }))).Attributes!;
      expect(JSON.parse(attrs.RedrivePolicy!)).toEqual({
        deadLetterTargetArn: `arn:aws:sqs:us-east-1:111122223333:${name}-dlq`,
        maxReceiveCount: 5,
      });
      expect(attrs.QueueArn).toBe(`arn:aws:sqs:us-east-1:111122223333:${name}`);
    }
    const sources = await kit.sqs.send(new ListDeadLetterSourceQueuesCommand({ QueueUrl: kit.sim.queueUrl('subs-dlq') }));
    expect(sources.queueUrls).toEqual([kit.sim.queueUrl('subs')]);
  });

  it('returns the documented attribute defaults as strings', async () => {
    const { QueueUrl } = await kit.sqs.send(new CreateQueueCommand({ QueueName: 'defaults' }));
    const attrs = (await kit.sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['All'] }))).Attributes!;
    expect(attrs).toEqual(
      expect.objectContaining({
        VisibilityTimeout: '30',
        ReceiveMessageWaitTimeSeconds: '0',
        MaximumMessageSize: '1048576',
        MessageRetentionPeriod: '345600',
        DelaySeconds: '0',
        ApproximateNumberOfMessages: '0',
      }),
    );
    const some = (await kit.sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['VisibilityTimeout'] }))).Attributes!;
    expect(some).toEqual({ VisibilityTimeout: '30' });
  });

  it('CreateQueue is idempotent with the same attributes and fails with QueueNameExists (Code QueueAlreadyExists) otherwise', async () => {
    const a = await kit.sqs.send(new CreateQueueCommand({ QueueName: 'idem', Attributes: { VisibilityTimeout: '10' } }));
    const b = await kit.sqs.send(new CreateQueueCommand({ QueueName: 'idem', Attributes: { VisibilityTimeout: '10' } }));
    expect(b.QueueUrl).toBe(a.QueueUrl);
    const err = await errorOf(kit.sqs.send(new CreateQueueCommand({ QueueName: 'idem', Attributes: { VisibilityTimeout: '11' } })));
    expect(err.name).toBe('QueueNameExists');
    expect(err.Code).toBe('QueueAlreadyExists');
  });

  it('answers QueueDoesNotExist with Code AWS.SimpleQueueService.NonExistentQueue (x-amzn-query-error)', async () => {
    const err = await errorOf(kit.sqs.send(new GetQueueUrlCommand({ QueueName: 'missing' })));
    expect(err.name).toBe('QueueDoesNotExist');
    expect(err.Code).toBe('AWS.SimpleQueueService.NonExistentQueue');
    expect(err.$metadata?.httpStatusCode).toBe(400);
    const send = await errorOf(kit.sqs.send(new SendMessageCommand({ QueueUrl: `${kit.sim.url}/111122223333/missing`, MessageBody: 'x' })));
    expect(send.name).toBe('QueueDoesNotExist');
  });

  it('validates attributes: out-of-range values (InvalidAttributeValue) and unknown names (InvalidAttributeName)', async () => {
    const { QueueUrl } = await kit.sqs.send(new CreateQueueCommand({ QueueName: 'attrs' }));
    expect(
      (await errorOf(kit.sqs.send(new SetQueueAttributesCommand({ QueueUrl, Attributes: { ReceiveMessageWaitTimeSeconds: '21' } })))).name,
    ).toBe('InvalidAttributeValue');
    expect(
      (await errorOf(kit.sqs.send(new SetQueueAttributesCommand({ QueueUrl, Attributes: { Colour: 'blue' } as Record<string, string> }))))
        .name,
    ).toBe('InvalidAttributeName');
    const badRedrive = await errorOf(
      kit.sqs.send(
        new SetQueueAttributesCommand({
          QueueUrl,
          Attributes: {
            RedrivePolicy: JSON.stringify({ deadLetterTargetArn: 'arn:aws:sqs:us-east-1:111122223333:nope', maxReceiveCount: 3 }),
          },
        }),
      ),
    );
    expect(badRedrive.name).toBe('InvalidAttributeValue');
    await kit.sqs.send(new SetQueueAttributesCommand({ QueueUrl, Attributes: { VisibilityTimeout: '45' } }));
    expect((await kit.sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['VisibilityTimeout'] }))).Attributes).toEqual({
      VisibilityTimeout: '45',
    });
  });

  it('lists queues by prefix with MaxResults/NextToken paging', async () => {
    for (const n of ['page-a', 'page-b', 'page-c']) await kit.sqs.send(new CreateQueueCommand({ QueueName: n }));
    const all = await kit.sqs.send(new ListQueuesCommand({ QueueNamePrefix: 'page-' }));
    expect(all.QueueUrls).toEqual(['page-a', 'page-b', 'page-c'].map((n) => kit.sim.queueUrl(n)));
    expect(all.NextToken).toBeUndefined();
    const p1 = await kit.sqs.send(new ListQueuesCommand({ QueueNamePrefix: 'page-', MaxResults: 2 }));
    expect(p1.QueueUrls).toHaveLength(2);
    const p2 = await kit.sqs.send(new ListQueuesCommand({ QueueNamePrefix: 'page-', MaxResults: 2, NextToken: p1.NextToken }));
    expect(p2.QueueUrls).toEqual([kit.sim.queueUrl('page-c')]);
    expect(p2.NextToken).toBeUndefined();
  });

  it('purges a queue, then answers PurgeQueueInProgress (403) within 60 s', async () => {
    const { QueueUrl } = await kit.sqs.send(new CreateQueueCommand({ QueueName: 'purge-me' }));
    await kit.sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: 'x' }));
    await kit.sqs.send(new PurgeQueueCommand({ QueueUrl }));
    expect(
      (await kit.sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['ApproximateNumberOfMessages'] }))).Attributes,
    ).toEqual({ ApproximateNumberOfMessages: '0' });
    const err = await errorOf(kit.sqs.send(new PurgeQueueCommand({ QueueUrl })));
    expect(err.name).toBe('PurgeQueueInProgress');
    expect(err.$metadata?.httpStatusCode).toBe(403);
    kit.clock.advance(60_000);
    await expect(kit.sqs.send(new PurgeQueueCommand({ QueueUrl }))).resolves.toBeDefined();
  });

  it('rejects invalid queue names and FIFO queues', async () => {
    expect((await errorOf(kit.sqs.send(new CreateQueueCommand({ QueueName: 'bad name!' })))).name).toBe('InvalidParameterValue');
    expect((await errorOf(kit.sqs.send(new CreateQueueCommand({ QueueName: 'q.fifo' })))).name).toBe('UnsupportedOperation');
  });

  it('deletes a queue', async () => {
    const { QueueUrl } = await kit.sqs.send(new CreateQueueCommand({ QueueName: 'short-lived' }));
    await kit.sqs.send(new DeleteQueueCommand({ QueueUrl }));
    expect((await errorOf(kit.sqs.send(new GetQueueUrlCommand({ QueueName: 'short-lived' })))).name).toBe('QueueDoesNotExist');
  });
});
