import { execFileSync, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import request from 'supertest';
import { parse as parseYaml } from 'yaml';
import { CustomerRepository } from '../../src/customers/customer.repository';
import { EventRepository } from '../../src/events/event.repository';
import { toDbTime } from '../../src/store/dialect';
import { startHarness, TEST_API_KEY, type Harness } from '../support/harness';
import { announceSkip } from '../support/skip-notice';

const RULES = resolve(__dirname, '../../deploy/alerts.yaml');
const promtool = spawnSync('promtool', ['--version'], { encoding: 'utf8' }).status === 0;
if (!promtool) announceSkip('promtool not found (apt-get install prometheus): the alert rules were not checked');
const describePromtool = promtool ? describe : describe.skip;

interface Rule {
  alert: string;
  expr: string;
  for?: string;
  labels: Record<string, string>;
}
const rules = (parseYaml(readFileSync(RULES, 'utf8')) as { groups: Array<{ rules: Rule[] }> }).groups.flatMap((g) => g.rules);

/** `name{labels} value` lines of an exposition, as promtool series selectors. */
function samples(exposition: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of exposition.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{.*\})?) (\S+)$/.exec(line);
    if (!m) throw new Error(`unreadable exposition line: ${line}`);
    const value = Number(m[2]);
    if (Number.isFinite(value)) out.set(m[1]!, value);
  }
  return out;
}

describePromtool('deploy/alerts.yaml against the real /metrics output', () => {
  let h: Harness;
  const scrape = async () => {
    const res = await request(h.app).get('/metrics').set('Authorization', `Bearer ${TEST_API_KEY}`);
    expect(res.status).toBe(200);
    return samples(res.text);
  };

  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => h.close());

  it('promtool accepts the rules file', () => {
    expect(execFileSync('promtool', ['check', 'rules', RULES], { encoding: 'utf8' })).toMatch(/SUCCESS: \d+ rules found/);
    expect(rules.map((r) => r.alert).sort()).toEqual([
      'MeteringNotSentWhileCustomersActive',
      'MeteringOldestUnsentOverTwoHours',
      'MeteringRecordsDuplicate',
      'MeteringRecordsExpired',
      'MeteringWindowClosingSoon',
      'NotificationsRejected',
      'WebhookEndpointDisabled',
    ]);
  });

  it('every rule is quiet on a healthy service and fires once the store holds what it warns about', async () => {
    const db = h.db.store.db;
    const now = h.clock.now();
    const healthy = await scrape();

    // An active customer nothing has been accepted for; an expired, a duplicate and a stuck sealed
    // record 23 hours old; a rejected notification; a webhook endpoint disabled after failures.
    const customer = await new CustomerRepository(db).upsert({ productCode: 'legacy-sub-product', customerIdentifier: 'ci-alerts' }, now);
    await db.updateTable('customers').set({ status: 'active' }).where('id', '=', customer.id).execute();
    // 23 hours old: BatchMeterUsage accepts it for less than one more hour.
    const hour = new Date(Math.floor(now.getTime() / 3_600_000) * 3_600_000 - 23 * 3_600_000);
    for (const [state, dimension] of [
      ['expired', 'a'],
      ['duplicate', 'b'],
      ['sealed', 'c'],
    ] as const) {
      await db
        .insertInto('meter_buckets')
        .values({
          id: randomUUID(),
          customer_id: customer.id,
          product_code: 'legacy-sub-product',
          dimension,
          hour: toDbTime(hour),
          api: 'batch',
          mode: 'sum',
          aggregate: JSON.stringify({ mode: 'sum', total: 4, parts: {} }),
          usage_count: 1,
          heartbeat: 0,
          state,
          quantity: 4,
          allocations: null,
          identity_kind: 'customer_identifier',
          customer_identifier: 'ci-alerts',
          customer_aws_account_id: null,
          license_arn: null,
          attempts: 0,
          first_attempt_at: null,
          last_attempt_at: null,
          next_attempt_at: null,
          lease_owner: null,
          lease_until: null,
          metering_record_id: null,
          last_error: null,
          created_at: toDbTime(now),
          updated_at: toDbTime(now),
          sealed_at: toDbTime(now),
          completed_at: null,
          record_timestamp: toDbTime(hour),
          meter_usage_slot: null,
        })
        .execute();
    }
    await new EventRepository(db).record(
      { dedupeKey: 'alerts-1', channel: 'subscription', outcome: 'rejected', reason: 'unknown product', payload: {} },
      now,
    );
    const { endpoint } = await h.container.webhookEndpoints.create({ url: 'https://app.example.com/hook', kind: 'standard' }, now);
    await db
      .updateTable('webhook_endpoints')
      .set({ enabled: 0, disabled_at: toDbTime(now), disabled_reason: 'failing for 72 hours' })
      .where('id', '=', endpoint.id)
      .execute();
    const troubled = await scrape();

    // Two hours and a half of the healthy scrape, then three hours of the troubled one, one sample a minute.
    const series = [...new Set([...healthy.keys(), ...troubled.keys()])].map((name) => {
      const before = healthy.has(name) ? `${healthy.get(name)}x150` : '_x150';
      const after = troubled.has(name) ? `${troubled.get(name)}x180` : '_x180';
      return { series: name, values: `${before} ${after}` };
    });
    const expected = (alert: string) => {
      // Rules with `for:` fire only once their condition has held that long.
      return { alert, eval_time: alert === 'MeteringNotSentWhileCustomersActive' ? '330m' : '160m' };
    };
    const test = {
      rule_files: [RULES],
      evaluation_interval: '1m',
      tests: [
        {
          interval: '1m',
          input_series: series,
          alert_rule_test: [
            // Quiet on the healthy service.
            ...rules.map((r) => ({ alertname: r.alert, eval_time: '140m', exp_alerts: [] })),
            ...rules.map((r) => {
              const e = expected(r.alert);
              return { alertname: r.alert, eval_time: e.eval_time, exp_alerts: expectedAlerts(r.alert) };
            }),
          ],
        },
      ],
    };
    const dir = mkdtempSync(join(tmpdir(), 'alerts-'));
    // The same rules without their annotations (promtool compares annotations too; `check rules` above
    // has parsed their templates): what is tested is each expression, its `for` and its labels.
    const bare = join(dir, 'alerts.yaml');
    writeFileSync(
      bare,
      JSON.stringify({
        groups: [
          {
            name: 'all',
            rules: rules.map(({ alert, expr, for: hold, labels }) => ({ alert, expr, ...(hold ? { for: hold } : {}), labels })),
          },
        ],
      }),
    );
    test.rule_files = [bare];
    const file = join(dir, 'alerts.test.yaml');
    writeFileSync(file, JSON.stringify(test));
    const run = spawnSync('promtool', ['test', 'rules', file], { encoding: 'utf8' });
    expect({ status: run.status, output: `${run.stdout}${run.stderr}` }).toEqual({ status: 0, output: expect.stringContaining('SUCCESS') });
  }, 30_000);
});

/** The labels each alert carries when it fires on the troubled store (annotations are not compared). */
function expectedAlerts(alert: string): Array<{ exp_labels: Record<string, string> }> {
  switch (alert) {
    case 'MeteringNotSentWhileCustomersActive':
      return [{ exp_labels: { severity: 'critical', product: 'legacy-sub-product' } }];
    case 'MeteringRecordsExpired':
      return [{ exp_labels: { severity: 'critical', product: 'legacy-sub-product' } }];
    case 'MeteringRecordsDuplicate':
      return [{ exp_labels: { severity: 'warning', product: 'legacy-sub-product' } }];
    case 'MeteringOldestUnsentOverTwoHours':
      return [{ exp_labels: { severity: 'warning' } }];
    case 'MeteringWindowClosingSoon':
      return [{ exp_labels: { severity: 'critical', api: 'batch' } }];
    case 'NotificationsRejected':
      return [{ exp_labels: { severity: 'warning', channel: 'subscription', outcome: 'rejected' } }];
    case 'WebhookEndpointDisabled':
      return [{ exp_labels: { severity: 'warning', state: 'disabled' } }];
    default:
      throw new Error(`no expectation for alert ${alert}`);
  }
}
