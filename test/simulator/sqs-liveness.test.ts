import http from 'node:http';
import type { Socket } from 'node:net';
import {
  ChangeMessageVisibilityBatchCommand,
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  ListQueuesCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { startSimulator } from '../../src/simulator';
import { motoAvailable, startMoto, type MotoServer } from '../support/moto';
import { credentials } from './support';

/*
 * Liveness of the SQS endpoint: every call is answered, promptly, whatever else is pending on
 * the server (long polls on the same and other queues), whatever the input, and stop() leaves no
 * socket open. The concurrency scenario also runs against moto, an SQS we did not write, so the
 * expected behaviour is that of a real implementation and not of our own reading.
 */

const elapsed = async <T>(p: Promise<T>): Promise<{ value: T; ms: number }> => {
  const started = Date.now();
  const value = await p;
  return { value, ms: Date.now() - started };
};

/** A consumer's round on one queue while long polls are pending on it and on other queues. */
async function batchCallsWhilePollsPending(endpoint: string, prefix: string): Promise<void> {
  // The SDK's default request handler: keep-alive agent, up to 50 sockets.
  const sqs = new SQSClient({ endpoint, region: 'us-east-1', credentials, maxAttempts: 1 });
  try {
    const url = async (name: string) => (await sqs.send(new CreateQueueCommand({ QueueName: `${prefix}-${name}` }))).QueueUrl!;
    const [work, other1, other2] = [await url('work'), await url('other1'), await url('other2')];
    // Two pollers on each of the idle queues, as several consumers (or instances) would hold.
    const pending = [other1, other1, other2, other2].map((QueueUrl) =>
      elapsed(sqs.send(new ReceiveMessageCommand({ QueueUrl, WaitTimeSeconds: 3, MaxNumberOfMessages: 10 }))),
    );
    await sqs.send(
      new SendMessageBatchCommand({ QueueUrl: work, Entries: [0, 1, 2, 3].map((i) => ({ Id: `m${i}`, MessageBody: `body ${i}` })) }),
    );
    const messages: { ReceiptHandle?: string; Body?: string }[] = [];
    while (messages.length < 4) {
      const r = await sqs.send(
        new ReceiveMessageCommand({ QueueUrl: work, MaxNumberOfMessages: 10, VisibilityTimeout: 60, WaitTimeSeconds: 1 }),
      );
      messages.push(...(r.Messages ?? []));
    }
    // A poller on the work queue itself, waiting while every message is in flight.
    const sameQueue = elapsed(
      sqs.send(new ReceiveMessageCommand({ QueueUrl: work, WaitTimeSeconds: 3, MaxNumberOfMessages: 10, VisibilityTimeout: 60 })),
    );
    await new Promise((r) => setTimeout(r, 150));

    // Heartbeat of two in-flight messages plus a stale handle: answered at once, per entry.
    const heartbeat = await elapsed(
      sqs.send(
        new ChangeMessageVisibilityBatchCommand({
          QueueUrl: work,
          Entries: [
            { Id: 'a', ReceiptHandle: messages[0]!.ReceiptHandle!, VisibilityTimeout: 60 },
            { Id: 'b', ReceiptHandle: messages[1]!.ReceiptHandle!, VisibilityTimeout: 60 },
          ],
        }),
      ),
    );
    expect(heartbeat.ms).toBeLessThan(1000);
    expect(heartbeat.value.Successful?.map((e) => e.Id).sort()).toEqual(['a', 'b']);
    expect(heartbeat.value.Failed ?? []).toEqual([]);

    // Acknowledge three; the call answers at once, whatever the pollers are doing.
    const ack = await elapsed(
      sqs.send(
        new DeleteMessageBatchCommand({
          QueueUrl: work,
          Entries: messages.slice(0, 3).map((m, i) => ({ Id: `d${i}`, ReceiptHandle: m.ReceiptHandle! })),
        }),
      ),
    );
    expect(ack.ms).toBeLessThan(1000);
    expect(ack.value.Successful?.map((e) => e.Id).sort()).toEqual(['d0', 'd1', 'd2']);
    expect(ack.value.Failed ?? []).toEqual([]);

    // Releasing the fourth (timeout 0) hands it to the poller waiting on that queue, before its wait ends.
    const release = await elapsed(
      sqs.send(
        new ChangeMessageVisibilityBatchCommand({
          QueueUrl: work,
          Entries: [{ Id: 'r', ReceiptHandle: messages[3]!.ReceiptHandle!, VisibilityTimeout: 0 }],
        }),
      ),
    );
    expect(release.ms).toBeLessThan(1000);
    expect(release.value.Successful?.map((e) => e.Id)).toEqual(['r']);
    const got = await sameQueue;
    expect(got.value.Messages?.map((m) => m.Body)).toEqual([messages[3]!.Body]);
    expect(got.ms).toBeLessThan(2900);
    const final = await sqs.send(
      new DeleteMessageBatchCommand({ QueueUrl: work, Entries: [{ Id: 'f', ReceiptHandle: got.value.Messages![0]!.ReceiptHandle! }] }),
    );
    expect(final.Successful?.map((e) => e.Id)).toEqual(['f']);

    // The pollers on the idle queues were neither woken early nor left hanging: each waited its 3 s.
    for (const p of await Promise.all(pending)) {
      expect(p.value.Messages ?? []).toEqual([]);
      expect(p.ms).toBeGreaterThanOrEqual(2500);
      expect(p.ms).toBeLessThan(6000);
    }
    const left = await sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl: work,
        AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
      }),
    );
    expect(left.Attributes).toMatchObject({ ApproximateNumberOfMessages: '0', ApproximateNumberOfMessagesNotVisible: '0' });
  } finally {
    sqs.destroy();
  }
}

describe('SQS liveness: batch calls while long polls are pending (real SQSClient, default keep-alive agent)', () => {
  it('simulator: DeleteMessageBatch and ChangeMessageVisibilityBatch answer at once; pollers are woken only by their own queue', async () => {
    const sim = await startSimulator();
    try {
      await batchCallsWhilePollsPending(sim.url, 'live');
    } finally {
      await sim.stop();
    }
  }, 20_000);

  const withMoto = motoAvailable('SQS liveness cross-check against moto') ? describe : describe.skip;
  withMoto('moto (the same scenario against an SQS we did not write)', () => {
    let moto: MotoServer;
    beforeAll(async () => {
      moto = await startMoto();
    }, 30_000);
    afterAll(() => moto?.stop());

    it('moto behaves the same way', async () => {
      await batchCallsWhilePollsPending(moto.url, 'live');
    }, 20_000);
  });
});

const AUTH = 'AWS4-HMAC-SHA256 Credential=AKIDSIMULATORTEST/20260101/us-east-1/sqs/aws4_request, SignedHeaders=host, Signature=00';

/** A raw POST on a keep-alive agent, failing (not hanging) if no answer comes within 3 s. */
function post(
  url: string,
  headers: Record<string, string>,
  body: string,
  agent: http.Agent,
): Promise<{ status: number; type: string; text: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      { method: 'POST', agent, headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            type: String(res.headers['content-type'] ?? ''),
            text: Buffer.concat(chunks).toString('utf8'),
          }),
        );
      },
    );
    req.setTimeout(3000, () => req.destroy(new Error(`no answer within 3 s: ${headers['x-amz-target'] ?? 'query'} ${body.slice(0, 80)}`)));
    req.on('error', reject);
    req.end(body);
  });
}

describe('SQS liveness: every operation answers malformed input', () => {
  const OPERATIONS = [
    'CreateQueue',
    'GetQueueUrl',
    'ListQueues',
    'GetQueueAttributes',
    'SetQueueAttributes',
    'ListDeadLetterSourceQueues',
    'SendMessage',
    'SendMessageBatch',
    'ReceiveMessage',
    'DeleteMessage',
    'DeleteMessageBatch',
    'ChangeMessageVisibility',
    'ChangeMessageVisibilityBatch',
    'AddPermission',
    'TagQueue',
    'NoSuchOperation',
  ];

  it('JSON 1.0 (query mode on and off) and Query protocol: a 4xx with a parseable error (or 200 where it is valid), on reused keep-alive sockets, never a hang or a 5xx', async () => {
    const sim = await startSimulator();
    const agent = new http.Agent({ keepAlive: true, maxSockets: 2 });
    try {
      const q = sim.queueUrl('marketplace-subscription');
      const foreignHandle = Buffer.from(JSON.stringify({ q: 'other-queue', m: 'x' })).toString('base64');
      const bodies = [
        '',
        '{',
        'null',
        '[]',
        '"text"',
        '{"QueueUrl":5}',
        '{"QueueUrl":"not a url"}',
        '{"QueueUrl":"http://[::1"}',
        '{"QueueName":{"a":1}}',
        '{"__proto__":{"QueueUrl":"x"}}',
        `{"QueueUrl":"${q}","Entries":"x"}`,
        `{"QueueUrl":"${q}","Entries":[null]}`,
        `{"QueueUrl":"${q}","Entries":[{"Id":"a"}]}`,
        `{"QueueUrl":"${q}","Entries":[{"Id":"a","ReceiptHandle":5}]}`,
        `{"QueueUrl":"${q}","Entries":[{"Id":"a","ReceiptHandle":"${foreignHandle}","VisibilityTimeout":"abc"}]}`,
        `{"QueueUrl":"${q}","ReceiptHandle":"garbage","VisibilityTimeout":-1}`,
        `{"QueueUrl":"${q}","MaxNumberOfMessages":1e400}`,
        `{"QueueUrl":"${q}","WaitTimeSeconds":21}`,
        `{"QueueUrl":"${q}","Attributes":{"VisibilityTimeout":{"a":1}}}`,
        `{"QueueUrl":"${q}","AttributeNames":[1]}`,
        `{"QueueUrl":"${q}","MessageAttributes":{"a":null}}`,
        `{"QueueUrl":"${q}","Entries":[{"Id":"a","MessageBody":{"x":1}}]}`,
        '{"MaxResults":0}',
        '{"NextToken":"%%%","MaxResults":1}',
      ];
      for (const operation of OPERATIONS) {
        for (const body of bodies) {
          for (const queryMode of ['true', 'false']) {
            const headers = {
              'content-type': 'application/x-amz-json-1.0',
              'x-amz-target': `AmazonSQS.${operation}`,
              'x-amzn-query-mode': queryMode,
              authorization: AUTH,
            };
            const r = await post(sim.url, headers, body, agent);
            const what = `${operation} ${body}`;
            // Some of these happen to be valid for some operations (ListQueues with `{}`): 200 then.
            expect([what, r.status === 200 || (r.status >= 400 && r.status < 500)]).toEqual([what, true]);
            if (r.status !== 200) expect([what, typeof (JSON.parse(r.text) as { __type?: unknown }).__type]).toEqual([what, 'string']);
          }
        }
      }
      const form = { 'content-type': 'application/x-www-form-urlencoded', authorization: AUTH };
      const enc = encodeURIComponent(q);
      for (const body of [
        'Action=',
        'Action=ReceiveMessage',
        '%%%',
        'Action=%E0%A4%A',
        `Action=DeleteMessageBatch&QueueUrl=${enc}&DeleteMessageBatchRequestEntry.1.Id=a`,
        `Action=DeleteMessageBatch&QueueUrl=${enc}&DeleteMessageBatchRequestEntry.999999999.Id=a`,
        `Action=ChangeMessageVisibilityBatch&QueueUrl=${enc}&ChangeMessageVisibilityBatchRequestEntry.1.Id=a&ChangeMessageVisibilityBatchRequestEntry.1.ReceiptHandle=x`,
        `Action=SendMessageBatch&QueueUrl=${enc}&SendMessageBatchRequestEntry.1.Id=a&SendMessageBatchRequestEntry.1.MessageAttribute.1.Name=x`,
      ]) {
        const r = await post(sim.url, form, body, agent);
        // A batch whose entries are bad answers 200 with per-entry errors; the rest are 4xx.
        expect([body, r.status === 200 || (r.status >= 400 && r.status < 500), r.type]).toEqual([body, true, 'text/xml']);
        expect(r.text).toMatch(r.status === 200 ? /<BatchResultErrorEntry>/ : /<ErrorResponse/);
      }
      // The same sockets still serve a valid call.
      const ok = await post(
        sim.url,
        { 'content-type': 'application/x-amz-json-1.0', 'x-amz-target': 'AmazonSQS.ListQueues', authorization: AUTH },
        '{}',
        agent,
      );
      expect(ok.status).toBe(200);
    } finally {
      agent.destroy();
      await sim.stop();
    }
  }, 60_000);
});

describe('SQS liveness: stop()', () => {
  /** Opens `n` keep-alive sockets (idle in the agent's pool afterwards) and records when each closes. */
  async function idleSockets(url: string, agent: http.Agent, n: number): Promise<Array<Promise<number>>> {
    const closed: Array<Promise<number>> = [];
    await Promise.all(
      Array.from(
        { length: n },
        () =>
          new Promise<void>((resolve, reject) => {
            const req = http.request(
              url,
              {
                method: 'POST',
                agent,
                headers: { 'content-type': 'application/x-amz-json-1.0', 'x-amz-target': 'AmazonSQS.ListQueues', authorization: AUTH },
              },
              (res) => {
                res.resume();
                res.on('end', () => resolve());
              },
            );
            req.on('socket', (s: Socket) => closed.push(new Promise((r) => s.once('close', () => r(Date.now())))));
            req.on('error', reject);
            req.end('{}');
          }),
      ),
    );
    return closed;
  }

  it('closes idle keep-alive sockets at once, including one whose long poll it has just answered', async () => {
    const sim = await startSimulator();
    const agent = new http.Agent({ keepAlive: true, maxSockets: 10 });
    const sqs = new SQSClient({ endpoint: sim.url, region: 'us-east-1', credentials, maxAttempts: 1 });
    try {
      const closed = await idleSockets(sim.url, agent, 3);
      await sqs.send(new ListQueuesCommand({}));
      const poll = elapsed(
        sqs.send(new ReceiveMessageCommand({ QueueUrl: sim.queueUrl('marketplace-subscription'), WaitTimeSeconds: 20 })),
      );
      await new Promise((r) => setTimeout(r, 150));
      // The SDK's own keep-alive agent: its one busy socket is the poll's.
      const sdkAgent = (sqs.config.requestHandler as unknown as { config?: { httpAgent?: http.Agent } }).config?.httpAgent;
      const busy = Object.values(sdkAgent?.sockets ?? {}).flat();
      expect(busy).toHaveLength(1);
      const pollSocketClosed = new Promise<number>((resolve) => busy[0]!.once('close', () => resolve(Date.now())));
      const started = Date.now();
      await sim.stop();
      const stopMs = Date.now() - started;
      expect((await poll).value.Messages ?? []).toEqual([]);
      for (const at of await Promise.all(closed)) expect(at - started).toBeLessThan(100);
      expect(stopMs).toBeLessThan(100);
      expect((await pollSocketClosed) - started).toBeLessThan(100);
    } finally {
      agent.destroy();
      sqs.destroy();
    }
  });

  it('after stop() a kept-alive socket gets no further answers and the client sees a closed connection, not a hang', async () => {
    const sim = await startSimulator();
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      // Only the idle socket matters here, not when it closes.
      void (await idleSockets(sim.url, agent, 1));
      await sim.stop();
      await expect(
        post(
          sim.url,
          { 'content-type': 'application/x-amz-json-1.0', 'x-amz-target': 'AmazonSQS.ListQueues', authorization: AUTH },
          '{}',
          agent,
        ),
      ).rejects.toThrow(/ECONNREFUSED|ECONNRESET|socket hang up/);
    } finally {
      agent.destroy();
    }
  });
});
