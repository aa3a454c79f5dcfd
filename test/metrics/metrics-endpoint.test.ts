import { ResolveCustomerCommand } from '@aws-sdk/client-marketplace-metering';
import request from 'supertest';
import { startHarness, TEST_API_KEY, type Harness } from '../support/harness';

const METRICS_KEY = 'metrics-only-key-0123456789abcdef';
const USAGE_KEY = 'usage-only-key-0123456789abcdef';

describe('GET /metrics', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({
      env: {
        API_KEYS: `tests(metrics usage:write access:read)=${TEST_API_KEY},scraper(metrics)=${METRICS_KEY},app(usage:write)=${USAGE_KEY}`,
      },
    });
  });
  afterAll(async () => h.close());

  const scrape = () => request(h.app).get('/metrics').set('Authorization', `Bearer ${METRICS_KEY}`);

  it('refuses anonymous callers (401) and keys without the metrics scope (403)', async () => {
    expect((await request(h.app).get('/metrics')).status).toBe(401);
    const res = await request(h.app).get('/metrics').set('Authorization', `Bearer ${USAGE_KEY}`);
    expect(res.status).toBe(403);
    expect(res.body.code).toBe('insufficient_scope');
  });

  it('answers the Prometheus text format with the service series and the Node process metrics', async () => {
    const res = await scrape();
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    for (const name of [
      'marketplace_bridge_http_request_duration_seconds',
      'marketplace_bridge_aws_calls_total',
      'marketplace_bridge_rate_limit_refusals_total',
      'marketplace_bridge_metering_records',
      'marketplace_bridge_oldest_unsent_record_age_seconds',
      'marketplace_bridge_oldest_unsent_record_window_remaining_seconds',
      'marketplace_bridge_expired_units',
      'marketplace_bridge_metering_last_accepted_timestamp_seconds',
      'marketplace_bridge_customers',
      'marketplace_bridge_notifications_recorded',
      'marketplace_bridge_webhook_deliveries',
      'marketplace_bridge_webhook_endpoints',
      'marketplace_bridge_process_cpu_seconds_total',
      'marketplace_bridge_nodejs_eventloop_lag_seconds',
    ]) {
      expect(res.text).toContain(`# TYPE ${name} `);
    }
    expect(res.text).toContain('marketplace_bridge_oldest_unsent_record_age_seconds 0');
  });

  it('times requests by route template and status, never by raw path', async () => {
    await request(h.app).get('/v1/access').query({ customer: 'nobody-at-all' }).set('Authorization', `Bearer ${TEST_API_KEY}`);
    await request(h.app).get('/no/such/page');
    const text = (await scrape()).text;
    expect(text).toMatch(/marketplace_bridge_http_request_duration_seconds_count\{method="GET",route="\/v1\/access",status="404"\} 1/);
    expect(text).toMatch(/marketplace_bridge_http_request_duration_seconds_count\{method="GET",route="unmatched",status="404"\} 1/);
    expect(text).not.toContain('nobody-at-all');
    expect(text).not.toContain('/no/such/page');
  });

  it('counts AWS calls by operation and outcome', async () => {
    // A token the simulator never issued: ResolveCustomer answers InvalidTokenException (a client error).
    await expect(h.aws.metering.send(new ResolveCustomerCommand({ RegistrationToken: 'never-issued' }))).rejects.toThrow();
    await h.aws.metering.send(
      new ResolveCustomerCommand({ RegistrationToken: (await h.sim.subscribe({ productCode: 'legacy-sub-product' })).registrationToken }),
    );
    const text = (await scrape()).text;
    expect(text).toMatch(/marketplace_bridge_aws_calls_total\{service="metering",operation="ResolveCustomer",outcome="client_error"\} 1/);
    expect(text).toMatch(/marketplace_bridge_aws_calls_total\{service="metering",operation="ResolveCustomer",outcome="success"\} 1/);
  });
});
