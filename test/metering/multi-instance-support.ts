import { sql } from 'kysely';
import { createAwsClients, type AwsClients } from '../../src/aws/clients';
import { SdkMeteringGateway, toCallFailure } from '../../src/aws/metering.gateway';
import { createContainer, type Container } from '../../src/container';
import { MeteringEmitter, type EmitterSettings } from '../../src/metering/emitter';
import type { MeteringGateway } from '../../src/metering/ports';
import type { ManualClock } from '../../src/platform/clock';
import type { Logger } from '../../src/platform/logger';
import { openStore, type Store } from '../../src/store/database';
import type { Harness, HarnessOptions } from '../support/harness';
import { captureLogger } from '../support/log-capture';
import { meteringHarness } from './metering-support';

/** One service instance as a separate process would have it: its own pool, SDK clients, container and logger. */
export interface Instance {
  readonly name: string;
  readonly store: Store;
  readonly aws: AwsClients;
  readonly container: Container;
  readonly logger: Logger;
  readonly logs: () => string;
  /**
   * An emitter of this instance with its own settings, optionally through a gateway wrapper
   * (to hold or fail calls). Every emitter has its own lease owner, as a separate process would.
   */
  emitter(opts?: { settings?: Partial<EmitterSettings>; wrap?: (real: MeteringGateway) => MeteringGateway }): MeteringEmitter;
}

export interface TwoInstances {
  /** The harness of instance A (its simulator, clock and schema are shared with B). */
  readonly h: Harness & { clock: ManualClock };
  readonly a: Instance;
  readonly b: Instance;
  close(): Promise<void>;
}

/**
 * Two service instances over ONE PostgreSQL schema and one simulator, sharing the manual clock
 * (as two processes share real time). A is the harness's own container; B is a second container
 * opened on the same schema with its own connection pool and its own SDK clients.
 */
export async function twoInstances(opts: Omit<HarnessOptions, 'dialect'> & { start?: string } = {}): Promise<TwoInstances> {
  const h = await meteringHarness({ ...opts, dialect: 'postgres' });
  const url = process.env.TEST_DATABASE_URL;
  if (!url) throw new Error('TEST_DATABASE_URL is not set');
  // The harness's store runs with search_path set to its fresh schema.
  const { rows } = await sql<{ schema: string }>`select current_schema() as schema`.execute(h.db.store.db);
  const schema = rows[0]!.schema;
  if (!schema.startsWith('t_')) throw new Error(`unexpected test schema ${schema}`);

  const make = (name: string, store: Store, aws: AwsClients, container: Container, logger: Logger, logs: () => string): Instance => ({
    name,
    store,
    aws,
    container,
    logger,
    logs,
    emitter({ settings = {}, wrap } = {}) {
      const real = new SdkMeteringGateway(aws.metering);
      return new MeteringEmitter({
        db: store.db,
        dialect: store.dialect,
        catalog: container.catalog,
        gateway: wrap ? wrap(real) : real,
        clock: h.clock,
        logger,
        settings: { ...container.emitter.settings, ...settings },
      });
    },
  });
  const a = make('A', h.db.store, h.aws, h.container, h.logger, h.logs);

  const storeB = openStore({ kind: 'postgres', url, schema, poolSize: 5 });
  // Migrations are already applied; running them again from the second instance is a no-op.
  await storeB.migrate();
  const awsB = createAwsClients({
    region: 'us-east-1',
    endpoints: { metering: h.sim.url, entitlement: h.sim.url, sqs: h.sim.url },
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
  const logB = captureLogger();
  const containerB = createContainer({
    config: h.config,
    store: storeB,
    aws: awsB,
    clock: h.clock,
    logger: logB.logger,
    validateResponses: true,
    specViolations: [],
    simulatorOrigin: new URL(h.sim.url).origin,
  });
  const b = make('B', storeB, awsB, containerB, logB.logger, logB.text);

  return {
    h,
    a,
    b,
    async close() {
      awsB.destroy();
      await storeB.close();
      await h.close();
    },
  };
}

/** A promise with its resolve and reject outside. */
export function deferred<T = void>(): { promise: Promise<T>; resolve: (v: T) => void; reject: (e: unknown) => void } {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Polls `cond` (real time) until it holds. */
export async function until(cond: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/**
 * A gateway wrapper whose calls hang, without reaching AWS, until `release()`; then each held call
 * fails as a reset connection would (the network of that instance went away mid-call; the SDK
 * adapter answers that as a transient failure). Calls made
 * after `release()` go through to AWS. `held()` counts the calls that were held.
 */
export function hangingGateway(): {
  wrap: (real: MeteringGateway) => MeteringGateway;
  held: () => number;
  passed: () => number;
  release: () => void;
} {
  const gate = deferred();
  let open = false;
  let held = 0;
  let passed = 0;
  const reset = () => Object.assign(new Error('socket hang up'), { code: 'ECONNRESET', $metadata: {} });
  const hold = async () => {
    held++;
    await gate.promise;
    return { ok: false as const, failure: toCallFailure(reset()) };
  };
  return {
    wrap: (real) => ({
      async batchMeterUsage(batch) {
        if (!open) return hold();
        passed++;
        return real.batchMeterUsage(batch);
      },
      async meterUsage(record, o) {
        if (!open && !o.dryRun) return hold();
        passed++;
        return real.meterUsage(record, o);
      },
    }),
    held: () => held,
    passed: () => passed,
    release: () => {
      open = true;
      gate.resolve();
    },
  };
}
