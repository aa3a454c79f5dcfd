import type { ProductConfig } from '../../src/products/product-config';
import type { SubscriptionState } from '../../src/customers/subscription-state';
import type { Customer } from '../../src/customers/customer';
import { ManualClock } from '../../src/platform/clock';
import { startHarness, type Harness, type HarnessOptions } from '../support/harness';
import { SdkMeteringGateway } from '../../src/aws/metering.gateway';
import { MeteringEmitter, type EmitterSettings } from '../../src/metering/emitter';
import type { MeteringGateway } from '../../src/metering/ports';
import type { MeteringBatch, PendingRecord } from '../../src/metering/record-batching';

export const sumProduct: ProductConfig = {
  code: 'meter-sum-product',
  name: 'Metered SaaS',
  pricingModel: 'subscription',
  meteringApi: 'batch',
  identity: 'customer-identifier',
  dimensions: [
    { name: 'api_calls', aggregation: 'sum', heartbeat: true, metered: true },
    { name: 'peak_hosts', aggregation: 'max', heartbeat: true, metered: true },
    { name: 'users', aggregation: 'distinct', heartbeat: false, metered: true },
  ],
};

export const licenseProduct: ProductConfig = {
  code: 'meter-license-product',
  name: 'Contract SaaS',
  pricingModel: 'contract-with-consumption',
  meteringApi: 'batch',
  identity: 'license',
  dimensions: [
    { name: 'seats', aggregation: 'overage', overageBasis: 'max', heartbeat: true, metered: true },
    { name: 'gb', aggregation: 'sum', heartbeat: false, metered: true },
    { name: 'storage_gb', aggregation: 'overage', overageBasis: 'sum', heartbeat: false, metered: true },
  ],
};

export const meterUsageProduct: ProductConfig = {
  code: 'meter-usage-product',
  name: 'AMI product',
  pricingModel: 'subscription',
  meteringApi: 'meter-usage',
  identity: 'customer-identifier',
  dimensions: [{ name: 'hosts', aggregation: 'max', heartbeat: true, metered: true }],
};

/** 10:30 UTC on a day well inside a month (no month-end cut-off surprises). */
export const T0 = '2026-03-10T10:30:00.000Z';

/** A harness whose service and simulator share one manual clock. */
export async function meteringHarness(opts: HarnessOptions & { start?: string } = {}): Promise<Harness & { clock: ManualClock }> {
  const clock = opts.clock ?? new ManualClock(opts.start ?? T0);
  const h = await startHarness({
    products: [sumProduct, licenseProduct],
    ...opts,
    clock,
    env: { METERING_EMITTER_MINUTE: '10', ...opts.env },
    simulator: { confirmDelayMs: 0, ...opts.simulator, now: () => clock.now().getTime() },
  });
  return Object.assign(h, { clock });
}

/**
 * A buyer subscribed and activated in the simulator at the current clock time, and the same
 * customer in our store, active (as the notification handlers would leave it).
 */
export async function activeCustomer(
  h: Harness,
  product: ProductConfig,
  opts: { entitlements?: Array<{ dimension: string; integerValue: number }> } = {},
): Promise<Customer & { simId: string }> {
  const sub = await h.sim.subscribe({ productCode: product.code, confirmation: 'manual', entitlements: opts.entitlements });
  await h.sim.confirm(sub.id);
  const s = h.sim.subscription(sub.id);
  const now = h.clock.now();
  const c = await h.container.customers.upsert(
    product.identity === 'license'
      ? { productCode: product.code, customerAWSAccountId: s.customerAWSAccountId, licenseArn: s.licenseArn }
      : { productCode: product.code, customerIdentifier: s.customerIdentifier },
    now,
  );
  await setState(h, c.id, { status: 'active', statusEventTime: now, activatedAt: now, finalWindowOpenedAt: null, endedAt: null });
  if (opts.entitlements) {
    await h.container.customers.replaceEntitlements(
      c.id,
      opts.entitlements.map((e) => ({ dimension: e.dimension, value: { type: 'integer', value: e.integerValue }, expirationDate: null })),
      now,
    );
  }
  return { ...(await h.container.customers.findById(c.id))!, simId: sub.id };
}

export async function setState(h: Harness, id: string, state: SubscriptionState): Promise<void> {
  await h.db.store.db.transaction().execute((tx) => h.container.customers.saveSubscriptionState(tx, id, state, h.clock.now()));
}

/** Runs the emitter until nothing is due, advancing the clock between passes (backoff waits). */
export async function drain(h: Harness & { clock: ManualClock }, opts: { passes?: number; stepMs?: number } = {}): Promise<void> {
  for (let i = 0; i < (opts.passes ?? 30); i++) {
    await h.container.emitter.runOnce();
    const counts = await h.container.meterBuckets.countByState();
    if (!counts.sealed && !counts.sending) return;
    h.clock.advance(opts.stepMs ?? 130_000);
  }
}

/** An emitter over the harness's store and simulator whose gateway lets the test look at every call. */
export function spyEmitter(
  h: Harness & { clock: ManualClock },
  spy: {
    onBatch?: (batch: MeteringBatch) => Promise<void> | void;
    onMeterUsage?: (record: PendingRecord, opts: { clientToken?: string; dryRun?: boolean }) => Promise<void> | void;
  } = {},
  settings: Partial<EmitterSettings> = {},
): MeteringEmitter {
  const real = new SdkMeteringGateway(h.aws.metering);
  const gateway: MeteringGateway = {
    async batchMeterUsage(batch) {
      await spy.onBatch?.(batch);
      return real.batchMeterUsage(batch);
    },
    async meterUsage(record, opts) {
      await spy.onMeterUsage?.(record, opts);
      return real.meterUsage(record, opts);
    },
  };
  return new MeteringEmitter({
    db: h.db.store.db,
    dialect: h.db.store.dialect,
    catalog: h.container.catalog,
    gateway,
    clock: h.clock,
    logger: h.logger,
    settings: { minute: 10, ...settings },
  });
}
