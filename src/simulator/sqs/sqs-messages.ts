import { AwsError } from '../aws-error';
import { decodeReceiptHandle, encodeReceiptHandle, type Queue, type StoredMessage } from './queue';
import { md5OfMessageAttributes } from './md5';
import { sqsErrors } from './sqs-errors';
import { batchEntries, checkBody, int, messageAttributes, messageSize, renderAttributes, str, stringList, type Obj } from './sqs-input';

/** Per-call context: the caller's identity and an abort signal (client went away). */
export interface SqsCallContext {
  senderId: string;
  signal: AbortSignal;
}

const TWELVE_HOURS_MS = 43_200_000;
const SYSTEM_ATTRIBUTES = [
  'SenderId',
  'SentTimestamp',
  'ApproximateReceiveCount',
  'ApproximateFirstReceiveTimestamp',
  'DeadLetterQueueSourceArn',
];

/** Message-level SQS operations (§3.2, §3.3, §3.4). */
export class MessageOperations {
  stopped = false;

  constructor(
    private readonly now: () => number,
    private readonly byArn: (arn: string) => Queue | undefined,
  ) {}

  async call(operation: string, queue: Queue, input: Obj, ctx: SqsCallContext): Promise<Obj> {
    switch (operation) {
      case 'SendMessage':
        return this.send(queue, input, ctx);
      case 'SendMessageBatch':
        return this.batch(
          input,
          'Entries',
          (e) => {
            const rest = this.send(queue, e, ctx);
            delete rest.Id;
            return rest;
          },
          () => {
            const total = (input.Entries as Obj[]).reduce(
              (n, e) => n + (typeof e.MessageBody === 'string' ? Buffer.byteLength(e.MessageBody) : 0),
              0,
            );
            if (total > 1_048_576) throw sqsErrors.batchTooLong(total);
          },
        );
      case 'ReceiveMessage':
        return this.receive(queue, input, ctx);
      case 'DeleteMessage':
        this.delete(queue, str(input, 'ReceiptHandle', true));
        return {};
      case 'DeleteMessageBatch':
        return this.batch(input, 'Entries', (e) => {
          this.delete(queue, str(e, 'ReceiptHandle', true));
          return {};
        });
      case 'ChangeMessageVisibility':
        this.changeVisibility(queue, str(input, 'ReceiptHandle', true), input);
        return {};
      case 'ChangeMessageVisibilityBatch':
        return this.batch(input, 'Entries', (e) => {
          this.changeVisibility(queue, str(e, 'ReceiptHandle', true), e);
          return {};
        });
      default:
        throw new AwsError('UnknownOperationException', `Unknown operation ${operation}`);
    }
  }

  /** Batch calls answer HTTP 200 with per-entry `Successful` / `Failed` (§3.3). */
  private batch(input: Obj, name: string, each: (e: Obj) => Obj, precheck?: () => void): Obj {
    const entries = batchEntries(input, name);
    precheck?.();
    const Successful: Obj[] = [];
    const Failed: Obj[] = [];
    for (const e of entries) {
      try {
        Successful.push({ Id: e.Id, ...each(e) });
      } catch (err) {
        if (!(err instanceof AwsError)) throw err;
        Failed.push({ Id: e.Id, SenderFault: err.status < 500, Code: err.queryCode ?? err.code, Message: err.message });
      }
    }
    return { Successful, Failed };
  }

  private send(queue: Queue, input: Obj, ctx: SqsCallContext): Obj {
    const body = str(input, 'MessageBody');
    if (body === undefined || body === '') throw sqsErrors.missingParameter('MessageBody');
    checkBody(body);
    const attributes = messageAttributes(input);
    const size = messageSize(body, attributes);
    const max = queue.int('MaximumMessageSize');
    if (size > max)
      throw sqsErrors.invalidParameterValue(`One or more parameters are invalid. Reason: Message must be shorter than ${max} bytes.`);
    const delaySeconds = int(input, 'DelaySeconds', 0, 900);
    const m = queue.send({
      body,
      attributes,
      senderId: ctx.senderId,
      now: this.now(),
      ...(delaySeconds !== undefined ? { delaySeconds } : {}),
    });
    return {
      MD5OfMessageBody: m.md5OfBody,
      ...(m.md5OfAttributes ? { MD5OfMessageAttributes: m.md5OfAttributes } : {}),
      MessageId: m.messageId,
    };
  }

  /** Long polling: returns as soon as a message is available, or after WaitTimeSeconds (§3.2). */
  private async receive(queue: Queue, input: Obj, ctx: SqsCallContext): Promise<Obj> {
    const max = int(input, 'MaxNumberOfMessages', 1, 10) ?? 1;
    const wait = int(input, 'WaitTimeSeconds', 0, 20) ?? queue.int('ReceiveMessageWaitTimeSeconds');
    const visibility = int(input, 'VisibilityTimeout', 0, 43_200) ?? queue.int('VisibilityTimeout');
    const systemNames = [...stringList(input, 'AttributeNames'), ...stringList(input, 'MessageSystemAttributeNames')];
    const attributeNames = stringList(input, 'MessageAttributeNames');
    const deadline = performance.now() + wait * 1000;
    for (;;) {
      if (ctx.signal.aborted || this.stopped) return {};
      const taken = this.take(queue, max, visibility);
      if (taken.length > 0) return { Messages: taken.map((m) => this.render(m, systemNames, attributeNames)) };
      const remaining = deadline - performance.now();
      if (remaining <= 0) return {};
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          queue.waiters.delete(done);
          ctx.signal.removeEventListener('abort', done);
          resolve();
        };
        // Also re-check periodically: visibility timeouts expire on the simulator clock.
        const timer = setTimeout(done, Math.min(remaining, 200));
        queue.waiters.add(done);
        ctx.signal.addEventListener('abort', done);
      });
    }
  }

  private take(queue: Queue, max: number, visibility: number): StoredMessage[] {
    const now = this.now();
    queue.expire(now);
    const policy = queue.redrivePolicy();
    const out: StoredMessage[] = [];
    for (const m of [...queue.messages]) {
      if (out.length >= max) break;
      if (m.visibleAt > now) continue;
      // "When the ReceiveCount for a message exceeds the maxReceiveCount … SQS moves the message
      // to the dead-letter-queue" (§3.4): checked when it would be received once more.
      if (policy && m.receiveCount >= policy.maxReceiveCount) {
        const dlq = this.byArn(policy.deadLetterTargetArn);
        if (dlq) {
          queue.remove(m);
          const kept: Partial<StoredMessage> = { ...m };
          delete kept.receiptHandle;
          dlq.send({
            body: m.body,
            attributes: m.attributes,
            senderId: m.senderId,
            now,
            keep: { ...kept, visibleAt: now, deadLetterSourceArn: queue.arn },
          });
          continue;
        }
      }
      m.receiveCount += 1;
      m.firstReceiveTimestamp ??= now;
      m.inFlightLimitAt = now + TWELVE_HOURS_MS;
      m.visibleAt = now + visibility * 1000;
      m.receiptHandle = encodeReceiptHandle(queue.name, m.messageId);
      out.push(m);
    }
    return out;
  }

  private render(m: StoredMessage, systemNames: string[], attributeNames: string[]): Obj {
    const wanted = systemNames.includes('All') ? SYSTEM_ATTRIBUTES : systemNames;
    const system: Record<string, string> = {};
    const values: Record<string, string | undefined> = {
      SenderId: m.senderId,
      SentTimestamp: String(m.sentTimestamp),
      ApproximateReceiveCount: String(m.receiveCount),
      ApproximateFirstReceiveTimestamp: m.firstReceiveTimestamp !== undefined ? String(m.firstReceiveTimestamp) : undefined,
      DeadLetterQueueSourceArn: m.deadLetterSourceArn,
    };
    for (const n of wanted) if (values[n] !== undefined) system[n] = values[n]!;
    const selected = Object.fromEntries(
      Object.entries(m.attributes).filter(([name]) =>
        attributeNames.some((p) => p === 'All' || p === '.*' || p === name || (p.endsWith('.*') && name.startsWith(p.slice(0, -1)))),
      ),
    );
    const out: Obj = { MessageId: m.messageId, ReceiptHandle: m.receiptHandle, MD5OfBody: m.md5OfBody, Body: m.body };
    if (Object.keys(system).length > 0) out.Attributes = system;
    // SQS computes MD5OfMessageAttributes over the attributes it returns (those MessageAttributeNames
    // selected), not over all the message's attributes; with none selected there is no digest.
    if (Object.keys(selected).length > 0) {
      out.MD5OfMessageAttributes = md5OfMessageAttributes(selected);
      out.MessageAttributes = renderAttributes(selected);
    }
    return out;
  }

  private lookup(queue: Queue, handle: string): StoredMessage | undefined {
    const decoded = decodeReceiptHandle(handle);
    if (decoded.queue !== queue.name) throw sqsErrors.receiptHandleIsInvalid(handle);
    return queue.find(decoded.messageId);
  }

  /** Only the latest receipt handle deletes; an older one "succeeds" without deleting (§3.2). */
  private delete(queue: Queue, handle: string): void {
    const m = this.lookup(queue, handle);
    if (m && m.receiptHandle === handle) queue.remove(m);
  }

  /** The new timeout counts from now; the total may not pass 12 h from receipt (§3.3). */
  private changeVisibility(queue: Queue, handle: string, input: Obj): void {
    const timeout = int(input, 'VisibilityTimeout', 0, 43_200);
    if (timeout === undefined) throw sqsErrors.missingParameter('VisibilityTimeout');
    const m = this.lookup(queue, handle);
    if (!m || m.receiptHandle !== handle) {
      throw sqsErrors.invalidParameterValue(
        `Value ${handle.slice(0, 60)} for parameter ReceiptHandle is invalid. Reason: Message does not exist or is not available for visibility timeout change.`,
      );
    }
    const now = this.now();
    if (m.visibleAt <= now) throw sqsErrors.messageNotInflight();
    if (now + timeout * 1000 > (m.inFlightLimitAt ?? Infinity)) {
      throw sqsErrors.invalidParameterValue(
        `Value ${timeout} for parameter VisibilityTimeout is invalid. Reason: Total VisibilityTimeout for the message is beyond the limit [43200 seconds]`,
      );
    }
    m.visibleAt = now + timeout * 1000;
    if (timeout === 0) queue.wake();
  }
}
