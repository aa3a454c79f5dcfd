import { appendFileSync } from 'node:fs';
import fc from 'fast-check';
import type { Response } from 'supertest';
import type { Dialect } from '../support/stores';
import { MoneyModel, type Aggregation, type ModelBuyer, type SentRecord } from './money-model';
import { MODEL_PRODUCTS, MoneySystem } from './money-system';

/**
 * The model-based money test: fast-check draws a sequence of commands (buyers subscribing and
 * registering, notifications delivered 1–3× in random order, usage batches that repeat idempotency
 * keys, hourly passes, clock jumps, cancellations, store outages, simulator faults, restarts),
 * runs it against the service and the oracle side by side, and after each run compares what the
 * simulator billed with what the oracle says should have been billed.
 *
 * Replay: every run prints its seed; `MODEL_SEED=<seed>` (and `MODEL_PATH=<path>` from a failure
 * report) runs exactly that sequence again.
 */

const HOUR = 3_600_000;
const MINUTE = 60_000;

type Real = MoneySystem;
type Cmd = fc.AsyncCommand<MoneyModel, Real, boolean>;

function command(name: string, check: (m: Readonly<MoneyModel>) => boolean, run: (m: MoneyModel, r: Real) => Promise<void>): Cmd {
  return {
    check,
    async run(m, r) {
      figures.commands++;
      await run(m, r);
      // An outage lasts a few commands, whatever they are.
      if (m.storeDown && name !== 'store-down' && --m.outageLeft <= 0) {
        r.storeSwitch.down = false;
        m.storeDown = false;
        await r.startPending();
      }
    },
    toString: () => name,
  };
}

const aggregationOf = (product: string, dimension: string): Aggregation =>
  MODEL_PRODUCTS.find((p) => p.code === product)!.dimensions.find((d) => d.name === dimension)!.aggregation as Aggregation;

const dimensionsOf = (product: string) => MODEL_PRODUCTS.find((p) => p.code === product)!.dimensions.map((d) => d.name);

interface RunFigures {
  runs: number;
  commands: number;
  usageRecords: number;
  acceptedRecords: number;
  billedHours: number;
  restarts: number;
  deliveries: number;
  notificationCopies: number;
  deferredCopies: number;
  outages: number;
  faultSets: number;
  faultedCalls: number;
  /** Notification copies whose processing failed (store away, an AWS call refused), delivered again later. */
  failedCopies: number;
  /** Registrations answered 503 because ResolveCustomer or GetEntitlements was refused. */
  registrationsRefused: number;
  /** ResolveCustomer calls the simulator refused (GetEntitlements refusals show as failed deliveries and registrations). */
  refusedResolveCustomerCalls: number;
}

const figures: RunFigures = {
  runs: 0,
  commands: 0,
  usageRecords: 0,
  acceptedRecords: 0,
  billedHours: 0,
  restarts: 0,
  deliveries: 0,
  notificationCopies: 0,
  deferredCopies: 0,
  outages: 0,
  faultSets: 0,
  faultedCalls: 0,
  registrationsRefused: 0,
  failedCopies: 0,
  refusedResolveCustomerCalls: 0,
};

function buyerAt(m: Readonly<MoneyModel>, n: number, ok: (b: ModelBuyer) => boolean): ModelBuyer | undefined {
  const list = m.buyers.filter(ok);
  return list.length === 0 ? undefined : list[n % list.length];
}

async function registerBuyer(m: MoneyModel, r: Real, b: ModelBuyer, instance: number): Promise<void> {
  const token = r.h.sim.newRegistrationToken(b.simId);
  const status = await r.register(instance, token);
  if (m.storeDown) {
    expect(status).toBe(503);
    return;
  }
  // ResolveCustomer or GetEntitlements refused (throttled, 5xx): the buyer is asked to try again.
  // Whatever was stored before the failure stays, and a later registration completes it.
  if (r.awsFaults && status === 503) figures.registrationsRefused++;
  else expect(status).toBe(303);
  const sub = r.h.sim.subscription(b.simId);
  const found = await r
    .pick(instance)
    .container.customers.findByIdentity(
      sub.customerIdentifier
        ? { productCode: sub.productCode, customerIdentifier: sub.customerIdentifier }
        : { productCode: sub.productCode, customerAWSAccountId: sub.customerAWSAccountId, licenseArn: sub.licenseArn },
    );
  if (status !== 303) {
    if (found) b.customerId = found.id;
    return;
  }
  expect(found).toBeDefined();
  b.customerId = found!.id;
}

function commandArbitraries(instances: number): Array<fc.Arbitrary<Cmd>> {
  const inst = fc.nat({ max: instances - 1 });
  const all = [
    fc.record({ product: fc.nat({ max: 1 }), i: inst, confirmNow: fc.boolean() }).map(({ product, i, confirmNow }) =>
      command(
        `subscribe(${product},@${i}${confirmNow ? ',confirmed' : ''})`,
        (m) => m.buyers.length < 8,
        async (m, r) => {
          const p = MODEL_PRODUCTS[product]!;
          // A licence without any entitlement is treated as ended: each licence buyer is entitled to the plan.
          const sub = await r.h.sim.subscribe({
            productCode: p.code,
            confirmation: 'manual',
            ...(p.identity === 'license' ? { entitlements: [{ dimension: 'plan', integerValue: 1 }] } : {}),
          });
          const b: ModelBuyer = {
            simId: sub.id,
            product: p.code,
            billingKey: (p.identity === 'license' ? sub.licenseArn : sub.customerIdentifier)!,
            customerId: null,
            phase: 'subscribed',
            known: 'subscribed',
            confirmedAt: null,
          };
          m.buyers.push(b);
          await registerBuyer(m, r, b, i);
          if (confirmNow) {
            await r.h.sim.confirm(b.simId);
            b.phase = 'active';
            b.confirmedAt = r.h.clock.now().getTime();
            m.undelivered = true;
          }
        },
      ),
    ),
    fc.record({ n: fc.nat(), i: inst }).map(({ n, i }) =>
      command(
        `register(${n},@${i})`,
        (m) => m.buyers.some((b) => b.customerId === null),
        async (m, r) =>
          registerBuyer(
            m,
            r,
            buyerAt(m, n, (b) => b.customerId === null)!,
            i,
          ),
      ),
    ),
    fc.nat().map((n) =>
      command(
        `confirm(${n})`,
        (m) => m.buyers.some((b) => b.phase === 'subscribed'),
        async (m, r) => {
          const b = buyerAt(m, n, (x) => x.phase === 'subscribed')!;
          await r.h.sim.confirm(b.simId);
          b.phase = 'active';
          b.confirmedAt = r.h.clock.now().getTime();
          m.undelivered = true;
        },
      ),
    ),
    fc.record({ seed: fc.integer(), i: inst }).map(({ seed, i }) =>
      command(
        `deliver(${seed},@${i})`,
        () => true,
        async (m, r) => {
          const stats = await r.deliver(seed, i);
          // A copy that failed (an AWS call refused while faults are on) is delivered again later.
          if (stats.failed === 0) m.delivered();
        },
      ),
    ),
    fc
      .record({
        n: fc.nat(),
        i: inst,
        records: fc.array(
          fc.record({
            dim: fc.nat({ max: 1 }),
            quantity: fc.integer({ min: 1, max: 50 }),
            ageMin: fc.nat({ max: 50 }),
            reuse: fc.option(fc.nat(), { freq: 3 }),
          }),
          { minLength: 1, maxLength: 4 },
        ),
      })
      .map(({ n, i, records }) =>
        command(
          `usage(${n},@${i},${JSON.stringify(records)})`,
          (m) => m.buyers.some((b) => b.customerId !== null),
          async (m, r) => {
            // Mostly buyers the service knows to be active (money moves), sometimes any registered one.
            const b = (n % 4 !== 0 ? buyerAt(m, n, (x) => m.mustAccept(x)) : undefined) ?? buyerAt(m, n, (x) => x.customerId !== null)!;
            const now = r.h.clock.now().getTime();
            const earliest = b.confirmedAt ?? now;
            const mine = [...m.sent.entries()].filter(([k]) => k.startsWith(`${b.simId}|`)).map(([, v]) => v);
            const batch: SentRecord[] = records.map((x, j) => {
              if (x.reuse !== null && mine.length > 0) return mine[x.reuse % mine.length]!;
              const rec: SentRecord = {
                dimension: dimensionsOf(b.product)[x.dim]!,
                quantity: x.quantity,
                timestamp: new Date(Math.max(earliest, now - x.ageMin * MINUTE)).toISOString(),
                idempotencyKey: `k${m.sent.size}-${j}`,
              };
              m.sent.set(`${b.simId}|${rec.idempotencyKey}`, rec);
              mine.push(rec);
              return rec;
            });
            figures.usageRecords += batch.length;
            const res: Response = await r.usage(i, b.customerId!, [...batch]);
            if (m.storeDown) {
              expect(res.status).toBe(503);
              return;
            }
            expect(res.status).toBe(200);
            const seenNow = new Set<string>();
            const rejectedNow = new Set<string>();
            for (const [j, result] of (res.body.results as Array<Record<string, any>>).entries()) {
              const rec = batch[j]!;
              const before = m.isAccepted(b, rec.idempotencyKey) || seenNow.has(rec.idempotencyKey);
              if (result.status === 'accepted') {
                const booked = Date.parse(result.hour as string);
                const own = Math.floor(Date.parse(rec.timestamp) / HOUR) * HOUR;
                // Booked in its own hour, or rolled forward into the open hour once its own was completed.
                if (booked !== own) {
                  expect(result.rolledForward).toBe(true);
                  expect(booked).toBeGreaterThan(own);
                  expect(booked).toBeLessThanOrEqual(now);
                }
                if (before) expect(result.replayed || seenNow.has(rec.idempotencyKey)).toBe(true);
                m.accept(b, rec, new Date(booked).toISOString());
                seenNow.add(rec.idempotencyKey);
              } else {
                if (m.mustAccept(b) && Date.parse(rec.timestamp) >= b.confirmedAt!)
                  throw new Error(
                    `refused usage of a buyer known to be active: ${JSON.stringify({ result, rec, now: new Date(now), buyer: b })}`,
                  );
                // A replay of an accepted record is answered as accepted, whatever happened since
                // (finding 2 in docs/reliability.md: the key is looked up before the subscription).
                if (before) throw new Error(`refused the replay of an accepted record: ${JSON.stringify({ result, rec, buyer: b })}`);
                // A repeat, in one batch, of a record refused earlier in it is refused as such. A
                // record dated before its buyer's end whose own hour is already sealed would roll
                // forward past the end: refused as hour_closed.
                const expectedCode = rejectedNow.has(rec.idempotencyKey)
                  ? /invalid_usage|customer_not_active|final_metering_done|hour_closed/
                  : /customer_not_active|final_metering_done|hour_closed/;
                expect(JSON.stringify(result)).toMatch(expectedCode);
                rejectedNow.add(rec.idempotencyKey);
              }
              if (m.mustReject(b)) expect(result.status).toBe('rejected');
            }
          },
        ),
      ),
    fc.record({ minutes: fc.integer({ min: 1, max: 70 }), both: fc.boolean(), i: inst }).map(({ minutes, both, i }) =>
      command(
        `tick(+${minutes}m,${both ? 'both' : `@${i}`})`,
        () => true,
        async (_m, r) => {
          r.h.clock.advance(minutes * MINUTE);
          await r.tick(both ? 'both' : 'one', i);
        },
      ),
    ),
    fc.integer({ min: 1, max: 3 }).map((hours) =>
      command(
        `jump(+${hours}h)`,
        () => true,
        async (_m, r) => {
          r.h.clock.advance(hours * HOUR);
          await r.tick('both', 0);
        },
      ),
    ),
    fc.nat().map((n) =>
      command(
        `cancel(${n})`,
        (m) => m.buyers.some((b) => b.phase === 'active'),
        async (m, r) => {
          const b = buyerAt(m, n, (x) => x.phase === 'active')!;
          await r.h.sim.cancel(b.simId, { endAfterMs: 30 * 24 * HOUR });
          b.phase = 'cancelled';
          m.undelivered = true;
        },
      ),
    ),
    fc.nat().map((n) =>
      command(
        `end(${n})`,
        (m) => m.buyers.some((b) => b.phase === 'cancelled'),
        async (m, r) => {
          const b = buyerAt(m, n, (x) => x.phase === 'cancelled')!;
          await r.h.sim.endNow(b.simId);
          b.phase = 'ended';
          m.undelivered = true;
        },
      ),
    ),
    fc.integer({ min: 1, max: 6 }).map((n) =>
      command(
        'store-down',
        (m) => !m.storeDown,
        async (m, r) => {
          r.storeSwitch.down = true;
          m.storeDown = true;
          m.outageLeft = n;
          figures.outages++;
        },
      ),
    ),
    fc
      .record({
        seed: fc.integer(),
        throttle: fc.constantFrom(0, 0.1, 0.3),
        serverError: fc.constantFrom(0, 0.05, 0.2),
        unprocessed: fc.constantFrom(0, 0.1, 0.3),
        latencyMs: fc.constantFrom(0, 5, 20),
        // ResolveCustomer and GetEntitlements: throttling and 5xx, each at this rate.
        others: fc.constantFrom(0, 0, 0.1, 0.3),
      })
      .map((f) =>
        command(
          `faults(${JSON.stringify(f)})`,
          () => true,
          async (_m, r) => {
            r.h.sim.setFaults({
              seed: f.seed,
              operations: {
                BatchMeterUsage: {
                  throttleRate: f.throttle,
                  serverErrorRate: f.serverError,
                  unprocessedRate: f.unprocessed,
                  latencyMs: f.latencyMs,
                },
                ResolveCustomer: { throttleRate: f.others, serverErrorRate: f.others },
                GetEntitlements: { throttleRate: f.others, serverErrorRate: f.others },
              },
            });
            r.awsFaults = f.others > 0;
            figures.faultSets++;
          },
        ),
      ),
    fc.constant(
      command(
        'faults-off',
        () => true,
        async (_m, r) => {
          r.h.sim.setFaults({});
          r.awsFaults = false;
        },
      ),
    ),
    inst.map((i) =>
      command(
        `restart(@${i})`,
        () => true,
        async (_m, r) => r.restart(i),
      ),
    ),
  ];
  const [subscribe, register, confirm, deliver, usage, tick, jump, cancel, end, down, faults, faultsOff, restart] = all as [
    fc.Arbitrary<Cmd>,
    ...Array<fc.Arbitrary<Cmd>>,
  ] as Array<fc.Arbitrary<Cmd>>;
  // Weights: money moves mostly through usage, deliveries and passes.
  const weighted: Array<[fc.Arbitrary<Cmd> | undefined, number]> = [
    [subscribe, 3],
    [register, 1],
    [confirm, 2],
    [deliver, 3],
    [usage, 6],
    [tick, 3],
    [jump, 1],
    [cancel, 1],
    [end, 1],
    [down, 1],
    [faults, 1],
    [faultsOff, 1],
    [restart, 1],
  ];
  return weighted.flatMap(([a, n]) => Array.from({ length: n }, () => a!));
}

/** After the commands: the store back, faults off, every notification delivered, every finished hour sent. */
async function settle(m: MoneyModel, r: Real): Promise<void> {
  r.storeSwitch.down = false;
  m.storeDown = false;
  await r.startPending();
  r.h.sim.setFaults({});
  r.awsFaults = false;
  // Visibility timeouts of copies that failed during an outage run out.
  r.h.clock.advance(MINUTE);
  for (let k = 0; k < 3; k++) await r.deliver(k, 0);
  m.delivered();
  const now = r.h.clock.now().getTime();
  r.h.clock.set(new Date(Math.floor(now / HOUR) * HOUR + HOUR + 15 * MINUTE).toISOString());
  await r.drain();
  r.h.clock.advance(HOUR);
  await r.drain();
}

/** The ledger check: billed = model; no DuplicateRecord; every unbilled unit held back for a stated reason. */
async function compare(m: MoneyModel, r: Real): Promise<void> {
  const products = new Set(MODEL_PRODUCTS.map((p) => p.code));
  const billed = new Map<string, number>();
  for (const b of r.h.sim.billed().filter((x) => products.has(x.productCode))) {
    const key = `${b.licenseArn && !b.customerIdentifier ? b.licenseArn : b.customerIdentifier}|${b.dimension}|${b.hour}`;
    expect([key, billed.has(key)]).toEqual([key, false]); // billed twice
    billed.set(key, b.quantity);
  }
  expect(r.h.sim.meteringLog().filter((e) => e.outcome === 'DuplicateRecord' || e.outcome === 'double-billed')).toEqual([]);
  const expected = m.expected();
  const buckets = await r.pick(0).container.meterBuckets.list({ limit: 10_000 });
  const byKey = new Map(m.buyers.filter((b) => b.customerId).map((b) => [b.customerId!, b]));
  const unbilled: string[] = [];
  for (const [key, quantity] of expected) {
    if (billed.get(key) === quantity) continue;
    const [billingKey, dimension, hour] = key.split('|');
    const buyer = m.buyers.find((b) => b.billingKey === billingKey)!;
    const bucket = buckets.find((b) => b.customerId === buyer.customerId && b.dimension === dimension && b.hour.toISOString() === hour);
    // Not billed: allowed only for a buyer whose subscription ended, and only with the reason on the record.
    expect({ key, billed: billed.get(key), quantity, phase: buyer.phase, state: bucket?.state }).toEqual({
      key,
      billed: undefined,
      quantity,
      phase: expect.stringMatching(/cancelled|ended/),
      state: expect.stringMatching(/^(held|expired|failed|not_subscribed)$/),
    });
    expect(bucket!.lastError ?? bucket!.holdReason).toEqual(expect.any(String));
    unbilled.push(key);
  }
  for (const [key, quantity] of billed) if (!expected.has(key)) expect([key, quantity]).toEqual([key, 0]); // heartbeats only
  // No usage lost: every accepted record is a stored usage event of a known buyer.
  const events = await r.h.db.store.db.selectFrom('usage_events').select(['customer_id', 'idempotency_key']).execute();
  expect(events.length).toBe(m.acceptedCount());
  for (const e of events) expect(byKey.has(e.customer_id)).toBe(true);
  figures.acceptedRecords += m.acceptedCount();
  figures.billedHours += [...billed.values()].filter((q) => q > 0).length;
  figures.faultedCalls += r.h.sim.meteringLog().filter((e) => e.operation === 'BatchMeterUsage' && e.outcome !== 'Success').length;
  figures.refusedResolveCustomerCalls += r.h.sim
    .meteringLog()
    .filter((e) => e.operation === 'ResolveCustomer' && e.outcome !== 'Success').length;
}

interface ModelRunOptions {
  readonly dialect: Dialect;
  readonly instances: number;
  readonly runs: number;
  readonly maxCommands: number;
}

/** Runs the model-based test and returns the seed it used (printed first, for replay). */
export async function runMoneyModel(opts: ModelRunOptions): Promise<number> {
  const seed = process.env.MODEL_SEED ? Number(process.env.MODEL_SEED) : (Date.now() ^ (Math.random() * 0x7fffffff)) | 0;
  const path = process.env.MODEL_PATH;
  const label = `${opts.dialect}, ${opts.instances} instance(s)`;
  process.stdout.write(`money model (${label}): seed ${seed} — replay with MODEL_SEED=${seed}\n`);
  const started = Date.now();
  const before = { ...figures };
  await fc.assert(
    fc.asyncProperty(fc.commands(commandArbitraries(opts.instances), { maxCommands: opts.maxCommands, size: 'max' }), async (cmds) => {
      const real = await MoneySystem.start(opts.dialect, opts.instances);
      const model = new MoneyModel(aggregationOf);
      try {
        await fc.asyncModelRun(() => ({ model, real }), cmds);
        await settle(model, real);
        await compare(model, real);
        if (process.env.MODEL_DEBUG) process.stdout.write(`${[...cmds].map(String).join(' ')}\n accepted ${model.acceptedCount()}\n`);
        figures.runs++;
        figures.restarts += real.stats.restarts;
        figures.deliveries += real.stats.deliveries;
        figures.notificationCopies += real.stats.copies;
        figures.deferredCopies += real.stats.deferred;
        figures.failedCopies += real.stats.failedDeliveries;
      } finally {
        await real.close();
      }
    }),
    { seed, numRuns: opts.runs, endOnFailure: !process.env.MODEL_SHRINK, ...(path ? { path } : {}) },
  );
  const report = process.env.MODEL_REPORT;
  if (report) {
    const delta = Object.fromEntries(Object.entries(figures).map(([k, v]) => [k, v - before[k as keyof RunFigures]]));
    appendFileSync(report, `${JSON.stringify({ suite: 'money-model', label, seed, ...opts, ms: Date.now() - started, ...delta })}\n`);
  }
  return seed;
}
