import { ChangeMessageVisibilityCommand, DeleteMessageCommand, ReceiveMessageCommand, type Message } from '@aws-sdk/client-sqs';
import request from 'supertest';
import { createContainer, type Container } from '../../src/container';
import { parseQueueMessage } from '../../src/events/envelope';
import type { ProductConfig } from '../../src/products/product-config';
import type { Store } from '../../src/store/database';
import { createPrng, shuffle } from '../../src/simulator/faults/prng';
import { meteringHarness } from '../metering/metering-support';
import type { Harness } from '../support/harness';
import type { ManualClock } from '../../src/platform/clock';
import type { Dialect } from '../support/stores';
import { behind, StoreSwitch } from '../support/store-switch';

/** The products of the model test: one legacy SNS product, one licence product notified over EventBridge. */
export const modelSub: ProductConfig = {
  code: 'model-sub-product',
  name: 'Model subscription',
  pricingModel: 'subscription',
  meteringApi: 'batch',
  identity: 'customer-identifier',
  dimensions: [
    { name: 'calls', aggregation: 'sum', heartbeat: true, metered: true },
    { name: 'peak', aggregation: 'max', heartbeat: false, metered: true },
  ],
};
export const modelLic: ProductConfig = {
  code: 'model-lic-product',
  name: 'Model contract',
  pricingModel: 'contract-with-consumption',
  meteringApi: 'batch',
  identity: 'license',
  dimensions: [
    { name: 'gb', aggregation: 'sum', heartbeat: false, metered: true },
    { name: 'nodes', aggregation: 'max', heartbeat: false, metered: true },
    { name: 'plan', aggregation: 'sum', heartbeat: false, metered: false },
  ],
};
export const MODEL_PRODUCTS = [modelSub, modelLic];

const QUEUES = ['marketplace-subscription', 'marketplace-entitlement', 'marketplace-eventbridge'];

/** One service instance (a process): its container over its own handle on the shared database. */
export interface ModelInstance {
  container: Container;
  store: Store;
  /** False for the harness's own store, which the harness closes. */
  ownsStore: boolean;
  restarts: number;
  /** Started (interrupted sends released, health loaded); a process restarted during an outage starts once the store is back. */
  started: boolean;
}

export interface DeliveryStats {
  messages: number;
  copies: number;
  deferred: number;
  failed: number;
}

/**
 * The system under test: the service as main.ts wires it (one or two instances on one database)
 * against the embedded simulator on one manual clock, with a store switch shared by every
 * instance (the database is one server: when it is down, it is down for all).
 */
export class MoneySystem {
  readonly instances: ModelInstance[] = [];
  readonly storeSwitch = new StoreSwitch();
  /**
   * True while the simulator may fail ResolveCustomer and GetEntitlements calls (throttling, 5xx):
   * a registration may then answer 503 and a notification fail, to be delivered again.
   */
  awsFaults = false;
  readonly stats = { restarts: 0, deliveries: 0, messages: 0, copies: 0, deferred: 0, failedDeliveries: 0, outages: 0, faultSets: 0 };

  private constructor(readonly h: Harness & { clock: ManualClock }) {}

  static async start(dialect: Dialect, instances: number): Promise<MoneySystem> {
    const h = await meteringHarness({
      dialect,
      products: MODEL_PRODUCTS,
      // The final flush runs from the hourly pass here; its real-time timer must not fire mid-run.
      env: { METERING_FINAL_FLUSH_DELAY_MINUTES: '60', METERING_SENDER_LEASE_SECONDS: '5' },
    });
    const s = new MoneySystem(h);
    for (let i = 0; i < instances; i++) s.instances.push(s.instance(i === 0 ? h.db.store : h.db.reopen(), i !== 0));
    await s.startPending();
    return s;
  }

  private instance(raw: Store, ownsStore: boolean): ModelInstance {
    const store = behind(raw, this.storeSwitch);
    const container = createContainer({
      config: this.h.config,
      store,
      aws: this.h.aws,
      clock: this.h.clock,
      logger: this.h.logger,
      validateResponses: true,
      specViolations: this.h.specViolations as never,
      simulatorOrigin: new URL(this.h.sim.url).origin,
    });
    return { container, store: raw, ownsStore, restarts: 0, started: false };
  }

  pick(n: number): ModelInstance {
    return this.instances[n % this.instances.length]!;
  }

  /** The process of instance `n` ends (its in-flight work abandoned) and a new one starts on the same database. */
  async restart(n: number): Promise<void> {
    const old = this.pick(n);
    await old.container.emitter.stop();
    const next = this.instance(this.h.db.reopen(), true);
    next.restarts = old.restarts + 1;
    this.instances[n % this.instances.length] = next;
    if (old.ownsStore) await old.store.close();
    this.stats.restarts++;
    if (!this.storeSwitch.down) await this.startPending();
  }

  /** Starts every instance not yet started (after a restart during an outage, once the store is back). */
  async startPending(): Promise<void> {
    for (const i of this.instances)
      if (!i.started) {
        await i.container.emitter.start();
        i.started = true;
      }
  }

  async register(n: number, token: string): Promise<number> {
    const res = await request(this.pick(n).container.app)
      .post('/marketplace/register')
      .type('form')
      .send({ 'x-amzn-marketplace-token': token });
    return res.status;
  }

  async usage(n: number, customer: string, records: ReadonlyArray<object>): Promise<request.Response> {
    return request(this.pick(n).container.app)
      .post('/v1/usage')
      .set('Authorization', 'Bearer test-api-key-0123456789abcdef')
      .send({ records: records.map((r) => ({ customer, ...r })) });
  }

  /**
   * Delivers every visible notification of the three queues: each 1–3 times, in an order and
   * concurrency drawn from `seed`. Some extra copies are published again as a new SQS message (an
   * SNS-level duplicate with a new MessageId) for a later delivery. A copy that fails (store down)
   * is made visible again, as SQS does after the visibility timeout.
   */
  async deliver(seed: number, instance: number): Promise<DeliveryStats> {
    const random = createPrng(seed);
    await this.h.sim.flushNotifications();
    const sqs = this.h.aws.sqs;
    const got: Array<{ queue: string; message: Message }> = [];
    for (const name of QUEUES) {
      const QueueUrl = this.h.sim.queueUrl(name);
      for (;;) {
        const r = await sqs.send(
          new ReceiveMessageCommand({
            QueueUrl,
            MaxNumberOfMessages: 10,
            VisibilityTimeout: 30,
            WaitTimeSeconds: 0,
            AttributeNames: ['All'],
          }),
        );
        if (!r.Messages?.length) break;
        for (const message of r.Messages) got.push({ queue: name, message });
      }
    }
    const stats: DeliveryStats = { messages: got.length, copies: 0, deferred: 0, failed: 0 };
    const copies: Array<{ queue: string; message: Message; last: boolean }> = [];
    for (const g of got) {
      const n = 1 + Math.floor(random() * 3);
      for (let k = 0; k < n; k++) {
        if (k > 0 && random() < 0.3) {
          await this.h.sim.publishRaw(g.queue, g.message.Body!);
          stats.deferred++;
        } else copies.push({ ...g, last: false });
      }
    }
    const order = shuffle(copies, random);
    const outcome = new Map<string, boolean>();
    // Every other chunk is one receive committed together (handleBatch, as the queue consumer does),
    // the others concurrent single deliveries (as two consumers, or the SNS HTTP endpoint, do).
    let chunkNo = 0;
    for (let i = 0; i < order.length;) {
      const size = 1 + Math.floor(random() * 3);
      const chunk = order.slice(i, i + size);
      i += size;
      const processor = this.pick(instance + Math.floor(random() * 2)).container.eventProcessor;
      const delivery = (message: Message) => {
        const sent = Number(message.Attributes?.SentTimestamp);
        return {
          parsed: parseQueueMessage(message.Body ?? '', {
            messageId: message.MessageId!,
            sentTimestamp: Number.isFinite(sent) && sent > 0 ? new Date(sent) : undefined,
          }),
          raw: { dedupeKey: `sqs:${message.MessageId}`, channel: 'sqs:model', body: message.Body ?? '' },
        };
      };
      const settle = (message: Message, result: PromiseSettledResult<unknown>) => {
        stats.copies++;
        if (result.status === 'fulfilled') {
          if (!outcome.has(message.ReceiptHandle!)) outcome.set(message.ReceiptHandle!, true);
          return;
        }
        if (!this.storeSwitch.down && !this.awsFaults) throw result.reason;
        outcome.set(message.ReceiptHandle!, false);
        stats.failed++;
      };
      const results =
        chunkNo++ % 2 === 0
          ? await processor.handleBatch(chunk.map(({ message }) => delivery(message)))
          : await Promise.allSettled(
              chunk.map(({ message }) => {
                const d = delivery(message);
                return processor.handle(d.parsed, d.raw);
              }),
            );
      chunk.forEach(({ message }, k) => settle(message, results[k]!));
    }
    for (const { queue, message } of got) {
      const QueueUrl = this.h.sim.queueUrl(queue);
      const ReceiptHandle = message.ReceiptHandle!;
      if (outcome.get(ReceiptHandle) === true) await sqs.send(new DeleteMessageCommand({ QueueUrl, ReceiptHandle }));
      else await sqs.send(new ChangeMessageVisibilityCommand({ QueueUrl, ReceiptHandle, VisibilityTimeout: 0 }));
    }
    this.stats.deliveries++;
    this.stats.messages += stats.messages;
    this.stats.copies += stats.copies;
    this.stats.deferred += stats.deferred;
    this.stats.failedDeliveries += stats.failed;
    return stats;
  }

  /** One metering pass of the chosen instances (together, racing, when both). A pass during an outage may fail. */
  async tick(which: 'one' | 'both', n: number): Promise<void> {
    const chosen = which === 'both' ? this.instances : [this.pick(n)];
    const runs = await Promise.allSettled(chosen.map((i) => i.container.emitter.runOnce()));
    for (const r of runs) if (r.status === 'rejected' && !this.storeSwitch.down) throw r.reason;
  }

  /** Every instance's emitter until nothing is sealed or sending, the clock moving past backoffs. */
  async drain(): Promise<void> {
    for (let i = 0; i < 60; i++) {
      // An instance restarted during a store outage could not give the metering sender lease up
      // (a crash, as far as the store knows): the others send once it expires, in real time.
      if (i === 20) await new Promise((r) => setTimeout(r, 5_500));
      await this.tick('both', 0);
      const counts = await this.pick(0).container.meterBuckets.countByState();
      if (!counts.sealed && !counts.sending) return;
      this.h.clock.advance(130_000);
    }
    throw new Error('the emitter did not settle every sealed record within 60 passes');
  }

  async close(): Promise<void> {
    this.storeSwitch.down = false;
    for (const i of this.instances) await i.container.emitter.stop();
    for (const i of this.instances) if (i.ownsStore) await i.store.close();
    await this.h.close();
  }
}
