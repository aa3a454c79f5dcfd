import { CustomerRepository } from '../../src/customers/customer.repository';
import { applyTransition, initialSubscriptionState } from '../../src/customers/subscription-state';
import { ManualClock } from '../../src/platform/clock';
import type { Logger } from '../../src/platform/logger';
import type { Store } from '../../src/store/database';
import { fromDbTime, toDbTime } from '../../src/store/dialect';
import { DeliveryRepository } from '../../src/webhooks/delivery.repository';
import { WebhookDispatcher, type DispatcherSettings } from '../../src/webhooks/dispatcher';
import { EndpointRepository } from '../../src/webhooks/endpoint.repository';
import { createWebhookTransport, type Resolver } from '../../src/webhooks/webhook-transport.gateway';
import { captureLogger } from '../support/log-capture';
import { openTestStore, type Dialect, type TestStore } from '../support/stores';

export const SETTINGS: DispatcherSettings = {
  instanceId: 'instance-a',
  pollMs: 10,
  batchSize: 50,
  concurrency: 8,
  leaseMs: 30_000,
  schedule: { baseMs: 1_000, capMs: 60_000, windowMs: 72 * 3_600_000 },
  disableAfterMs: 24 * 3_600_000,
};

export interface Fixture {
  readonly t: TestStore;
  readonly clock: ManualClock;
  readonly logger: Logger;
  readonly logs: () => string;
  readonly customers: CustomerRepository;
  readonly endpoints: EndpointRepository;
  readonly deliveries: DeliveryRepository;
  /** A dispatcher on `store` (default: the fixture's), loopback allowed as in simulator mode. */
  dispatcher(settings?: Partial<DispatcherSettings>, store?: Store, resolve?: Resolver): WebhookDispatcher;
  dispose(): Promise<void>;
}

export async function openFixture(dialect: Dialect): Promise<Fixture> {
  const t = await openTestStore(dialect);
  // Near the real time: receivers may check signatures with the library's five-minute tolerance.
  const clock = new ManualClock(Math.floor(Date.now() / 1000) * 1000);
  const { logger, text } = captureLogger();
  return {
    t,
    clock,
    logger,
    logs: text,
    customers: new CustomerRepository(t.store.db),
    endpoints: new EndpointRepository(t.store.db),
    deliveries: new DeliveryRepository(t.store.db, t.store.dialect),
    dispatcher(settings = {}, store = t.store, resolve) {
      return new WebhookDispatcher(
        {
          db: store.db,
          deliveries: new DeliveryRepository(store.db, store.dialect),
          endpoints: new EndpointRepository(store.db),
          transport: createWebhookTransport({
            policy: { allowLoopback: true, allowHttp: true },
            timeoutMs: 5_000,
            ...(resolve ? { resolve } : {}),
          }),
          clock,
          logger,
          productNames: (code) => (code === 'p' ? 'Pro plan' : undefined),
          random: () => 0.5,
        },
        { ...SETTINGS, ...settings },
      );
    },
    dispose: () => t.dispose(),
  };
}

/** A customer whose history sends four webhooks: registered, onboarded, activated, entitlements_changed. */
export async function customerWithHistory(f: Fixture, name: string): Promise<string> {
  const c = await f.customers.upsert({ productCode: 'p', customerIdentifier: name }, f.clock.now(), { registered: true });
  await f.customers.saveOnboarding(c.id, { email: `${name}@example.com`, company: `${name} Inc`, contactName: 'Ann' }, f.clock.now());
  const active = applyTransition(initialSubscriptionState, { kind: 'subscribe-success', eventTime: f.clock.now() });
  if (active.outcome !== 'applied') throw new Error('no activation');
  await f.t.store.db.transaction().execute((tx) => f.customers.saveSubscriptionState(tx, c.id, active.state, f.clock.now()));
  await f.customers.replaceEntitlements(
    c.id,
    [{ dimension: 'seats', value: { type: 'integer', value: 3 }, expirationDate: null }],
    f.clock.now(),
  );
  return c.id;
}

/** The outbox, in order, per customer: event ids. */
export async function outboxOrder(f: Fixture): Promise<Map<string, string[]>> {
  const rows = await f.t.store.db.selectFrom('webhook_events').select(['id', 'customer_id']).orderBy('seq').execute();
  const out = new Map<string, string[]>();
  for (const r of rows) if (r.customer_id) out.set(r.customer_id, [...(out.get(r.customer_id) ?? []), r.id]);
  return out;
}

/**
 * Runs passes until `done`, moving the manual clock to the next due retry whenever a pass finds
 * nothing to do (retries are scheduled in the future).
 */
export async function pump(f: Fixture, dispatchers: WebhookDispatcher[], done: () => Promise<boolean>, maxPasses = 500): Promise<void> {
  for (let i = 0; i < maxPasses; i++) {
    if (await done()) return;
    const results = await Promise.all(dispatchers.map((d) => d.runOnce()));
    if (results.every((r) => r.attempted === 0)) {
      const next = await f.t.store.db
        .selectFrom('webhook_deliveries')
        .select((eb) => eb.fn.min('next_attempt_at').as('at'))
        .where('status', '=', 'pending')
        .where('next_attempt_at', '>', toDbTime(f.clock.now()))
        .executeTakeFirst();
      const at = next?.at ? fromDbTime(next.at).getTime() : f.clock.now().getTime() + 60_000;
      f.clock.set(Math.max(at, f.clock.now().getTime() + 1));
    }
  }
  throw new Error(`not done after ${maxPasses} passes`);
}
