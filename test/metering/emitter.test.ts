import request from 'supertest';
import { describeDialects } from '../support/stores';
import { TEST_API_KEY, type Harness } from '../support/harness';
import type { ManualClock } from '../../src/platform/clock';
import { activeCustomer, drain, licenseProduct, meteringHarness, setState, sumProduct } from './metering-support';

const auth = { Authorization: `Bearer ${TEST_API_KEY}` };
type H = Harness & { clock: ManualClock };

function usage(h: H, records: unknown[]) {
  return request(h.app).post('/v1/usage').set(auth).send({ records });
}

/** The `metering.record_*` webhook events written so far: [type, record id, customer id]. */
async function unbilledEvents(h: H): Promise<Array<[string, string, string | null]>> {
  const rows = await h.db.store.db
    .selectFrom('webhook_events')
    .select(['type', 'payload', 'customer_id'])
    .where('type', 'like', 'metering.%')
    .orderBy('seq')
    .execute();
  return rows.map((r) => [
    r.type,
    (JSON.parse(r.payload) as { data: { meteringRecord: { id: string } } }).data.meteringRecord.id,
    r.customer_id,
  ]);
}

describeDialects('metering emitter (%s)', (dialect) => {
  let h: H;
  beforeEach(async () => {
    h = await meteringHarness({ dialect });
  });
  afterEach(async () => h.close());

  it('sends one record per customer, dimension and hour, stamped with the hour, ≤25 per call, zero heartbeats', async () => {
    const customers = [];
    for (let i = 0; i < 30; i++) customers.push(await activeCustomer(h, sumProduct));
    const records = customers.slice(0, 20).flatMap((c, i) => [
      { customer: c.id, dimension: 'api_calls', quantity: i + 1, timestamp: '2026-03-10T10:31:00Z', idempotencyKey: `x${i}a` },
      { customer: c.id, dimension: 'api_calls', quantity: 1, timestamp: '2026-03-10T10:34:59Z', idempotencyKey: `x${i}b` },
    ]);
    expect((await usage(h, records)).body.accepted).toBe(40);
    h.clock.set('2026-03-10T11:05:00Z');
    const early = await h.container.emitter.runOnce();
    expect(early.send.calls).toBe(0); // before the configured minute, the hour is still open
    h.clock.set('2026-03-10T11:10:00Z');
    const run = await h.container.emitter.runOnce();
    expect(run.send.calls).toBe(3); // 60 records (30 customers × 2 heartbeat dimensions): 25 + 25 + 10
    const billed = h.sim.billed({ productCode: sumProduct.code });
    expect(billed).toHaveLength(60);
    expect(new Set(billed.map((b) => b.hour))).toEqual(new Set(['2026-03-10T10:00:00.000Z']));
    expect(new Set(billed.map((b) => `${b.customerIdentifier}|${b.dimension}`)).size).toBe(60);
    for (const [i, c] of customers.entries()) {
      const calls = billed.find((b) => b.customerIdentifier === c.customerIdentifier && b.dimension === 'api_calls')!;
      expect(calls.quantity).toBe(i < 20 ? i + 2 : 0);
      expect(billed.find((b) => b.customerIdentifier === c.customerIdentifier && b.dimension === 'peak_hosts')!.quantity).toBe(0);
    }
    const accepted = await h.container.meterBuckets.list({ state: 'accepted', limit: 500 });
    expect(accepted).toHaveLength(60);
    expect(accepted.every((b) => b.meteringRecordId)).toBe(true);
    // Nothing is sent twice on the next pass.
    await h.container.emitter.runOnce();
    expect(h.sim.billed({ productCode: sumProduct.code })).toHaveLength(60);
  });

  it('writes the results of each call in one statement, and zero heartbeats many per statement', async () => {
    for (let i = 0; i < 30; i++) await activeCustomer(h, sumProduct);
    const emitter = h.container.emitter as unknown as {
      transitions: { recordResults: (owner: string, writes: unknown[], now: Date) => Promise<Set<string>> };
      buckets: { insertMissing: (buckets: unknown[], now: Date) => Promise<number> };
    };
    const writes: number[] = [];
    const inserts: number[] = [];
    const record = emitter.transitions.recordResults.bind(emitter.transitions);
    const insert = emitter.buckets.insertMissing.bind(emitter.buckets);
    emitter.transitions.recordResults = async (owner, w, now) => {
      writes.push(w.length);
      return record(owner, w, now);
    };
    emitter.buckets.insertMissing = async (b, now) => {
      inserts.push(b.length);
      return insert(b, now);
    };
    h.clock.set('2026-03-10T11:10:00Z');
    const run = await h.container.emitter.runOnce();
    expect(run.send.calls).toBe(3);
    expect(writes.sort((a, b) => b - a)).toEqual([25, 25, 10]); // one statement per call's results (calls finish in any order)
    expect(inserts).toEqual([60]); // one call for every heartbeat of the hour (200 rows per INSERT)
    expect(run.heartbeats).toBe(60);
    expect(run.send.outcomes).toEqual({ accepted: 60 });
  });

  it('never meters before activation or after the end', async () => {
    const c = await activeCustomer(h, sumProduct);
    await h.container.emitter.runOnce(); // records the durable progress: hour 09 done
    h.clock.set('2026-03-10T12:10:00Z');
    const ended = await activeCustomer(h, sumProduct);
    await setState(h, ended.id, {
      status: 'unsubscribed',
      statusEventTime: h.clock.now(),
      activatedAt: h.clock.now(),
      finalWindowOpenedAt: h.clock.now(),
      endedAt: h.clock.now(),
    });
    h.clock.set('2026-03-10T13:10:00Z'); // catch-up: hours 10, 11 and 12 at once
    await drain(h);
    const hours = h.sim.billed().map((b) => `${b.customerIdentifier}|${b.hour}`);
    expect(
      hours
        .filter((x) => x.startsWith(`${c.customerIdentifier}|`))
        .map((x) => x.split('|')[1])
        .sort(),
    ).toEqual([
      '2026-03-10T10:00:00.000Z',
      '2026-03-10T10:00:00.000Z',
      '2026-03-10T11:00:00.000Z',
      '2026-03-10T11:00:00.000Z',
      '2026-03-10T12:00:00.000Z',
      '2026-03-10T12:00:00.000Z',
    ]);
    // The hour that matters: 12:00, the hour in which the subscription ended (12:10), and any later one.
    expect(hours.filter((x) => x.startsWith(`${ended.customerIdentifier}|`) && x.split('|')[1]! >= '2026-03-10T12:00:00.000Z')).toEqual([]);
    expect(await h.container.meterBuckets.list({ customerId: ended.id })).toEqual([]);
    expect(h.sim.meteringLog().some((e) => e.outcome === 'CustomerNotSubscribed')).toBe(false);
  });

  it('UnprocessedRecords, throttling and 5xx all end in acceptance, and nothing is double-billed', async () => {
    for (let i = 0; i < 30; i++) await activeCustomer(h, sumProduct);
    h.clock.set('2026-03-10T11:10:00Z');
    h.sim.setFaults({
      failNext: [
        { operation: 'BatchMeterUsage', error: 'unprocessed', count: 1 },
        { operation: 'BatchMeterUsage', error: 'ThrottlingException', count: 4 },
        { operation: 'BatchMeterUsage', error: 'InternalServiceErrorException', count: 4 },
        { operation: 'BatchMeterUsage', error: 'drop', count: 1 },
      ],
      operations: { BatchMeterUsage: { unprocessedRate: 0.2 } },
    });
    await drain(h, { passes: 40 });
    h.sim.setFaults({});
    await drain(h);
    expect(await h.container.meterBuckets.countByState()).toEqual({ accepted: 60 });
    expect(h.sim.billed()).toHaveLength(60);
    expect(h.sim.meteringLog().filter((e) => e.outcome === 'DuplicateRecord')).toEqual([]);
    expect(h.logs()).toMatch(/"to":"sealed"/);
  });

  it('isolates a poison record and bills the rest of its batch', async () => {
    const good = [];
    for (let i = 0; i < 6; i++) good.push(await activeCustomer(h, licenseProduct));
    const poison = await h.container.customers.upsert(
      {
        productCode: licenseProduct.code,
        customerAWSAccountId: '999999999999',
        licenseArn: 'arn:aws:license-manager::999999999999:license:l-doesnotexist',
      },
      h.clock.now(),
    );
    await setState(h, poison.id, {
      status: 'active',
      statusEventTime: h.clock.now(),
      activatedAt: h.clock.now(),
      finalWindowOpenedAt: null,
      endedAt: null,
    });
    h.clock.set('2026-03-10T11:10:00Z');
    await drain(h);
    const failed = await h.container.meterBuckets.list({ state: 'failed' });
    expect(failed.map((b) => b.customerId)).toEqual([poison.id]);
    expect(failed[0]!.lastError).toMatch(/InvalidLicense/);
    expect(h.sim.billed({ productCode: licenseProduct.code })).toHaveLength(6);
    expect(h.logs()).toMatch(/"alert":"metering_failed"/);
    expect(await unbilledEvents(h)).toEqual(failed.map((b) => ['metering.record_failed', b.id, poison.id]));
  });

  it('believes TimestampOutOfBounds over its own clock: the record is expired with the reason, visible in the API', async () => {
    await h.close();
    h = await meteringHarness({ dialect, simulator: { window: { batchMeterUsageMaxAgeMs: 3 * 3_600_000 } } });
    const c = await activeCustomer(h, sumProduct);
    await usage(h, [{ customer: c.id, dimension: 'api_calls', quantity: 5, timestamp: '2026-03-10T10:31:00Z', idempotencyKey: 'old' }]);
    h.clock.set('2026-03-10T14:20:00Z'); // 4h20 later: inside our 24 h window, outside the simulator's 3 h
    await drain(h);
    const res = await request(h.app).get('/v1/metering/records').query({ state: 'expired', customer: c.id }).set(auth);
    expect(res.status).toBe(200);
    // The usage hour and the zero heartbeats of the idle hours after it that the simulator's 3 h
    // window no longer takes (ours, 24 h, still does: the catch-up created them).
    expect(res.body.records.map((r: { hour: string; dimension: string }) => [r.hour, r.dimension]).sort()).toEqual([
      ['2026-03-10T10:00:00.000Z', 'api_calls'],
      ['2026-03-10T10:00:00.000Z', 'peak_hosts'],
      ['2026-03-10T11:00:00.000Z', 'api_calls'],
      ['2026-03-10T11:00:00.000Z', 'peak_hosts'],
    ]);
    for (const r of res.body.records) expect(r.lastError).toMatch(/TimestampOutOfBounds/);
    expect(h.logs()).toMatch(/"alert":"metering_expired"/);
    expect((await unbilledEvents(h)).sort()).toEqual(
      res.body.records.map((r: { id: string }) => ['metering.record_expired', r.id, c.id]).sort(),
    );
    expect(h.sim.billed().every((b) => b.hour >= '2026-03-10T11:00:00.000Z')).toBe(true);
  });

  it('final flush: the current partial hour is sent within the window, then usage is refused', async () => {
    const c = await activeCustomer(h, sumProduct);
    await usage(h, [{ customer: c.id, dimension: 'api_calls', quantity: 3, timestamp: '2026-03-10T10:32:00Z', idempotencyKey: 'p1' }]);
    h.clock.set('2026-03-10T10:35:00Z');
    const opened = h.clock.now();
    await setState(h, c.id, {
      status: 'unsubscribe_pending',
      statusEventTime: opened,
      activatedAt: new Date('2026-03-10T10:30:00Z'),
      finalWindowOpenedAt: opened,
      endedAt: null,
    });
    await h.sim.cancel(c.simId, { endAfterMs: 3_600_000 });
    await h.container.emitter.runOnce(); // first pass: the hourly catch-up flushes at once ("next tick")
    const billed = h.sim.billed({ productCode: sumProduct.code });
    expect(billed.map((b) => [b.dimension, b.hour, b.quantity]).sort()).toEqual([
      ['api_calls', '2026-03-10T10:00:00.000Z', 3],
      ['peak_hosts', '2026-03-10T10:00:00.000Z', 0],
    ]);
    const refused = await usage(h, [
      { customer: c.id, dimension: 'api_calls', quantity: 1, timestamp: '2026-03-10T10:36:00Z', idempotencyKey: 'p2' },
    ]);
    expect(refused.body.results[0]).toMatchObject({ status: 'rejected', code: 'final_metering_done' });
  });

  it('final flush waits for the configured delay between ticks, detected from the customer row', async () => {
    const c = await activeCustomer(h, sumProduct);
    h.clock.set('2026-03-10T11:12:00Z');
    await h.container.emitter.runOnce(); // hourly pass for hour 10
    await usage(h, [{ customer: c.id, dimension: 'api_calls', quantity: 8, timestamp: '2026-03-10T11:13:00Z', idempotencyKey: 'q1' }]);
    await setState(h, c.id, {
      status: 'unsubscribe_pending',
      statusEventTime: h.clock.now(),
      activatedAt: new Date('2026-03-10T10:30:00Z'),
      finalWindowOpenedAt: h.clock.now(),
      endedAt: null,
    });
    h.clock.set('2026-03-10T11:40:00Z');
    await h.container.emitter.runOnce();
    expect(h.sim.billed().filter((b) => b.hour === '2026-03-10T11:00:00.000Z')).toHaveLength(0);
    h.clock.set('2026-03-10T11:58:00Z'); // 46 min after the window opened
    await h.container.emitter.runOnce();
    expect(
      h.sim
        .billed()
        .filter((b) => b.hour === '2026-03-10T11:00:00.000Z')
        .map((b) => [b.dimension, b.quantity])
        .sort(),
    ).toEqual([
      ['api_calls', 8],
      ['peak_hosts', 0],
    ]);
  });

  it('a DuplicateRecord answer is a conflict with an alert; failed records can be retried through the API', async () => {
    const c = await activeCustomer(h, sumProduct);
    await usage(h, [{ customer: c.id, dimension: 'api_calls', quantity: 3, timestamp: '2026-03-10T10:32:00Z', idempotencyKey: 'd1' }]);
    h.clock.set('2026-03-10T11:10:00Z');
    await drain(h);
    const [calls] = await h.container.meterBuckets.list({ customerId: c.id, state: 'accepted' });
    // Simulate a corrupted resend: a different quantity for the same customer/dimension/hour.
    await h.db.store.db.updateTable('meter_buckets').set({ state: 'failed', quantity: 4 }).where('id', '=', calls!.id).execute();
    const retry = await request(h.app).post(`/v1/metering/records/${calls!.id}/retry`).set(auth);
    expect(retry.status).toBe(200);
    expect(retry.body.state).toBe('sealed');
    await drain(h);
    expect((await h.container.meterBuckets.findById(calls!.id))!.state).toBe('duplicate');
    expect(h.logs()).toMatch(/"alert":"metering_duplicate"/);
    expect(await unbilledEvents(h)).toEqual([['metering.record_duplicate', calls!.id, c.id]]);
    const again = await request(h.app).post(`/v1/metering/records/${calls!.id}/retry`).set(auth);
    expect(again.status).toBe(409);
    expect(again.body.code).toBe('not_retryable');
    expect((await request(h.app).post('/v1/metering/records/nope/retry').set(auth)).status).toBe(404);
  });

  it('lists records with an opaque cursor', async () => {
    for (let i = 0; i < 3; i++) await activeCustomer(h, sumProduct);
    h.clock.set('2026-03-10T11:10:00Z');
    await drain(h);
    const seen: string[] = [];
    let cursor: string | undefined;
    for (let page = 0; page < 10; page++) {
      const res = await request(h.app)
        .get('/v1/metering/records')
        .query({ limit: 4, ...(cursor ? { cursor } : {}) })
        .set(auth);
      expect(res.status).toBe(200);
      seen.push(...res.body.records.map((r: { id: string }) => r.id));
      cursor = res.body.nextCursor ?? undefined;
      if (!cursor) break;
    }
    expect(seen).toHaveLength(6);
    expect(new Set(seen).size).toBe(6);
    expect((await request(h.app).get('/v1/metering/records').query({ cursor: 'garbage' }).set(auth)).status).toBe(400);
  });
});
