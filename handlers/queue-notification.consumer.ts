import type { Message, SQSClient } from '@aws-sdk/client-sqs';
import type { Logger } from 'pino';
import { Consumer } from 'sqs-consumer';
import { parseQueueMessage } from '../src/events/envelope';
import type { EventProcessor } from '../src/events/event-processor';

/** Options of one notification queue consumer, with their defaults. */
export interface NotificationConsumerOptions {
  readonly name: string;
  readonly queueUrl: string;
  readonly sqs: SQSClient;
  readonly processor: EventProcessor;
  readonly logger: Logger;
  /** Messages per receive, processed concurrently (1–10). Default 10. */
  readonly batchSize?: number;
  /** Long-poll wait, seconds (0–20). Default 20. */
  readonly waitTimeSeconds?: number;
  /** Visibility timeout per receive, seconds. Default 60. */
  readonly visibilityTimeout?: number;
  /** Extends visibility every N seconds while a handler is slow; null turns it off. Default 20. */
  readonly heartbeatInterval?: number | null;
  /** Called after each message with what became of it (metrics, tests). */
  readonly onOutcome?: (outcome: string) => void;
}

/**
 * Long-polls one SQS queue of Marketplace notifications (SNS envelopes, raw delivery or
 * EventBridge events, in any mix). A message is deleted only after its effects are committed;
 * garbage is recorded as rejected and deleted; a transient failure (store down, GetEntitlements
 * throttled) is thrown, so SQS makes the message visible again and finally dead-letters it.
 */
export class NotificationQueueConsumer {
  private readonly consumer: Consumer;
  private readonly counts = new Map<string, number>();

  constructor(private readonly options: NotificationConsumerOptions) {
    const { logger, name } = options;
    this.consumer = Consumer.create({
      queueUrl: options.queueUrl,
      sqs: options.sqs,
      batchSize: options.batchSize ?? 10,
      waitTimeSeconds: options.waitTimeSeconds ?? 20,
      visibilityTimeout: options.visibilityTimeout ?? 60,
      heartbeatInterval: options.heartbeatInterval === null ? undefined : (options.heartbeatInterval ?? 20),
      messageSystemAttributeNames: ['ApproximateReceiveCount', 'SentTimestamp'],
      // One receive of up to 10 is handled concurrently; the ones whose effects are committed are
      // deleted together (DeleteMessageBatch); the others stay and come back after the visibility timeout.
      handleMessageBatch: (messages) => this.handleBatch(messages),
    });
    this.consumer.on('error', (error) => logger.error({ queue: name, err: error }, 'queue error'));

  }

  start(): void {
    this.consumer.start();
    this.options.logger.info({ queue: this.options.name, url: this.options.queueUrl }, 'polling notification queue');
  }

  /** Stops polling and waits (bounded) for in-flight messages to finish. */
  async stop(): Promise<void> {
    if (!this.consumer.status.isRunning) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 25_000);
      this.consumer.once('stopped', () => {
        clearTimeout(timer);
        resolve();
      });
      this.consumer.stop();
    });
  }

  get isRunning(): boolean {
    return this.consumer.status.isRunning;
  }

  /** Outcome counts since start (`applied`, `stale`, `duplicate`, `rejected`, `unmatched`, `ignored`). */
  outcomeCounts(): Record<string, number> {
    return Object.fromEntries(this.counts);
  }

  private async handleBatch(messages: Message[]): Promise<Message[]> {
    const settled = await Promise.allSettled(messages.map((m) => this.handle(m)));
    const done: Message[] = [];
    settled.forEach((result, i) => {
      const message = messages[i]!;
      if (result.status === 'fulfilled') done.push(message);
      else {
        this.options.logger.warn(
          { queue: this.options.name, err: result.reason, messageId: message.MessageId, receiveCount: message.Attributes?.ApproximateReceiveCount },
          'notification not processed; SQS will deliver it again',
        );
      }
    });
    return done;
  }

  private async handle(message: Message): Promise<Message> {
    const messageId = message.MessageId ?? 'unknown';
    const body = message.Body ?? '';
    const sent = Number(message.Attributes?.SentTimestamp);
    const parsed = parseQueueMessage(body, { messageId, sentTimestamp: Number.isFinite(sent) && sent > 0 ? new Date(sent) : undefined });
    const result = await this.options.processor.handle(parsed, { dedupeKey: `sqs:${messageId}`, channel: `sqs:${this.options.name}`, body: body.slice(0, 16_000) });
    this.counts.set(result.outcome, (this.counts.get(result.outcome) ?? 0) + 1);
    this.options.onOutcome?.(result.outcome);
    return message;
  }
}
