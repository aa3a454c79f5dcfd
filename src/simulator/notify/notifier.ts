import { uuid } from '../ids';
import type { FaultInjector } from '../faults/fault-injector';
import { shuffle } from '../faults/prng';
import type { SqsService } from '../sqs/sqs-service';
import type { SimProduct } from '../types';
import type { HttpEndpoints } from './http-endpoints';
import { formatEnvelope, notificationEnvelope, type EnvelopeContext } from './sns-envelope';

/** SenderId of messages SNS puts into SQS. */
const SNS_SENDER_ID = 'AIDAIT2UOQQY3AUEKVGXU';

type Delivery =
  { queue: string; body: string; label: string } | { subscriptionArn: string; envelope: Record<string, string>; label: string };

/**
 * Publishes Marketplace notifications: SNS envelopes into the subscription/entitlement queues
 * (raw delivery off, §4.1) and to confirmed HTTP endpoints; EventBridge events as the body of
 * the eventBridge queue (§5.4). Applies the notification faults: duplicates (same MessageId)
 * and a reorder window.
 */
export class Notifier {
  private held: Delivery[] = [];
  private holdTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly sqs: SqsService,
    private readonly http: HttpEndpoints,
    private readonly faults: FaultInjector,
    private readonly envelopeContext: () => EnvelopeContext,
    private readonly queues: { subscription: string; entitlement: string; eventBridge: string },
    private readonly now: () => number,
    private readonly log: (line: string) => void,
  ) {}

  /** Publish to a product's SNS topic if the product uses SNS. */
  publishSns(product: SimProduct, topic: 'subscription' | 'entitlement', message: string): void {
    if (product.notifications === 'eventbridge') return;
    const topicArn = topic === 'subscription' ? product.subscriptionTopicArn : product.entitlementTopicArn;
    const ctx = this.envelopeContext();
    const messageId = uuid();
    const timestamp = new Date(this.now()).toISOString();
    const queue = topic === 'subscription' ? this.queues.subscription : this.queues.entitlement;
    const label = `sns ${topic} ${String((JSON.parse(message) as { action?: unknown }).action)}`;
    const deliveries: Delivery[] = [
      {
        queue,
        body: formatEnvelope(notificationEnvelope(ctx, topicArn, message, timestamp, `${topicArn}:sqs-${queue}`, messageId)),
        label,
      },
    ];
    for (const sub of this.http.confirmedFor(topicArn)) {
      deliveries.push({
        subscriptionArn: sub.subscriptionArn,
        envelope: notificationEnvelope(ctx, topicArn, message, timestamp, sub.subscriptionArn, messageId),
        label,
      });
    }
    this.dispatch(deliveries);
  }

  /** Put an EventBridge event on the eventBridge queue if the product uses EventBridge. */
  publishEvent(product: SimProduct, event: string): void {
    if (product.notifications === 'sns') return;
    this.dispatch([
      {
        queue: this.queues.eventBridge,
        body: event,
        label: `eventbridge ${String((JSON.parse(event) as Record<string, unknown>)['detail-type'])}`,
      },
    ]);
  }

  /** Raw body straight onto a queue (garbage-handling tests). */
  publishRaw(queue: string, body: string): void {
    this.deliverNow({ queue, body, label: 'raw' });
  }

  /** Deliver held notifications now (in shuffled order). */
  flush(): void {
    if (this.holdTimer) clearTimeout(this.holdTimer);
    this.holdTimer = undefined;
    const batch = shuffle(this.held, () => this.faults.rng());
    this.held = [];
    for (const d of batch) this.deliverNow(d);
  }

  stop(): void {
    if (this.holdTimer) clearTimeout(this.holdTimer);
    this.held = [];
  }

  private dispatch(deliveries: Delivery[]): void {
    const all: Delivery[] = [];
    for (const d of deliveries) {
      all.push(d);
      if (this.faults.duplicate()) all.push(d);
    }
    const window = this.faults.reorderWindowMs;
    if (window <= 0) {
      for (const d of all) this.deliverNow(d);
      return;
    }
    this.held.push(...all);
    this.holdTimer ??= setTimeout(() => this.flush(), window);
  }

  private deliverNow(d: Delivery): void {
    if ('queue' in d) {
      const q = this.sqs.byName(d.queue);
      if (!q) {
        this.log(`notification dropped, no queue ${d.queue}: ${d.label}`);
        return;
      }
      q.send({ body: d.body, attributes: {}, senderId: SNS_SENDER_ID, now: this.now() });
      this.log(`${d.label} → ${d.queue}`);
    } else {
      this.http.deliver(d.subscriptionArn, d.envelope);
    }
  }
}
