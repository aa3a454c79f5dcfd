import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CustomerRepository } from '../../src/customers/customer.repository';
import { createPrng } from '../../src/simulator/faults/prng';
import { openStore } from '../../src/store/database';
import { startSimulator } from '../../src/simulator';
import { licenseProduct, sumProduct } from '../metering/metering-support';
import { activeBuyers } from '../metering/crash/active-buyers';
import { cases, report, seedFor } from './figures';

const HOUR = 3_600_000;
const ROOT = join(__dirname, '..', '..');
const SPEED = 900;
const CHILD = join(__dirname, '..', 'metering', 'crash', 'emitter-child.ts');

/**
 * kill -9 at seeded random moments (replayable: RELIABILITY_SEED), many runs: an emitter process
 * ingests usage, seals hours and sends records under 10 % UnprocessedRecords and 5 % throttling,
 * and is SIGKILLed and restarted until it finishes. Afterwards the simulator billed exactly the
 * recorded usage per customer, dimension and hour, and never answered DuplicateRecord.
 */
describe('kill -9 during ingestion, sealing and sending (seeded)', () => {
  it('bills every reported unit exactly once in every run', async () => {
    const seed = seedFor('kill -9');
    const random = createPrng(seed);
    const runs = cases(100, 3);
    const started = Date.now();
    let kills = 0;
    for (let run = 0; run < runs; run++) kills += await oneRun(random, seed + run);
    report({ suite: 'kill-9', seed, runs, kills, ms: Date.now() - started });
    expect(kills).toBeGreaterThan(runs);
  }, 3_600_000);
});

async function oneRun(random: () => number, faultSeed: number): Promise<number> {
  const clock = { start: 0, realStart: Number.POSITIVE_INFINITY, speed: SPEED };
  let frozenAt: number | null = null;
  const sim = await startSimulator({
    confirmDelayMs: 0,
    now: () => frozenAt ?? clock.start + Math.max(0, Date.now() - clock.realStart) * SPEED,
  });
  const dir = mkdtempSync(join(tmpdir(), 'mb-kill-'));
  try {
    const products = [sumProduct, licenseProduct];
    for (const p of products)
      sim.createProduct({
        productCode: p.code,
        pricingModel: p.pricingModel,
        identity: p.identity,
        dimensions: p.dimensions.map((d) => ({ name: d.name })),
      });
    const dbPath = join(dir, 'kill.sqlite');
    const store = openStore({ kind: 'sqlite', path: dbPath });
    await store.migrate();
    const customers = new CustomerRepository(store.db);
    const h0 = Math.floor((Date.now() - 5 * HOUR) / HOUR) * HOUR;
    clock.start = h0 + 30_000;
    const activated = new Date(h0 - HOUR);
    frozenAt = activated.getTime();
    const who = (await activeBuyers(sim, store, customers, 20, activated)).map((b) => ({
      ...b,
      dimension: b.product === sumProduct ? 'api_calls' : 'gb',
    }));
    await store.close();
    frozenAt = clock.start;
    // Usage over the next ~2 simulated hours (8 s real), reported by the child as its time comes.
    const plan = who.flatMap((c) =>
      Array.from({ length: 6 }, (_, k) => ({
        customer: c.id,
        dimension: c.dimension,
        quantity: 1 + Math.floor(random() * 9),
        timestamp: new Date(clock.start + 60_000 + Math.floor(random() * 7000) * 1000).toISOString(),
        idempotencyKey: `u-${c.id}-${k}`,
      })),
    );
    const planPath = join(dir, 'plan.json');
    writeFileSync(planPath, JSON.stringify(plan));
    clock.realStart = Date.now();
    frozenAt = null;
    const args = [dbPath, sim.url, JSON.stringify(products), JSON.stringify(clock), planPath];
    const spawnChild = (): { child: ChildProcess; exited: Promise<number | null>; ready: Promise<void> } => {
      const child = spawn(process.execPath, ['-r', '@swc-node/register', CHILD, ...args], {
        cwd: ROOT,
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
      });
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
    sim.setFaults({ seed: faultSeed, operations: { BatchMeterUsage: { latencyMs: 40, unprocessedRate: 0.1, throttleRate: 0.05 } } });
    let kills = 0;
    for (let round = 0; round < 10; round++) {
      const { child, exited, ready } = spawnChild();
      await ready;
      await new Promise((r) => setTimeout(r, 100 + Math.floor(random() * 1500)));
      if (child.exitCode === null) {
        child.kill('SIGKILL');
        kills++;
      }
      const code = await exited;
      if (code !== null) expect(code).toBe(0);
      if (code === 0) break;
    }
    sim.setFaults({});
    expect(await spawnChild().exited).toBe(0);

    const check = openStore({ kind: 'sqlite', path: dbPath });
    const events = await check.db
      .selectFrom('usage_events')
      .innerJoin('meter_buckets', 'meter_buckets.id', 'usage_events.bucket_id')
      .select(['usage_events.customer_id', 'usage_events.dimension', 'usage_events.quantity', 'meter_buckets.hour'])
      .execute();
    await check.close();
    expect(events).toHaveLength(plan.length);
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
    for (const [key, quantity] of billed) if (!expected.has(key)) expect([key, quantity]).toEqual([key, 0]);
    expect(sim.meteringLog().filter((e) => e.outcome === 'DuplicateRecord' || e.outcome === 'double-billed')).toEqual([]);
    return kills;
  } finally {
    await sim.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
