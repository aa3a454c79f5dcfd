import request from 'supertest';
import { createPrng } from '../../src/simulator/faults/prng';
import type { Customer } from '../../src/customers/customer';
import { TEST_API_KEY } from '../support/harness';
import { describeDialects } from '../support/stores';
import { activeCustomer, licenseProduct, meteringHarness, sumProduct } from '../metering/metering-support';
import { cases, report, seedFor } from './figures';

const HOUR = 3_600_000;
/** AWS accepts a BatchMeterUsage record up to six hours after its timestamp (facts §6). */
const ACCEPTANCE_WINDOW_MS = 6 * HOUR;
const FAULTS = { throttleRate: 0.3, serverErrorRate: 0.05, unprocessedRate: 0.1 };

/**
 * BatchMeterUsage under 30 % throttling, 5 % server errors and 10 % UnprocessedRecords for the
 * whole run (seeded, replayable with RELIABILITY_SEED), on the emitter as the service runs it: buyers
 * of a CustomerIdentifier product and of a licence product report usage over several hours through
 * `POST /v1/usage`; the emitter runs its hourly passes, and passes again every minute while records
 * wait for their retry. Afterwards every reported unit is billed exactly once per customer,
 * dimension and hour, every hour's records were accepted within AWS's six-hour window, and the
 * simulator never answered DuplicateRecord.
 */
describeDialects('BatchMeterUsage through 30 % throttling, 5 % 5xx and 10 % UnprocessedRecords (%s)', (dialect) => {
  it('bills every reported unit exactly once, each hour within the acceptance window', async () => {
    const seed = seedFor(`metering faults (${dialect})`);
    const random = createPrng(seed);
    const started = Date.now();
    const h = await meteringHarness({ dialect, start: '2026-03-10T09:55:00.000Z' });
    try {
      const buyers: Array<{ customer: Customer; key: string; dimensions: Array<{ name: string; peak: boolean }> }> = [];
      for (let i = 0; i < cases(300, 60); i++) {
        const c = await activeCustomer(h, sumProduct);
        buyers.push({
          customer: c,
          key: c.customerIdentifier!,
          dimensions: [
            { name: 'api_calls', peak: false },
            { name: 'peak_hosts', peak: true },
          ],
        });
      }
      for (let i = 0; i < cases(150, 30); i++) {
        const c = await activeCustomer(h, licenseProduct);
        buyers.push({ customer: c, key: c.licenseArn!, dimensions: [{ name: 'gb', peak: false }] });
      }
      h.sim.setFaults({ seed, operations: { BatchMeterUsage: FAULTS } });

      const expected = new Map<string, number>();
      const hours = cases(6, 3);
      const firstHour = Date.parse('2026-03-10T10:00:00.000Z');
      let records = 0;
      let passes = 0;
      let slowestMs = 0;
      for (let hour = 0; hour < hours; hour++) {
        const hourStart = firstHour + hour * HOUR;
        // Usage of this hour, reported near its end in batches of up to 500 records.
        h.clock.set(new Date(hourStart + 55 * 60_000));
        const batch: unknown[] = [];
        for (const b of buyers) {
          for (const d of b.dimensions) {
            for (let k = 0, n = 1 + Math.floor(random() * 3); k < n; k++) {
              const quantity = 1 + Math.floor(random() * 9);
              const key = `${b.key}|${d.name}|${new Date(hourStart).toISOString()}`;
              expected.set(key, d.peak ? Math.max(expected.get(key) ?? 0, quantity) : (expected.get(key) ?? 0) + quantity);
              batch.push({
                customer: b.customer.id,
                dimension: d.name,
                quantity,
                timestamp: new Date(hourStart + Math.floor(random() * 54 * 60_000)).toISOString(),
                idempotencyKey: `h${hour}-${records++}`,
              });
            }
          }
        }
        for (let i = 0; i < batch.length; i += 500) {
          const res = await request(h.app)
            .post('/v1/usage')
            .set({ Authorization: `Bearer ${TEST_API_KEY}` })
            .send({ records: batch.slice(i, i + 500) });
          expect([res.status, res.body.accepted]).toEqual([200, Math.min(500, batch.length - i)]);
        }
        // The hourly pass, then a pass a minute until nothing of the hour waits.
        h.clock.set(new Date(hourStart + HOUR + 10 * 60_000));
        for (;;) {
          await h.container.emitter.runOnce();
          passes++;
          const counts = await h.container.meterBuckets.countByState();
          if (!counts.sealed && !counts.sending) break;
          expect(h.clock.now().getTime() - hourStart).toBeLessThan(ACCEPTANCE_WINDOW_MS);
          h.clock.advance(60_000);
        }
        slowestMs = Math.max(slowestMs, h.clock.now().getTime() - (hourStart + HOUR));
      }

      const billed = new Map<string, number>();
      for (const r of h.sim.billed()) {
        const key = `${r.licenseArn ?? r.customerIdentifier}|${r.dimension}|${r.hour}`;
        expect([key, billed.has(key)]).toEqual([key, false]);
        billed.set(key, r.quantity);
      }
      for (const [key, quantity] of expected) expect([key, billed.get(key)]).toEqual([key, quantity]);
      // Anything else billed is a heartbeat of an idle hour.
      for (const [key, quantity] of billed) if (!expected.has(key)) expect([key, quantity]).toEqual([key, 0]);

      const log = h.sim.meteringLog().filter((e) => e.operation === 'BatchMeterUsage');
      const outcomes: Record<string, number> = {};
      for (const e of log) outcomes[e.outcome] = (outcomes[e.outcome] ?? 0) + 1;
      expect(outcomes.DuplicateRecord ?? 0).toBe(0);
      expect(h.sim.meteringLog().filter((e) => e.outcome === 'double-billed')).toEqual([]);
      // The faults did happen: the run is not a quiet one (a 5 % server error may miss a short run's
      // few dozen calls; throttling and unprocessed records cannot, in practice).
      expect(outcomes.ThrottlingException ?? 0).toBeGreaterThan(0);
      expect(outcomes.Unprocessed ?? 0).toBeGreaterThan(0);

      const figures = {
        suite: 'metering-faults',
        dialect,
        seed,
        buyers: buyers.length,
        hours,
        usageRecords: records,
        billedRecords: billed.size,
        outcomes,
        passes,
        slowestHourDrainedMinutesAfterItsEnd: Math.round(slowestMs / 60_000),
        ms: Date.now() - started,
      };
      report(figures);
      process.stdout.write(`metering faults (${dialect}): ${JSON.stringify(figures)}\n`);
    } finally {
      await h.close();
    }
  }, 1_200_000);
});
