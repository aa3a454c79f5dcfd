import type { Logger } from '../src/platform/logger';
import { Consumer } from 'sqs-consumer';
import type { SqsMessage as Message, SQSClient } from '../src/aws/clients';
import { parseQueueMessage } from '../src/events/envelope';
import type { Delivery, EventProcessor } from '../src/events/event-processor';

/** Options of one notification queue consumer, with their defaults. */
export interface NotificationConsumerOptions {
  readonly name: string;
  readonly queueUrl: string;
  readonly sqs: SQSClient;
  readonly processor: EventProcessor;
  readonly logger: Logger;
  /** Messages per receive, committed together in one transaction (1–10). Default 10. */
  readonly batchSize?: number;
  /** Long-poll wait, seconds (0–20). Default 20. */
  readonly waitTimeSeconds?: number;
  /** Visibility timeout per receive, seconds. Default 60. */
  readonly visibilityTimeout?: number;
  /** Extends visibility every N seconds while a handler is slow; null turns it off. Default 20. */
  readonly heartbeatInterval?: number | null;
  /** Called after each message with what became of it (metrics, tests). */
  readonly onOutcome?: (outcome: string) => void;
  /** How long stop() waits for the batch in flight, ms. Default 25000. */
  readonly stopTimeoutMs?: number;
}

/**
 * Long-polls one SQS queue of Marketplace notifications (SNS envelopes, raw delivery or
 * EventBridge events, in any mix). The messages of one receive are committed in one transaction
 * (one by one if that fails). A message is deleted only after its effects are committed;
 * garbage is recorded as rejected and deleted; a transient failure (store down, GetEntitlements
 * throttled) is thrown, so SQS makes the message visible again and finally dead-letters it.
 */
export class NotificationQueueConsumer {
  private readonly consumer: Consumer;
  private readonly counts = new Map<string, number>();
  private readonly inFlight = new Set<Promise<unknown>>();
  /** Batches received and not yet through DeleteMessageBatch. */
  private batchesOpen = 0;
  private stopping = false;

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
      // One receive of up to 10 is committed together; the ones whose effects are committed are
      // deleted together (DeleteMessageBatch); the others stay and come back after the visibility timeout.
      handleMessageBatch: (messages) => this.handleBatch(messages),
    });
    this.consumer.on('error', (error) => {
      // The idle long poll aborted by stop() is not an error.
      if (this.stopping && /abort/i.test(`${(error as Error).name} ${(error as Error).message}`)) return;
      logger.error({ queue: name, err: error }, 'queue error');
    });
    // Emitted once the batch's acknowledged messages are deleted (or their deletion failed).
    this.consumer.on('response_processed', () => {
      if (this.batchesOpen > 0) this.batchesOpen--;
    });
  }

  start(): void {
    this.consumer.start();
    this.options.logger.info({ queue: this.options.name, url: this.options.queueUrl }, 'polling notification queue');
  }

  /**
   * Stops polling and waits (bounded by `stopTimeoutMs`) for the batch in flight to be handled and
   * deleted, so that the store can be closed afterwards. An idle long poll is aborted at once; a
   * batch received after stop() is left on the queue (not acknowledged) and comes back to another
   * consumer after the visibility timeout.
   */
  async stop(): Promise<void> {
    if (!this.consumer.status.isRunning) return;
    this.stopping = true;
    // The poll loop runs receive → handle → delete one after the other: no batch in hand means it is waiting in ReceiveMessage.
    this.consumer.stop(this.batchesOpen === 0 ? { abort: true } : undefined);
    // A shutdown deadline in monotonic time: it bounds how long we wait, it dates nothing.
    const deadline = performance.now() + (this.options.stopTimeoutMs ?? 25_000);
    while ((this.inFlight.size > 0 || this.consumer.status.isPolling) && performance.now() < deadline) {
      // Every pass waits on a real timer: with no handler in flight (the batch is being deleted),
      // a settled promise alone would spin on microtasks and starve the socket that delete awaits.
      const tick = new Promise((r) => setTimeout(r, 10));
      await (this.inFlight.size > 0 ? Promise.race([Promise.allSettled([...this.inFlight]), tick]) : tick);
    }
    if (this.inFlight.size > 0)
      this.options.logger.warn({ queue: this.options.name, inFlight: this.inFlight.size }, 'stopped with notifications still in flight');
  }

  get isRunning(): boolean {
    return this.consumer.status.isRunning;
  }

  /** Outcome counts since start (`applied`, `stale`, `duplicate`, `rejected`, `unmatched`, `ignored`). */
  outcomeCounts(): Record<string, number> {
    return Object.fromEntries(this.counts);
  }

  private async handleBatch(messages: Message[]): Promise<Message[]> {
    if (this.stopping) return [];
    this.batchesOpen++;
    // One receive is committed together (one transaction); only what committed is deleted.
    const work = this.options.processor.handleBatch(messages.map((m) => this.delivery(m)));
    this.inFlight.add(work);
    const settled = await work.finally(() => this.inFlight.delete(work));
    const done: Message[] = [];
    settled.forEach((result, i) => {
      const message = messages[i]!;
      if (result.status === 'fulfilled') {
        done.push(message);
        this.counts.set(result.value.outcome, (this.counts.get(result.value.outcome) ?? 0) + 1);
        this.options.onOutcome?.(result.value.outcome);
      } else {
        this.options.logger.warn(
          {
            queue: this.options.name,
            err: result.reason,
            messageId: message.MessageId,
            receiveCount: message.Attributes?.ApproximateReceiveCount,
          },
          'notification not processed; SQS will deliver it again',
        );
      }
    });
    return done;
  }

  private delivery(message: Message): Delivery {
    const messageId = message.MessageId ?? 'unknown';
    const body = message.Body ?? '';
    const sent = Number(message.Attributes?.SentTimestamp);
    return {
      parsed: parseQueueMessage(body, { messageId, sentTimestamp: Number.isFinite(sent) && sent > 0 ? new Date(sent) : undefined }),
      raw: { dedupeKey: `sqs:${messageId}`, channel: `sqs:${this.options.name}`, body: body.slice(0, 16_000) },
    };
  }
}
