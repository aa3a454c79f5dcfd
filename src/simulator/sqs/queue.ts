import { randomBytes } from 'node:crypto';
import { uuid } from '../ids';
import { md5Hex, md5OfMessageAttributes, type StoredAttribute } from './md5';
import { defaultAttributes, parseRedrivePolicy } from './queue-attributes';
import { sqsErrors } from './sqs-errors';

/** One message in a queue. Times are simulator-clock epoch ms. */
export interface StoredMessage {
  messageId: string;
  body: string;
  md5OfBody: string;
  attributes: Record<string, StoredAttribute>;
  md5OfAttributes?: string;
  sentTimestamp: number;
  firstReceiveTimestamp?: number;
  receiveCount: number;
  visibleAt: number;
  /** Latest receipt handle; only it may delete or change visibility (§3.2). */
  receiptHandle?: string;
  /** When its total visibility-timeout budget (12 h from first receipt, §3.3) runs out. */
  inFlightLimitAt?: number;
  senderId: string;
  deadLetterSourceArn?: string;
}

/** Decoded receipt handle. */
export interface ReceiptHandle {
  queue: string;
  messageId: string;
}

export function encodeReceiptHandle(queue: string, messageId: string): string {
  return Buffer.from(JSON.stringify({ q: queue, m: messageId, n: randomBytes(12).toString('hex') })).toString('base64');
}

/** Throws `ReceiptHandleIsInvalid` for anything this simulator did not issue. */
export function decodeReceiptHandle(handle: string): ReceiptHandle {
  try {
    const v = JSON.parse(Buffer.from(handle, 'base64').toString('utf8')) as { q?: unknown; m?: unknown };
    if (typeof v.q === 'string' && typeof v.m === 'string') return { queue: v.q, messageId: v.m };
  } catch {
    /* fall through */
  }
  throw sqsErrors.receiptHandleIsInvalid(handle);
}

/** A standard (non-FIFO) queue. */
export class Queue {
  readonly messages: StoredMessage[] = [];
  attributes: Record<string, string>;
  lastModified: number;
  lastPurge = -Infinity;
  /** Long-polling receivers waiting for a message. */
  readonly waiters = new Set<() => void>();

  constructor(
    readonly name: string,
    readonly url: string,
    readonly arn: string,
    readonly createdAt: number,
    attributes: Record<string, string>,
  ) {
    this.attributes = { ...defaultAttributes(), ...attributes };
    this.lastModified = createdAt;
  }

  int(name: string): number {
    return Number(this.attributes[name] ?? 0);
  }

  redrivePolicy() {
    return parseRedrivePolicy(this.attributes.RedrivePolicy);
  }

  /** Enqueues a message and wakes long pollers. */
  send(input: {
    body: string;
    attributes: Record<string, StoredAttribute>;
    delaySeconds?: number;
    senderId: string;
    now: number;
    keep?: Partial<StoredMessage>;
  }): StoredMessage {
    const message: StoredMessage = {
      messageId: uuid(),
      body: input.body,
      md5OfBody: md5Hex(Buffer.from(input.body, 'utf8')),
      attributes: input.attributes,
      sentTimestamp: input.now,
      receiveCount: 0,
      visibleAt: input.now + 1000 * (input.delaySeconds ?? this.int('DelaySeconds')),
      senderId: input.senderId,
      ...input.keep,
    };
    const md5 = md5OfMessageAttributes(input.attributes);
    if (md5) message.md5OfAttributes = md5;
    this.messages.push(message);
    this.wake();
    return message;
  }

  wake(): void {
    for (const w of [...this.waiters]) w();
  }

  /** Drops messages older than MessageRetentionPeriod. */
  expire(now: number): void {
    const retention = this.int('MessageRetentionPeriod') * 1000;
    for (let i = this.messages.length - 1; i >= 0; i--) {
      if (now - this.messages[i]!.sentTimestamp >= retention) this.messages.splice(i, 1);
    }
  }

  find(messageId: string): StoredMessage | undefined {
    return this.messages.find((m) => m.messageId === messageId);
  }

  remove(message: StoredMessage): void {
    const i = this.messages.indexOf(message);
    if (i >= 0) this.messages.splice(i, 1);
  }

  counts(now: number): { visible: number; inFlight: number; delayed: number } {
    let visible = 0;
    let inFlight = 0;
    let delayed = 0;
    for (const m of this.messages) {
      if (m.visibleAt <= now) visible += 1;
      else if (m.receiveCount > 0) inFlight += 1;
      else delayed += 1;
    }
    return { visible, inFlight, delayed };
  }
}
