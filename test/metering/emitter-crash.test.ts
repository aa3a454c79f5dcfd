import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UsageLedger } from '../../src/metering/ledger';
import { batchMeterUsageWindow, meterUsageWindow } from '../../src/metering/windows';
import { CustomerRepository } from '../../src/customers/customer.repository';
import { systemClock } from '../../src/platform/clock';
import { createLogger } from '../../src/platform/logger';
import { ProductCatalog } from '../../src/products/product-config';
import { openStore } from '../../src/store/database';
import { startSimulator, type Simulator } from '../../src/simulator';
import { licenseProduct, sumProduct } from './metering-support';

const HOUR = 3_600_000;
const ROOT = join(__dirname, '..', '..');

/**
 * Exactly-once across crashes (design §3): an emitter process is SIGKILLed at random points,
 * restarted, again and again; afterwards AWS (the simulator) has billed exactly the reported usage
 * per customer, dimension and hour, and never answered DuplicateRecord.
 */
describe('metering emitter survives SIGKILL at any point (SQLite file, simulator over HTTP)', () => {
  let sim: Simulator;
  let dir: string;
  let offset = 0;
  beforeAll(async () => {
    sim = await startSimulator({ confirmDelayMs: 0, now: () => Date.now() + offset });
    dir = mkdtempSync(join(tmpdir(), 'mb-crash-'));
  });
  afterAll(async () => {
    await sim.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('bills every reported unit exactly once', async () => {
    const products = [sumProduct, licenseProduct];
    for (const p of products) sim.createProduct({ productCode: p.code, pricingModel: p.pricingModel, identity: p.identity, dimensions: p.dimensions.map((d) => ({ name: d.name })) });
    const dbPath = join(dir, 'crash.sqlite');
    const store = openStore({ kind: 'sqlite', path: dbPath });
    await store.migrate();
    const customers = new CustomerRepository(store.db);
    const now = Date.now();
    const activated = new Date(Math.floor((now - 6 * HOUR) / HOUR) * HOUR + 60_000);
    offset = activated.getTime() - now;
    const who: Array<{ id: string; key: string; product: typeof sumProduct }> = [];
    for (let i = 0; i < 100; i++) {
      const product = i % 2 === 0 ? sumProduct : licenseProduct;
      const sub = await sim.subscribe({ productCode: product.code, confirmation: 'manual' });
      await sim.confirm(sub.id);
      const s = sim.subscription(sub.id);
      const c = await customers.upsert(product.identity === 'license' ? { productCode: product.code, customerAWSAccountId: s.customerAWSAccountId, licenseArn: s.licenseArn } : { productCode: product.code, customerIdentifier: s.customerIdentifier }, activated);
      await store.db.transaction().execute((tx) => customers.saveSubscriptionState(tx, c.id, { status: 'active', statusEventTime: activated, activatedAt: activated, finalWindowOpenedAt: null, endedAt: null }, activated));
      who.push({ id: c.id, key: (product.identity === 'license' ? s.licenseArn : s.customerIdentifier)!, product });
    }
    offset = 0;
    const ledger = new UsageLedger({ db: store.db, dialect: 'sqlite', catalog: new ProductCatalog(products), clock: systemClock, logger: createLogger({ level: 'silent' }), options: { batchWindow: batchMeterUsageWindow, meterUsageWindow } });
    const expected = new Map<string, number>();
    const records = [];
    for (const [i, c] of who.entries()) {
      for (let h = 6; h >= 1; h--) {
        const hour = Math.floor((now - h * HOUR) / HOUR) * HOUR;
        const dimension = c.product === sumProduct ? 'api_calls' : 'gb';
        for (let k = 0; k < 2; k++) {
          const quantity = ((i * 7 + h * 3 + k) % 11) + 1;
          records.push({ customer: c.id, dimension, quantity, timestamp: new Date(hour + 60_000 * (k + 1)).toISOString(), idempotencyKey: `${c.id}-${h}-${k}` });
          const key = `${c.key}|${dimension}|${new Date(hour).toISOString()}`;
          expected.set(key, (expected.get(key) ?? 0) + quantity);
        }
      }
    }
    const results = await ledger.record(records);
    expect(results.every((r) => r.status === 'accepted')).toBe(true);
    await store.close();

    const args = [dbPath, sim.url, JSON.stringify(products)];
    const spawnChild = (): { child: ChildProcess; exited: Promise<number | null> } => {
      const child = spawn(process.execPath, ['-r', '@swc-node/register', join(__dirname, 'crash', 'emitter-child.ts'), ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' } });
      let err = '';
      child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
      const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
      void exited.then((code) => {
        if (code !== 0 && code !== null) process.stderr.write(`emitter child failed (${code}): ${err}\n`);
      });
      return { child, exited };
    };
    sim.setFaults({ seed: 7, operations: { BatchMeterUsage: { latencyMs: 40, unprocessedRate: 0.1, throttleRate: 0.05 } } });
    let kills = 0;
    let midSend = 0;
    for (let round = 0; round < 8; round++) {
      const { child, exited } = spawnChild();
      await new Promise((r) => setTimeout(r, 600 + Math.floor(Math.random() * 1400)));
      if (child.exitCode === null) {
        child.kill('SIGKILL');
        kills++;
      }
      await exited;
      const peek = openStore({ kind: 'sqlite', path: dbPath });
      const sending = await peek.db.selectFrom('meter_buckets').select('id').where('state', '=', 'sending').execute();
      await peek.close();
      if (sending.length > 0) midSend++;
    }
    sim.setFaults({});
    const last = spawnChild();
    expect(await last.exited).toBe(0);

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
    expect(midSend).toBeGreaterThan(0); // at least one kill landed between 'sending' and the recorded answer
  }, 90_000);
});
