import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createPrng } from '../../src/simulator/faults/prng';
import { DeliveryRepository } from '../../src/webhooks/delivery.repository';
import { WebhookDispatcher } from '../../src/webhooks/dispatcher';
import { EndpointRepository } from '../../src/webhooks/endpoint.repository';
import { createWebhookTransport } from '../../src/webhooks/webhook-transport.gateway';
import { describeDialects } from '../support/stores';
import { customerWithHistory, openFixture, outboxOrder, pump, SETTINGS, type Fixture } from '../webhooks/webhook-support';
import { cases, report, seedFor } from './figures';

type Fault = 'ok' | 'fail' | 'hang' | 'reset';

/**
 * Webhook delivery to an endpoint that fails (500), hangs (never answers) and resets the
 * connection, at random (seeded, replayable): every event is delivered, in order per customer,
 * and no event of a customer is attempted before the previous one was delivered.
 */
describeDialects('webhook delivery through failures, hangs and resets on %s', (dialect) => {
  let f: Fixture;
  let server: Server | undefined;
  afterEach(async () => {
    server?.closeAllConnections();
    await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
    await f.dispose();
  });

  it('delivers every event, in order per customer', async () => {
    const seed = seedFor(`webhook-faults (${dialect})`);
    const random = createPrng(seed);
    f = await openFixture(dialect);
    const attempts: Array<{ id: string; customerId: string | undefined; fault: Fault }> = [];
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { id: string; data?: { customer?: { id?: string } } };
        const r = random();
        const fault: Fault = r < 0.2 ? 'fail' : r < 0.3 ? 'hang' : r < 0.4 ? 'reset' : 'ok';
        attempts.push({ id: body.id, customerId: body.data?.customer?.id, fault });
        if (fault === 'ok') res.writeHead(204).end();
        else if (fault === 'fail') res.writeHead(500).end('upstream broke');
        else if (fault === 'reset') req.socket.destroy();
        // 'hang': never answered; the transport gives up.
      });
    });
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`;
    await f.endpoints.create({ url, kind: 'standard' }, f.clock.now());
    const customers = cases(200, 25);
    for (let i = 0; i < customers; i++) await customerWithHistory(f, `buyer-${i}`);
    const order = await outboxOrder(f);
    const events = [...order.values()].reduce((n, ids) => n + ids.length, 0);

    const dispatcher = new WebhookDispatcher(
      {
        db: f.t.store.db,
        deliveries: new DeliveryRepository(f.t.store.db, f.t.store.dialect),
        endpoints: new EndpointRepository(f.t.store.db),
        transport: createWebhookTransport({ policy: { allowLoopback: true, allowHttp: true }, timeoutMs: 300 }),
        clock: f.clock,
        logger: f.logger,
        productNames: () => undefined,
        random,
      },
      SETTINGS,
    );
    const started = Date.now();
    await pump(f, [dispatcher], async () => (await f.deliveries.countByStatus()).succeeded === events, 20_000);

    // Every event delivered; per customer, the first successes in outbox order.
    const delivered = attempts.filter((a) => a.fault === 'ok').map((a) => a.id);
    for (const [customerId, ids] of order) {
      expect([customerId, [...new Set(delivered.filter((id) => ids.includes(id)))]]).toEqual([customerId, ids]);
      // Nothing of a customer is attempted before the previous event was delivered.
      ids.forEach((id, i) => {
        if (i === 0) return;
        const firstAttempt = attempts.findIndex((a) => a.id === id);
        const previousOk = attempts.findIndex((a) => a.id === ids[i - 1] && a.fault === 'ok');
        expect(firstAttempt).toBeGreaterThan(previousOk);
      });
    }
    const faults = Object.fromEntries(
      (['ok', 'fail', 'hang', 'reset'] as const).map((k) => [k, attempts.filter((a) => a.fault === k).length]),
    );
    expect(faults.fail! + faults.hang! + faults.reset!).toBeGreaterThan(0);
    process.stdout.write(
      `webhook faults (${dialect}): ${events} events of ${customers} customers, ${attempts.length} attempts ` +
        `(${faults.fail} failed, ${faults.hang} hung, ${faults.reset} reset), all delivered in order in ${Date.now() - started} ms\n`,
    );
    report({ suite: 'webhook-faults', dialect, seed, customers, events, attempts: attempts.length, faults, ms: Date.now() - started });
  });
});
