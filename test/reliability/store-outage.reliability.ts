import { createServer, connect, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { sql } from 'kysely';
import { startHarness, legacySubscription, type Harness } from '../support/harness';
import { postgresAvailable } from '../support/stores';
import { startServiceProcess, type ServiceProcess } from '../support/service-process';
import { until } from '../support/until';
import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { createPrng } from '../../src/simulator/faults/prng';
import { cases, report, seedFor } from './figures';

/**
 * A store outage in real time, during traffic, with the service running as deployed
 * (`src/main.ts` in its own process, its queue consumers, emitter and webhook dispatcher all
 * running). The process reaches PostgreSQL through a TCP proxy that is cut for OUTAGE seconds:
 * every open connection is reset and every new one refused. Meanwhile a client keeps reporting
 * usage (retrying each record with its idempotency key until it is answered, as the README tells
 * clients to), and buyers are activated and ended on the simulator, whose notifications reach the
 * service's queues during the outage. Afterwards: the process never exited; usage was refused with
 * 503 and readiness with 503, never a 500; every record answered accepted is stored exactly once
 * with its quantity and nothing else is stored; every notification is applied (each buyer's status
 * is the simulator's), none dead-lettered.
 */
const onPostgres = postgresAvailable('a store outage during traffic');

const API_KEY = 'store-outage-api-key-0123456789abcdef';
const OUTAGE_MS = cases(30, 30) * 1000;
const BUYERS = 12;

/** A TCP proxy to PostgreSQL that can be cut (connections reset, new ones refused) and restored. */
async function cuttableProxy(host: string, port: number) {
  const open = new Set<Socket>();
  let down = false;
  let refused = 0;
  const server: Server = createServer((client) => {
    if (down) {
      refused++;
      client.resetAndDestroy();
      return;
    }
    const upstream = connect(port, host);
    open.add(client).add(upstream);
    const drop = () => {
      client.destroy();
      upstream.destroy();
      open.delete(client);
      open.delete(upstream);
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as AddressInfo).port,
    cut(): void {
      down = true;
      for (const s of open) s.resetAndDestroy();
      open.clear();
    },
    restore(): void {
      down = false;
    },
    refused: () => refused,
    close: () => {
      for (const s of open) s.destroy();
      return new Promise<void>((r) => server.close(() => r()));
    },
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

(onPostgres ? describe : describe.skip)('a store outage during traffic (PostgreSQL)', () => {
  jest.setTimeout(300_000);
  let h: Harness;
  let proxy: Awaited<ReturnType<typeof cuttableProxy>>;
  let service: ServiceProcess | undefined;

  afterAll(async () => {
    if (service && service.child.exitCode === null && service.child.signalCode === null) service.child.kill('SIGKILL');
    await service?.exit;
    await proxy?.close();
    await h?.close();
  });

  it('loses no usage and no notification, and answers 503 (never 500) while the store is away', async () => {
    const seed = seedFor('store-outage');
    const random = createPrng(seed);
    h = await startHarness({ dialect: 'postgres', products: [legacySubscription] });
    const { rows } = await sql<{ schema: string }>`select current_schema() as schema`.execute(h.db.store.db);
    const schema = rows[0]!.schema;
    const pgUrl = new URL(process.env.TEST_DATABASE_URL!);
    proxy = await cuttableProxy(pgUrl.hostname, Number(pgUrl.port || 5432));
    const viaProxy = new URL(pgUrl);
    viaProxy.hostname = '127.0.0.1';
    viaProxy.port = String(proxy.port);

    service = startServiceProcess({
      PORT: '0',
      LOG_LEVEL: 'info',
      MARKETPLACE_MODE: 'aws',
      SESSION_SECRET: 'store-outage-session-secret-0123456789',
      SUPPORT_EMAIL: 'help@seller.example',
      API_KEYS: `usage-client(usage:write)=${API_KEY}`,
      MARKETPLACE_PRODUCTS: JSON.stringify([legacySubscription]),
      DATABASE_URL: viaProxy.toString(),
      PGOPTIONS: `-c search_path=${schema}`,
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
      MARKETPLACE_METERING_ENDPOINT: h.sim.url,
      MARKETPLACE_ENTITLEMENT_ENDPOINT: h.sim.url,
      SQS_ENDPOINT: h.sim.url,
      SUBSCRIPTION_QUEUE_URL: h.sim.queueUrl('marketplace-subscription'),
      RATE_LIMIT_API_PER_MINUTE: '0',
      RATE_LIMIT_REGISTRATION_PER_MINUTE: '0',
      METERING_POLL_SECONDS: '1',
    });
    const url = await Promise.race([
      service.ready,
      service.exit.then((code) => {
        throw new Error(`the service exited with ${code} before listening:\n${service!.logs.join('\n')}`);
      }),
    ]);
    const statusOf = async () =>
      new Map(
        (await h.db.store.db.selectFrom('customers').select(['customer_identifier', 'status']).execute()).map((r) => [
          r.customer_identifier!,
          r.status,
        ]),
      );

    // Buyers register; half are activated before the outage.
    const subs = [];
    for (let i = 0; i < BUYERS; i++) {
      const sub = await h.sim.subscribe({ productCode: legacySubscription.code, confirmation: 'manual' });
      const res = await fetch(`${url}/marketplace/register`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ 'x-amzn-marketplace-token': sub.registrationToken }),
        redirect: 'manual',
      });
      expect(res.status).toBeLessThan(400);
      subs.push(h.sim.subscription(sub.id));
    }
    const before = subs.slice(0, BUYERS / 2);
    const during = subs.slice(BUYERS / 2);
    for (const s of before) await h.sim.confirm(s.id);
    await h.sim.flushNotifications();
    await until(
      'the first buyers to be active',
      async () => {
        const st = await statusOf();
        return before.every((s) => st.get(s.customerIdentifier!) === 'active') ? true : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 250 },
    );

    // The usage client: one record at a time per buyer, each retried with its key until answered.
    const accepted = new Map<string, { customer: string; quantity: number }>();
    const statuses = new Map<number, number>();
    const refused: Array<{ key: string; status: number; body: unknown }> = [];
    let transportErrors = 0;
    let sending = true;
    let next = 0;
    const send = async (customer: string, key: string, quantity: number) => {
      // A retry sends the same body: a record whose answer was lost (a commit acknowledged by the
      // server as the connection was cut, a client time-out) is then answered `replayed`.
      const timestamp = new Date().toISOString();
      for (;;) {
        try {
          const res = await fetch(`${url}/v1/usage`, {
            method: 'POST',
            headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
            signal: AbortSignal.timeout(15_000),
            body: JSON.stringify({
              records: [{ customer, dimension: 'api_calls', quantity, timestamp, idempotencyKey: key }],
            }),
          });
          statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
          const body = (await res.json()) as { results?: Array<{ status: string }> };
          if (res.status === 200 && body.results?.[0] && ['accepted', 'replayed'].includes(body.results[0].status)) {
            accepted.set(key, { customer, quantity });
            return;
          }
          // Any other answer with a body for the record is final (and a failure of this test).
          if (res.status < 500) {
            refused.push({ key, status: res.status, body });
            return;
          }
        } catch {
          transportErrors++;
        }
        await sleep(200);
      }
    };
    const client = (async () => {
      // The buyers ended during the outage get no usage: a refusal after their end would be right.
      const active = before.slice(2).map((s) => s.customerIdentifier!);
      const inFlight = new Set<Promise<void>>();
      while (sending) {
        const n = next++;
        const p = send(active[n % active.length]!, `outage-${n}`, 1 + Math.floor(random() * 5)).finally(() => inFlight.delete(p));
        inFlight.add(p);
        if (inFlight.size >= 4) await Promise.race(inFlight);
        await sleep(40);
      }
      await Promise.all(inFlight);
    })();

    await sleep(5_000);
    const acceptedBeforeOutage = accepted.size;
    proxy.cut();
    const outageStarted = Date.now();
    // While the store is away: the other buyers are activated, two of the first ended.
    for (const s of during) await h.sim.confirm(s.id);
    const ended = before.slice(0, 2); // not among the usage client's buyers
    for (const s of ended) await h.sim.endNow(s.id);
    await h.sim.flushNotifications();
    let readyDuring = 0;
    const probes: string[] = [];
    await until(
      'readiness to report the store',
      async () => {
        // A kept-alive connection the server closed meanwhile fails once, and a probe that hangs
        // is given up after 5 s; the next probe tries again (the process being alive throughout
        // is checked below).
        const started = Date.now();
        const r = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(5_000) }).catch((error: unknown) => {
          probes.push(`${String(error)} after ${Date.now() - started} ms`);
          return undefined;
        });
        if (!r) return undefined;
        probes.push(`${r.status} after ${Date.now() - started} ms`);
        readyDuring = r.status;
        return r.status === 503 ? true : undefined;
      },
      // Any time while the store is still away (on a loaded machine the first probes can be slow).
      { timeoutMs: Math.max(15_000, OUTAGE_MS - (Date.now() - outageStarted) - 1_000), intervalMs: 250 },
    ).catch((error: unknown) => {
      throw new Error(`${String(error)}; probes: ${probes.slice(-10).join(', ')}\n${service!.logs.slice(-30).join('\n')}`);
    });
    const acceptedAtCut = accepted.size;
    await sleep(Math.max(0, OUTAGE_MS - (Date.now() - outageStarted)));
    const acceptedDuringOutage = accepted.size - acceptedAtCut;
    proxy.restore();
    await sleep(5_000);
    sending = false;
    await client;
    process.stdout.write(`store outage: traffic stopped, ${accepted.size} accepted, ${refused.length} refused\n`);

    // Every notification received during the outage comes back after its visibility timeout.
    const expected = new Map(subs.map((s) => [s.customerIdentifier!, ended.includes(s) ? 'unsubscribed' : 'active']));
    await until(
      'every notification to be applied',
      async () => {
        const st = await statusOf();
        return [...expected].every(([ci, status]) => st.get(ci) === status) ? true : undefined;
      },
      { timeoutMs: 150_000, intervalMs: 250 },
    ).catch(async (error: unknown) => {
      const st = await statusOf();
      throw new Error(
        `${String(error)}: ${JSON.stringify([...expected].map(([ci, want]) => [ci, want, st.get(ci)]))}\n${service!.logs.slice(-40).join('\n')}`,
      );
    });
    expect(refused).toEqual([]);
    expect(service.child.exitCode).toBeNull();
    expect((await fetch(`${url}/readyz`)).status).toBe(200);

    // Usage: exactly what was answered accepted, once each, with its quantity.
    const stored = await h.db.store.db
      .selectFrom('usage_events')
      .innerJoin('customers', 'customers.id', 'usage_events.customer_id')
      .select(['usage_events.idempotency_key as key', 'usage_events.quantity as quantity', 'customers.customer_identifier as customer'])
      .execute();
    const storedByKey = new Map(stored.map((r) => [r.key, { customer: r.customer!, quantity: Number(r.quantity) }]));
    expect(stored).toHaveLength(storedByKey.size);
    expect(new Set(storedByKey.keys())).toEqual(new Set(accepted.keys()));
    for (const [k, v] of accepted) expect([k, storedByKey.get(k)]).toEqual([k, v]);

    const dlq = await h.aws.sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl: h.sim.queueUrl('marketplace-subscription-dlq'),
        AttributeNames: ['ApproximateNumberOfMessages'],
      }),
    );
    expect(Number(dlq.Attributes?.ApproximateNumberOfMessages ?? 0)).toBe(0);
    // A 500 says the service met a failure it did not know as the store's: its log names it.
    const unexpected = [...statuses.keys()].filter((s) => s >= 500 && s !== 503);
    expect({
      unexpected,
      errors:
        unexpected.length > 0
          ? service.logs
              .filter((l) => l.includes('"statusCode":500') || (l.includes('request failed') && !l.includes('"httpStatus":503')))
              .slice(-6)
          : [],
    }).toEqual({
      unexpected: [],
      errors: [],
    });
    expect(statuses.get(503) ?? 0).toBeGreaterThan(0);
    expect(readyDuring).toBe(503);
    expect(acceptedDuringOutage).toBe(0);

    const figures = {
      suite: 'store-outage',
      seed,
      outageSeconds: OUTAGE_MS / 1000,
      recordsAccepted: accepted.size,
      acceptedBeforeOutage,
      answers: Object.fromEntries(statuses),
      transportErrors,
      connectionsRefused: proxy.refused(),
      notifications: { activatedDuringOutage: during.length, endedDuringOutage: ended.length },
    };
    report(figures);
    process.stdout.write(
      `store outage: ${OUTAGE_MS / 1000} s cut, ${accepted.size} usage records accepted (${acceptedBeforeOutage} before the cut), ` +
        `answers ${JSON.stringify(Object.fromEntries(statuses))}, ${proxy.refused()} connections refused; ` +
        `${during.length} activations and ${ended.length} ends notified during the outage, all applied\n`,
    );
  });
});
