import { Webhook } from 'standardwebhooks';
import { describeDialects } from '../support/stores';
import { signatureValid, WebhookReceiver } from '../support/webhook-receiver';
import { customerWithHistory, openFixture, outboxOrder, pump, SETTINGS, type Fixture } from './webhook-support';

/**
 * The dispatcher against a real local receiver, on both engines: at least once, in order per
 * customer, through failures, restarts and a second instance.
 */
describeDialects('webhook dispatcher on %s', (dialect) => {
  let f: Fixture;
  let receiver: WebhookReceiver;
  beforeEach(async () => {
    f = await openFixture(dialect);
    receiver = await new WebhookReceiver().start();
  });
  afterEach(async () => {
    await receiver.stop();
    await f.dispose();
  });

  /** Every event of every customer reached the receiver with a 2xx, and each customer's first successes are in outbox order. */
  async function expectAllInOrder(): Promise<void> {
    const order = await outboxOrder(f);
    const firstSuccess = receiver.delivered().map((r) => r.id);
    for (const [customerId, ids] of order) {
      for (const id of ids) expect({ customerId, id, delivered: firstSuccess.includes(id) }).toEqual({ customerId, id, delivered: true });
      const seen = [...new Set(firstSuccess.filter((id) => ids.includes(id)))];
      expect(seen).toEqual(ids);
    }
    // Nothing of a customer is attempted before the previous event of that customer was delivered.
    for (const [, ids] of order) {
      ids.forEach((id, i) => {
        if (i === 0) return;
        const firstAttempt = receiver.received.findIndex((r) => r.id === id);
        const previousOk = receiver.received.findIndex((r) => r.id === ids[i - 1] && r.status < 300);
        expect(firstAttempt).toBeGreaterThan(previousOk);
      });
    }
  }

  it('delivers signed events through an endpoint that fails 5 times, then succeeds: every event once or more, in order', async () => {
    const { endpoint, secret } = await f.endpoints.create({ url: receiver.url, kind: 'standard' }, f.clock.now());
    receiver.set({ statusFor: (n) => (n < 5 ? 500 : 204) });
    for (const name of ['acme', 'globex', 'initech']) await customerWithHistory(f, name);
    const dispatcher = f.dispatcher();
    await pump(f, [dispatcher], async () => (await f.deliveries.countByStatus()).succeeded === 12);
    await expectAllInOrder();
    expect(receiver.received.filter((r) => r.status === 500)).toHaveLength(5);
    for (const hook of receiver.received) {
      expect(signatureValid(hook, secret!)).toBe(true);
      expect(hook.headers['content-type']).toBe('application/json');
    }
    // The same event keeps its webhook-id across attempts; the body is the event.
    const retried = receiver.received[0]!;
    expect(receiver.received.filter((r) => r.id === retried.id).length).toBeGreaterThan(1);
    expect(JSON.parse(retried.body)).toMatchObject({
      id: retried.id,
      type: 'customer.registered',
      data: { customer: { productCode: 'p' } },
    });
    const [record] = await f.deliveries.list({ eventId: retried.id, limit: 5 });
    expect(record).toMatchObject({ status: 'succeeded', endpointId: endpoint.id });
    expect(record!.attempts.map((a) => a.statusCode)).toEqual([...record!.attempts.slice(0, -1).map(() => 500), 204]);
    // Backoff: the attempts of the first event are further and further apart.
    const gaps = record!.attempts.slice(1).map((a, i) => a.startedAt.getTime() - record!.attempts[i]!.startedAt.getTime());
    for (let i = 1; i < gaps.length; i++) expect(gaps[i]!).toBeGreaterThan(gaps[i - 1]!);
  });

  it('a restart mid-retry loses nothing: another process on the same database finishes the job', async () => {
    const { secret } = await f.endpoints.create({ url: receiver.url, kind: 'standard' }, f.clock.now());
    receiver.set({ statusFor: () => 503 });
    await customerWithHistory(f, 'acme');
    await customerWithHistory(f, 'globex');
    const first = f.dispatcher();
    await first.runOnce();
    f.clock.advance(10_000);
    await first.runOnce();
    expect(receiver.delivered()).toHaveLength(0);
    // A delivery claimed by an instance that then died: its lease runs out and it is attempted again.
    f.clock.advance(SETTINGS.schedule.capMs);
    const claimedByTheDead = await f.deliveries.claim('dead-instance', f.clock.now(), SETTINGS.leaseMs, 1);
    expect(claimedByTheDead).toHaveLength(1);
    // "Restart": a fresh handle on the same database, a fresh dispatcher; the receiver recovers.
    const reopened = f.t.reopen();
    try {
      receiver.set({ statusFor: () => 200 });
      const second = f.dispatcher({ instanceId: 'instance-after-restart' }, reopened);
      f.clock.advance(SETTINGS.leaseMs + 1);
      await pump(f, [second], async () => (await f.deliveries.countByStatus()).succeeded === 8);
      await expectAllInOrder();
      expect(receiver.delivered().every((h) => signatureValid(h, secret!))).toBe(true);
      const attempts = await f.t.store.db.selectFrom('webhook_attempts').select('instance').distinct().execute();
      expect(attempts.map((a) => a.instance).sort()).toEqual(['instance-a', 'instance-after-restart']);
    } finally {
      await reopened.close();
    }
  });

  it('two instances never deliver one attempt twice at once, and keep each customer in order', async () => {
    await f.endpoints.create({ url: receiver.url, kind: 'standard' }, f.clock.now());
    receiver.set({ delayMs: 15, statusFor: (n) => (n % 7 === 3 ? 500 : 200) });
    for (let i = 0; i < 12; i++) await customerWithHistory(f, `c${i}`);
    // PostgreSQL: two pools, as two processes would have; SQLite: one process, one connection.
    const other = dialect === 'postgres' ? f.t.reopen() : f.t.store;
    try {
      const a = f.dispatcher({ batchSize: 4 });
      const b = f.dispatcher({ batchSize: 4, instanceId: 'instance-b' }, other);
      await pump(f, [a, b], async () => (await f.deliveries.countByStatus()).succeeded === 48, 2_000);
      expect(receiver.overlaps).toEqual([]);
      await expectAllInOrder();
      const rows = await f.t.store.db.selectFrom('webhook_attempts').select(['delivery_id', 'attempt', 'instance']).execute();
      expect(new Set(rows.map((r) => r.instance))).toEqual(new Set(['instance-a', 'instance-b']));
      // Each attempt was made by exactly one instance, and there was one request per recorded attempt.
      expect(rows.length).toBe(receiver.received.length);
    } finally {
      if (other !== f.t.store) await other.close();
    }
  });

  it('signs with both secrets while a rotation overlaps, then with the new one only', async () => {
    const created = await f.endpoints.create({ url: receiver.url, kind: 'standard' }, f.clock.now());
    const rotated = await f.endpoints.rotateSecret(created.endpoint.id, 3_600_000, f.clock.now());
    await customerWithHistory(f, 'acme');
    await pump(f, [f.dispatcher()], async () => (await f.deliveries.countByStatus()).succeeded === 4);
    for (const hook of receiver.received) {
      expect(String(hook.headers['webhook-signature']).split(' ')).toHaveLength(2);
      expect(signatureValid(hook, created.secret!)).toBe(true);
      expect(signatureValid(hook, rotated.secret)).toBe(true);
      // Any Standard Webhooks library accepts it with either secret.
      expect(() => new Webhook(rotated.secret).verify(hook.body, hook.headers as Record<string, string>)).not.toThrow();
    }
    f.clock.advance(3_600_001);
    await customerWithHistory(f, 'globex');
    await pump(f, [f.dispatcher()], async () => (await f.deliveries.countByStatus()).succeeded === 8);
    const late = receiver.received.slice(4);
    expect(late.every((h) => signatureValid(h, rotated.secret) && !signatureValid(h, created.secret!))).toBe(true);
  });

  it('disables an endpoint failing for the configured time, tells the other endpoints, and retries stop at the window', async () => {
    const failing = await f.endpoints.create({ url: receiver.url, kind: 'standard' }, f.clock.now());
    const ops = await new WebhookReceiver().start();
    try {
      await f.endpoints.create(
        { url: ops.url, kind: 'slack', eventTypes: ['webhook_endpoint.disabled', 'customer.activated'] },
        f.clock.now(),
      );
      receiver.set({ statusFor: () => 500 });
      await customerWithHistory(f, 'acme');
      const d = f.dispatcher({ disableAfterMs: 2 * 3_600_000 });
      await pump(f, [d], async () => !(await f.endpoints.find(failing.endpoint.id))!.enabled);
      const endpoint = (await f.endpoints.find(failing.endpoint.id))!;
      expect(endpoint.disabledReason).toMatch(/failing for 2(\.\d)? h .* last error: answered 500/);
      await pump(f, [d], async () => ops.delivered().length === 2);
      expect(ops.delivered().map((r) => JSON.parse(r.body).text)).toEqual([
        'New subscriber: acme Inc on Pro plan',
        expect.stringMatching(/^Webhook endpoint http:\/\/127\.0\.0\.1:\d+\/hooks was disabled: failing for/),
      ]);
      expect(f.logs()).toContain('"alert":"webhook_endpoint_disabled"');
      // Disabled: nothing more is attempted; after the window, what was waiting fails without an attempt.
      const before = receiver.received.length;
      f.clock.advance(SETTINGS.schedule.windowMs + 1);
      await d.runOnce();
      expect(receiver.received.length).toBe(before);
      const counts = await f.deliveries.countByStatus();
      expect(counts.pending ?? 0).toBe(0);
      expect(counts.failed).toBe(4);
    } finally {
      await ops.stop();
    }
  });

  it('does not follow a redirect: the attempt fails and the target is never contacted', async () => {
    const target = await new WebhookReceiver().start();
    try {
      receiver.set({ statusFor: () => 307, headers: { location: target.url } });
      await f.endpoints.create({ url: receiver.url, kind: 'standard' }, f.clock.now());
      await f.customers.upsert({ productCode: 'p', customerIdentifier: 'redirected' }, f.clock.now(), { registered: true });
      await f.dispatcher().runOnce();
      const [delivery] = await f.deliveries.list({ limit: 1 });
      expect(delivery).toMatchObject({ status: 'pending', lastStatusCode: 307 });
      expect(delivery!.lastError).toMatch(/redirects are not followed/);
      expect(target.received).toHaveLength(0);
    } finally {
      await target.stop();
    }
  });

  it('redelivers a delivered event on request, on its own', async () => {
    await f.endpoints.create({ url: receiver.url, kind: 'standard' }, f.clock.now());
    await f.customers.upsert({ productCode: 'p', customerIdentifier: 'again' }, f.clock.now(), { registered: true });
    await pump(f, [f.dispatcher()], async () => (await f.deliveries.countByStatus()).succeeded === 1);
    const [first] = await f.deliveries.list({ limit: 1 });
    const again = await f.deliveries.redeliver(first!.id, f.clock.now());
    expect(again).toMatchObject({ status: 'pending', redeliveryOf: first!.id, eventId: first!.eventId });
    await pump(f, [f.dispatcher()], async () => (await f.deliveries.countByStatus()).succeeded === 2);
    expect(receiver.received.map((r) => r.id)).toEqual([first!.eventId, first!.eventId]);
  });
});
