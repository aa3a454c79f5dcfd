import request from 'supertest';
import { sql } from 'kysely';
import type { ManualClock } from '../../src/platform/clock';
import { TEST_API_KEY, type Harness } from '../support/harness';
import { activeCustomer, drain, meteringHarness, sumProduct } from '../metering/metering-support';
import { pageCsrf, signIn } from './console-support';
import { describeDialects } from '../support/stores';
import { toDbTime } from '../../src/store/dialect';

const auth = { Authorization: `Bearer ${TEST_API_KEY}` };

describe('console pages', () => {
  describe('with nothing in the store', () => {
    let h: Harness & { clock: ManualClock };
    let cookie: string;
    beforeAll(async () => {
      h = await meteringHarness();
      cookie = await signIn(h.app, { apiKey: TEST_API_KEY });
    });
    afterAll(async () => h.close());

    it.each([
      ['/admin', ['No customers yet', 'Nothing billed in the last 48 hours', 'never']],
      ['/admin/customers', ['No customers yet.']],
      ['/admin/customers?q=nobody', ['No customer matches these filters.']],
      ['/admin/problems', ['No metering record needs attention.']],
      ['/admin/problems?state=expired', ['No metering record needs attention in the state expired.']],
      ['/admin/notifications', ['No rejected or unmatched notifications.']],
    ])('%s says plainly that there is nothing yet', async (path, texts) => {
      const res = await request(h.app).get(path).set('Cookie', cookie);
      expect(res.status).toBe(200);
      expect(res.type).toBe('text/html');
      for (const t of texts) expect(res.text).toContain(t);
      expect(res.text).toContain('<meta name="viewport" content="width=device-width, initial-scale=1">');
    });

    it('answers 404 for an unknown customer', async () => {
      const res = await request(h.app).get('/admin/customers/nobody').set('Cookie', cookie);
      expect(res.status).toBe(404);
    });
  });

  describeDialects('with a billed customer, problems and a rejected notification (%s)', (dialect) => {
    let h: Harness & { clock: ManualClock };
    let cookie: string;
    let customerId: string;
    let identifier: string;

    beforeAll(async () => {
      h = await meteringHarness({ dialect });
      cookie = await signIn(h.app, { apiKey: TEST_API_KEY });
      const c = await activeCustomer(h, sumProduct);
      customerId = c.id;
      identifier = c.customerIdentifier!;
      const res = await request(h.app)
        .post('/v1/usage')
        .set(auth)
        .send({
          records: [
            { customer: c.id, dimension: 'api_calls', quantity: 5, timestamp: '2026-03-10T10:31:00Z', idempotencyKey: 'p1' },
            { customer: c.id, dimension: 'api_calls', quantity: 7, timestamp: '2026-03-10T10:32:00Z', idempotencyKey: 'p2' },
          ],
        });
      expect(res.status).toBe(200);
      h.clock.set('2026-03-10T11:15:00.000Z');
      await drain(h);
    });
    afterAll(async () => h.close());

    const get = (path: string) => request(h.app).get(path).set('Cookie', cookie);

    it('the customer page shows identity, the billed hour with its MeteringRecordId, and the notification timeline', async () => {
      const bucket = await h.db.store.db
        .selectFrom('meter_buckets')
        .selectAll()
        .where('customer_id', '=', customerId)
        .where('dimension', '=', 'api_calls')
        .executeTakeFirstOrThrow();
      expect(bucket.state).toBe('accepted');
      const res = await get(`/admin/customers/${customerId}`);
      expect(res.status).toBe(200);
      expect(res.text).toContain(identifier);
      expect(res.text).toContain('2026-03-10 10:00');
      expect(res.text).toContain(bucket.metering_record_id!);
      expect(res.text).toMatch(/<td class="num">12<\/td><td class="num">0<\/td>\s*<td class="num">12<\/td>/);
      expect(res.text).toContain('No webhook deliveries for this customer.');
    });

    it('the overview counts the customer and charts the billed units', async () => {
      const res = await get('/admin');
      expect(res.text).toMatch(/<svg class="chart"[^>]*aria-label="Units billed per hour, peak 12"/);
      expect(res.text).toContain('2026-03-10 10:00: 12');
      expect(res.text).toMatch(/meter-sum-product<\/a><\/td><td class="num">0<\/td><td class="num">1<\/td>/);
    });

    it('the list finds the customer by id and CustomerIdentifier, and filters by state', async () => {
      for (const q of [customerId, identifier])
        expect((await get(`/admin/customers?q=${encodeURIComponent(q)}`)).text).toContain(customerId);
      expect((await get('/admin/customers?status=failed')).text).toContain('No customer matches these filters.');
      expect((await get('/admin/customers?status=active')).text).toContain(customerId);
    });

    it('a failed record inside its window: support report, retry through the lifecycle back to sealed', async () => {
      const bucket = await h.db.store.db
        .selectFrom('meter_buckets')
        .select('id')
        .where('customer_id', '=', customerId)
        .where('dimension', '=', 'peak_hosts')
        .executeTakeFirstOrThrow();
      await h.db.store.db
        .updateTable('meter_buckets')
        .set({
          state: 'failed',
          last_error: 'InvalidUsageDimensionException: dimension peak_hosts is not on the listing',
          aws_request_id: 'req-0123-abcd',
          aws_http_status: 400,
          aws_operation: 'BatchMeterUsage',
          last_error_at: '2026-03-10T11:10:02.000Z',
        })
        .where('id', '=', bucket.id)
        .execute();
      const page = await get('/admin/problems');
      for (const t of [
        'Operation: BatchMeterUsage',
        'AWS request id: req-0123-abcd',
        'HTTP status: 400',
        'Time (UTC): 2026-03-10T11:10:02.000Z',
        'Product code: meter-sum-product',
        `Customer: CustomerIdentifier ${identifier}`,
        'Dimension: peak_hosts',
        'Usage hour (UTC): 2026-03-10T10:00:00.000Z',
        'Error: InvalidUsageDimensionException: dimension peak_hosts is not on the listing',
      ])
        expect(page.text).toContain(t);
      expect(page.text).toContain(`action="/admin/problems/${bucket.id}/retry"`);
      const csrf = await pageCsrf(h.app, cookie, '/admin/problems');
      const res = await request(h.app).post(`/admin/problems/${bucket.id}/retry`).set('Cookie', cookie).type('form').send({ csrf });
      expect(res.status).toBe(303);
      expect(res.headers.location).toBe('/admin/problems?done=retried');
      const after = await h.db.store.db.selectFrom('meter_buckets').select('state').where('id', '=', bucket.id).executeTakeFirstOrThrow();
      expect(after.state).toBe('sealed');
      const again = await request(h.app).post(`/admin/problems/${bucket.id}/retry`).set('Cookie', cookie).type('form').send({ csrf });
      expect(again.status).toBe(409);
    });

    it('refuses to retry a record whose AWS window has closed (409), and offers no button', async () => {
      const bucket = await h.db.store.db
        .selectFrom('meter_buckets')
        .select('id')
        .where('customer_id', '=', customerId)
        .where('dimension', '=', 'peak_hosts')
        .executeTakeFirstOrThrow();
      await h.db.store.db.updateTable('meter_buckets').set({ state: 'failed', last_error: 'x' }).where('id', '=', bucket.id).execute();
      h.clock.set('2026-03-11T10:00:00.000Z'); // the 10:00 hour's 24-hour window closed at 10:00 today
      const earlier = cookie;
      cookie = await signIn(h.app, { apiKey: TEST_API_KEY }); // the first session has ended meanwhile (8 hours)
      try {
        const page = await get('/admin/problems?state=failed');
        expect(page.text).toContain('Past the AWS window');
        expect(page.text).not.toContain(`action="/admin/problems/${bucket.id}/retry"`);
        const csrf = await pageCsrf(h.app, cookie, '/admin/problems');
        const res = await request(h.app).post(`/admin/problems/${bucket.id}/retry`).set('Cookie', cookie).type('form').send({ csrf });
        expect(res.status).toBe(409);
        expect(res.body.code).toBe('window_closed');
        const after = await h.db.store.db.selectFrom('meter_buckets').select('state').where('id', '=', bucket.id).executeTakeFirstOrThrow();
        expect(after.state).toBe('failed');
      } finally {
        h.clock.set('2026-03-10T11:20:00.000Z');
        cookie = earlier;
      }
    });

    it('replays a rejected notification through the event processor', async () => {
      // As recorded when its product was not yet configured: the Marketplace message itself.
      const message = { action: 'subscribe-success', 'customer-identifier': 'replayed-buyer-1', 'product-code': sumProduct.code };
      await h.db.store.db
        .insertInto('events')
        .values({
          dedupe_key: 'sqs:replay-me-1',
          secondary_key: null,
          channel: 'sqs:subscription',
          kind: 'subscribe-success',
          event_time: '2026-03-10T11:00:00.000Z',
          received_at: '2026-03-10T11:00:01.000Z',
          customer_id: null,
          outcome: 'rejected',
          reason: `product ${sumProduct.code} is not configured in this service`,
          payload: JSON.stringify(message),
          agreement_id: null,
        })
        .execute();
      const page = await get('/admin/notifications');
      expect(page.text).toContain('is not configured in this service');
      const id = Number(/action="\/admin\/notifications\/(\d+)\/replay"/.exec(page.text)?.[1]);
      const csrf = await pageCsrf(h.app, cookie, '/admin/notifications');
      const res = await request(h.app).post(`/admin/notifications/${id}/replay`).set('Cookie', cookie).type('form').send({ csrf });
      expect(res.status).toBe(303);
      expect(res.headers.location).toBe('/admin/notifications?replayed=applied');
      const [customer] = await h.container.customers.findByReference('replayed-buyer-1');
      expect(customer?.subscription.status).toBe('active');
      const rows = await sql<{ outcome: string }>`select outcome from events where dedupe_key like 'sqs:replay-me-1%' order by id`.execute(
        h.db.store.db,
      );
      expect(rows.rows.map((r) => r.outcome)).toEqual(['replayed', 'applied']);
      // Only a rejected notification can be replayed.
      const twice = await request(h.app).post(`/admin/notifications/${id}/replay`).set('Cookie', cookie).type('form').send({ csrf });
      expect(twice.status).toBe(409);
    });

    it('the customer page: a contract-ending-soon badge within the widest threshold, cancellation requests and refunds, escaped', async () => {
      const db = h.db.store.db;
      const now = h.clock.now();
      const inDays = (d: number) => toDbTime(new Date(now.getTime() + d * 86_400_000));
      const badge = '<span class="state state-ending">contract ending soon</span>';
      // No agreement yet: no badge, and the section says there is nothing.
      let page = await get(`/admin/customers/${customerId}`);
      expect(page.text).not.toContain(badge);
      expect(page.text).toContain('No cancellation requests.');
      expect(page.text).toContain('No billing adjustments.');

      await db.updateTable('customers').set({ agreement_id: 'agmt-console-1' }).where('id', '=', customerId).execute();
      const details = async (endInDays: number | null, behavior: string | null) =>
        db
          .insertInto('agreement_details')
          .values({
            agreement_id: 'agmt-console-1',
            status: 'ACTIVE',
            start_time: null,
            end_time: endInDays === null ? null : inDays(endInDays),
            end_time_behavior: behavior,
            free_trial: 0,
            estimated_value: null,
            currency_code: null,
            fetched_at: toDbTime(now),
          })
          .onConflict((oc) =>
            oc.column('agreement_id').doUpdateSet({ end_time: endInDays === null ? null : inDays(endInDays), end_time_behavior: behavior }),
          )
          .execute();
      await details(20, 'TERMINATE'); // inside 60 (the widest of 60,30,7)
      page = await get(`/admin/customers/${customerId}`);
      expect(page.text).toContain(badge);
      expect(page.text).toContain('(in 20 days, not renewed automatically)');
      for (const [endInDays, behavior] of [
        [20, 'RENEW'], // renews by itself
        [61, 'TERMINATE'], // beyond the widest threshold
        [null, null], // no end
        [-1, 'TERMINATE'], // already ended
      ] as const) {
        await details(endInDays, behavior);
        expect((await get(`/admin/customers/${customerId}`)).text).not.toContain(badge);
      }

      await db
        .insertInto('customer_cancellation_requests')
        .values({
          request_id: 'cr-console-1',
          customer_id: customerId,
          agreement_id: 'agmt-console-1',
          status: 'PENDING_APPROVAL',
          status_at: '2026-03-10T09:00:00.000Z',
          reason_code: 'NO_LONGER_NEEDED',
          reason_message: 'we <script>alert(1)</script> moved',
          status_message: null,
          requested_at: '2026-03-10T08:59:00.000Z',
          created_at: toDbTime(now),
          updated_at: toDbTime(now),
        })
        .execute();
      await db
        .insertInto('customer_billing_adjustments')
        .values({
          adjustment_id: 'ba-console-1',
          customer_id: customerId,
          agreement_id: 'agmt-console-1',
          amount: '-12.50',
          currency_code: 'USD',
          reason_code: '<script>x</script>',
          original_invoice_id: 'inv-1',
          completed_at: '2026-03-10T09:30:00.000Z',
          created_at: toDbTime(now),
        })
        .execute();
      page = await get(`/admin/customers/${customerId}`);
      expect(page.text).toContain('<span class="state state-pending_approval">pending approval</span>');
      expect(page.text).toContain('2026-03-10 08:59');
      expect(page.text).toContain('NO_LONGER_NEEDED<br><small>we &lt;script&gt;alert(1)&lt;/script&gt; moved</small>');
      expect(page.text).toMatch(
        /<td>2026-03-10 09:30<\/td><td class="num">-12.50<\/td><td>USD<\/td><td>&lt;script&gt;x&lt;\/script&gt;<\/td>/,
      );
      expect(page.text).not.toContain('<script>');
      expect(page.text).not.toContain('No cancellation requests.');
      expect(page.text).not.toContain('No billing adjustments.');
    });
  });
});
