import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UsageLedger } from '../../src/metering/ledger';
import { batchMeterUsageWindow, meterUsageWindow } from '../../src/metering/windows';
import { CustomerRepository } from '../../src/customers/customer.repository';
import { ManualClock } from '../../src/platform/clock';
import { createLogger } from '../../src/platform/logger';
import { ProductCatalog } from '../../src/products/product-config';
import { openStore } from '../../src/store/database';
import { startSimulator, type Simulator } from '../../src/simulator';
import { licenseProduct, sumProduct } from './metering-support';
import { activeBuyers } from './crash/active-buyers';

const HOUR = 3_600_000;
const ROOT = join(__dirname, '..', '..');

/**
 * Exactly-once across crashes (design §3): an emitter process is SIGKILLed at random points,
 * restarted, again and again, while usage is still being reported, hours finish and are sealed, and
 * records are sent. Its clock (shared with the simulator) runs {@link SPEED} times faster than real
 * time, so two usage hours pass in seconds. Afterwards AWS (the simulator) has billed exactly the
 * recorded usage per customer, dimension and hour, and never answered DuplicateRecord.
 */
const SPEED = 900;

describe('metering emitter survives SIGKILL at any point (SQLite file, simulator over HTTP)', () => {
  let sim: Simulator;
  let dir: string;
  let frozenAt: number | null = null;
  const clock = { start: 0, realStart: Number.POSITIVE_INFINITY, speed: SPEED };
  const simNow = () => frozenAt ?? clock.start + Math.max(0, Date.now() - clock.realStart) * SPEED;
  beforeAll(async () => {
    sim = await startSimulator({ confirmDelayMs: 0, now: simNow });
    dir = mkdtempSync(join(tmpdir(), 'mb-crash-'));
  });
  afterAll(async () => {
    await sim.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('bills every reported unit exactly once, with kills during ingestion, sealing and sending', async () => {
    const products = [sumProduct, licenseProduct];
    for (const p of products)
      sim.createProduct({
        productCode: p.code,
        pricingModel: p.pricingModel,
        identity: p.identity,
        dimensions: p.dimensions.map((d) => ({ name: d.name })),
      });
    const dbPath = join(dir, 'crash.sqlite');
    const store = openStore({ kind: 'sqlite', path: dbPath });
    await store.migrate();
    const customers = new CustomerRepository(store.db);
    const h0 = Math.floor((Date.now() - 5 * HOUR) / HOUR) * HOUR;
    clock.start = h0 + 30_000;
    const activated = new Date(h0 - 4 * HOUR + 60_000);
    frozenAt = activated.getTime();
    const who = await activeBuyers(sim, store, customers, 100, activated);
    frozenAt = clock.start;
    // Usage of the three hours before the start, already recorded when the first emitter starts.
    const ledger = new UsageLedger({
      db: store.db,
      dialect: 'sqlite',
      catalog: new ProductCatalog(products),
      clock: new ManualClock(clock.start),
      logger: createLogger({ level: 'silent' }),
      options: { batchWindow: batchMeterUsageWindow, meterUsageWindow },
    });
    const dimensionOf = (c: (typeof who)[number]) => (c.product === sumProduct ? 'api_calls' : 'gb');
    const past = [];
    for (const [i, c] of who.entries()) {
      for (let h = 3; h >= 1; h--) {
        for (let k = 0; k < 2; k++)
          past.push({
            customer: c.id,
            dimension: dimensionOf(c),
            quantity: ((i * 7 + h * 3 + k) % 11) + 1,
            timestamp: new Date(h0 - h * HOUR + 60_000 * (k + 1)).toISOString(),
            idempotencyKey: `${c.id}-${h}-${k}`,
          });
      }
    }
    expect((await ledger.record(past)).every((r) => r.status === 'accepted')).toBe(true);
    await store.close();
    // Usage reported live by the emitter process over the next two hours, while it is being killed.
    const live = [];
    for (const [i, c] of who.entries()) {
      for (let k = 0; k < 4; k++) {
        const offset = 60_000 + ((i * 7919 + k * 104_729) % 7000) * 1000; // spread over [1 min, ~1 h 58 min]
        live.push({
          customer: c.id,
          dimension: dimensionOf(c),
          quantity: ((i * 5 + k * 3) % 9) + 1,
          timestamp: new Date(clock.start + offset).toISOString(),
          idempotencyKey: `live-${c.id}-${k}`,
        });
      }
    }
    const planPath = join(dir, 'plan.json');
    writeFileSync(planPath, JSON.stringify(live));
    const planned = past.length + live.length;
    const plannedTotal = [...past, ...live].reduce((n, u) => n + u.quantity, 0);

    clock.realStart = Date.now();
    frozenAt = null;
    const args = [dbPath, sim.url, JSON.stringify(products), JSON.stringify(clock), planPath];
    const spawnChild = (): { child: ChildProcess; exited: Promise<number | null>; ready: Promise<void> } => {
      const child = spawn(process.execPath, ['-r', '@swc-node/register', join(__dirname, 'crash', 'emitter-child.ts'), ...args], {
        cwd: ROOT,
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
      });
      // Started (store open, interrupted sends released): from here on a kill interrupts real work.
      const ready = new Promise<void>((resolve) => {
        child.stdout!.on('data', (d: Buffer) => d.toString().includes('ready') && resolve());
        child.on('exit', () => resolve());
      });
      let err = '';
      child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
      const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
      void exited.then((code) => {
        if (code !== 0 && code !== null) process.stderr.write(`emitter child failed (${code}): ${err}\n`);
      });
      return { child, exited, ready };
    };
    sim.setFaults({ seed: 7, operations: { BatchMeterUsage: { latencyMs: 40, unprocessedRate: 0.1, throttleRate: 0.05 } } });
    let kills = 0;
    let midSend = 0;
    let midIngest = 0;
    let midHour = 0;
    for (let round = 0; round < 10; round++) {
      const { child, exited, ready } = spawnChild();
      await ready;
      await new Promise((r) => setTimeout(r, 100 + Math.floor(Math.random() * 900)));
      if (child.exitCode === null) {
        child.kill('SIGKILL');
        kills++;
      }
      const code = await exited;
      if (code !== null) expect(code).toBe(0);
      const peek = openStore({ kind: 'sqlite', path: dbPath });
      const sending = await peek.db.selectFrom('meter_buckets').select('id').where('state', '=', 'sending').execute();
      const events = await peek.db
        .selectFrom('usage_events')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .executeTakeFirstOrThrow();
      const hours = await peek.db.selectFrom('meter_buckets').select('hour').distinct().where('state', '!=', 'open').execute();
      await peek.close();
      if (code === null && sending.length > 0) midSend++;
      if (code === null && Number(events.n) < planned) midIngest++;
      if (code === null && hours.some((r) => new Date(r.hour).getTime() >= h0)) midHour++;
      if (code === 0) break;
    }
    sim.setFaults({});
    const last = spawnChild();
    expect(await last.exited).toBe(0);

    // Expected: what the ledger recorded, per customer, dimension and the hour it was booked in
    // (late usage for a sealed hour rolls forward into the open hour).
    const check = openStore({ kind: 'sqlite', path: dbPath });
    const events = await check.db
      .selectFrom('usage_events')
      .innerJoin('meter_buckets', 'meter_buckets.id', 'usage_events.bucket_id')
      .select(['usage_events.customer_id', 'usage_events.dimension', 'usage_events.quantity', 'meter_buckets.hour'])
      .execute();
    await check.close();
    expect(events).toHaveLength(planned);
    expect(events.reduce((n, e) => n + Number(e.quantity), 0)).toBe(plannedTotal);
    const keyOf = new Map(who.map((c) => [c.id, c.key]));
    const expected = new Map<string, number>();
    for (const e of events) {
      const key = `${keyOf.get(e.customer_id)}|${e.dimension}|${new Date(e.hour).toISOString()}`;
      expected.set(key, (expected.get(key) ?? 0) + Number(e.quantity));
    }
    const billed = new Map<string, number>();
    for (const b of sim.billed()) {
      const key = `${b.licenseArn && !b.customerIdentifier ? b.licenseArn : b.customerIdentifier}|${b.dimension}|${b.hour}`;
      expect(billed.has(key)).toBe(false);
      billed.set(key, b.quantity);
    }
    for (const [key, quantity] of expected) expect([key, billed.get(key)]).toEqual([key, quantity]);
    // Everything else billed is an hourly zero heartbeat.
    for (const [key, quantity] of billed) if (!expected.has(key)) expect([key, quantity]).toEqual([key, 0]);
    expect(sim.meteringLog().filter((e) => e.outcome === 'DuplicateRecord' || e.outcome === 'double-billed')).toEqual([]);
    expect(kills).toBeGreaterThan(2);
    expect(midIngest).toBeGreaterThan(0); // at least one kill landed while usage was still being reported
    expect(midHour).toBeGreaterThan(0); // ...and one after live hours had started being sealed
    expect(midSend).toBeGreaterThan(0); // at least one kill landed between 'sending' and the recorded answer
  }, 90_000);
});
