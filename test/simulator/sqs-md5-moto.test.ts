import { CreateQueueCommand, ReceiveMessageCommand, SendMessageCommand, SQSClient, type MessageAttributeValue } from '@aws-sdk/client-sqs';
import { startSimulator, type Simulator } from '../../src/simulator';
import { motoAvailable, startMoto, type MotoServer } from '../support/moto';
import { credentials } from './support';

const ATTRS: Record<string, MessageAttributeValue> = {
  kind: { DataType: 'String', StringValue: 'subscribe-success' },
  count: { DataType: 'Number', StringValue: '42' },
  blob: { DataType: 'Binary', BinaryValue: new Uint8Array([1, 2, 3, 250]) },
};

/** What ReceiveMessage answers for each MessageAttributeNames selection: the attribute names and the MD5. */
async function md5s(endpoint: string): Promise<Array<[string, string[], string | undefined]>> {
  const sqs = new SQSClient({ endpoint, region: 'us-east-1', credentials, maxAttempts: 1 });
  try {
    const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: `md5-${Date.now()}`, Attributes: { VisibilityTimeout: '0' } }));
    await sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: 'md5 cross-check', MessageAttributes: ATTRS }));
    const out: Array<[string, string[], string | undefined]> = [];
    for (const names of [['kind'], ['kind', 'count'], ['blob'], ['All'], undefined]) {
      const m = (await sqs.send(new ReceiveMessageCommand({ QueueUrl, MessageAttributeNames: names, WaitTimeSeconds: 0 }))).Messages![0]!;
      out.push([JSON.stringify(names ?? null), Object.keys(m.MessageAttributes ?? {}).sort(), m.MD5OfMessageAttributes]);
    }
    return out;
  } finally {
    sqs.destroy();
  }
}

const withMoto = motoAvailable('MD5OfMessageAttributes cross-check against moto') ? describe : describe.skip;
withMoto('MD5OfMessageAttributes on receive, cross-checked against moto (an SQS we did not write)', () => {
  let moto: MotoServer;
  let sim: Simulator;
  beforeAll(async () => {
    [moto, sim] = await Promise.all([startMoto(), startSimulator()]);
  }, 30_000);
  afterAll(async () => {
    await Promise.all([moto?.stop(), sim?.stop()]);
  });

  it('the simulator answers the same attributes and digest as moto for every selection', async () => {
    const [ours, theirs] = await Promise.all([md5s(sim.url), md5s(moto.url)]);
    expect(ours).toEqual(theirs);
    expect(ours.find(([names]) => names === 'null')![2]).toBeUndefined();
  }, 20_000);
});
