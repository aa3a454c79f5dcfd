import fc from 'fast-check';
import request from 'supertest';
import { loadConfig, ConfigError } from '../../src/config';
import { parseQueueMessage } from '../../src/events/envelope';
import { startHarness, TEST_API_KEY, type Harness } from '../support/harness';
import { routedOperations, samplePath } from '../support/routes';
import { cases, report, seedFor } from './figures';

/**
 * Fuzzing of every entry point: every HTTP route the router holds (enumerated, so a new route is
 * fuzzed without anyone adding it here), every queue envelope, and configuration parsing. The
 * answer is always a declared response below 500 (the harness fails on any response openapi.yaml
 * does not declare), never a crash or an unhandled rejection.
 */
const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => void unhandled.push(reason);
beforeAll(() => process.on('unhandledRejection', onUnhandled));
afterAll(() => {
  process.off('unhandledRejection', onUnhandled);
  expect(unhandled).toEqual([]);
});

const json = fc.jsonValue({ maxDepth: 3 });
const text = fc.oneof(fc.string({ maxLength: 200 }), fc.string({ unit: 'binary', maxLength: 200 }));

describe('HTTP routes under fuzzing', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({
      env: { RATE_LIMIT_REGISTRATION_PER_MINUTE: '0', RATE_LIMIT_SNS_PER_MINUTE: '0', RATE_LIMIT_API_PER_MINUTE: '0' },
    });
  });
  afterAll(async () => h.close());

  it('every routed operation answers garbage with a declared status below 500', async () => {
    const operations = [...routedOperations(h.app)].sort();
    expect(operations.length).toBeGreaterThan(10);
    const perRoute = cases(10_000, 200);
    const seed = seedFor('route fuzzing');
    const started = Date.now();
    const statuses = new Map<number, number>();
    for (const op of operations) {
      const [method, path] = op.split(' ') as [string, string];
      await fc.assert(
        fc.asyncProperty(
          fc.record({
            auth: fc.constantFrom('none', 'good', 'bad'),
            segment: fc.option(fc.string({ maxLength: 40 }), { freq: 2 }),
            query: fc.dictionary(fc.string({ maxLength: 12 }), fc.string({ maxLength: 40 }), { maxKeys: 4 }),
            kind: fc.constantFrom('json', 'form', 'text', 'none'),
            body: fc.oneof(json, text),
          }),
          async (c) => {
            const concrete =
              c.segment === null ? samplePath(path) : path.replace(/:([A-Za-z0-9_]+)/g, () => encodeURIComponent(c.segment!) || 'x');
            const m = method.toLowerCase() as 'get' | 'post' | 'put' | 'patch' | 'delete';
            let req = request(h.app)[m](concrete).query(c.query);
            if (c.auth === 'good') req = req.set('Authorization', `Bearer ${TEST_API_KEY}`);
            if (c.auth === 'bad') req = req.set('Authorization', 'Bearer wrong');
            if (m !== 'get' && c.kind !== 'none') {
              const payload = c.kind === 'json' ? JSON.stringify(c.body) : typeof c.body === 'string' ? c.body : JSON.stringify(c.body);
              req = req.type(c.kind === 'form' ? 'form' : c.kind === 'json' ? 'json' : 'text').send(payload);
            }
            const res = await req;
            statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
            if (res.status >= 500 && res.status !== 503) throw new Error(`${op} → ${res.status}: ${res.text.slice(0, 300)}`);
          },
        ),
        { seed, numRuns: perRoute, endOnFailure: true },
      );
    }
    // Answers openapi.yaml does not declare, by operation and status: each must be a known finding.
    const undeclared = new Map<string, number>();
    for (const v of h.specViolations) {
      const op = operations.find((o) =>
        new RegExp(`^${o.split(' ')[0]} ${o.split(' ')[1]!.replace(/:[A-Za-z0-9_]+/g, '[^/]+')}$`).test(
          `${v.method} ${v.path.split('?')[0]}`,
        ),
      );
      const key = `${op ?? `${v.method} ${v.path}`} ${v.status}`;
      undeclared.set(key, (undeclared.get(key) ?? 0) + 1);
    }
    (h.specViolations as unknown[]).length = 0;
    expect([...undeclared.keys()].sort()).toEqual([]);
    expect(statuses.get(503) ?? 0).toBe(0);
    report({
      suite: 'fuzz-routes',
      seed,
      routes: operations.length,
      casesPerRoute: perRoute,
      ms: Date.now() - started,
      statuses: Object.fromEntries(statuses),
      undeclared: Object.fromEntries(undeclared),
    });
  }, 1_800_000);
});

describe('queue envelopes under fuzzing', () => {
  it('any SQS body parses to a result or a reason, never a throw', () => {
    const seed = seedFor('envelope fuzzing');
    const n = 10_000;
    const snsLike = fc.record(
      {
        Type: fc.constantFrom('Notification', 'SubscriptionConfirmation', 'x'),
        MessageId: fc.string(),
        TopicArn: fc.string(),
        Message: fc.oneof(
          fc.string(),
          json.map((v) => JSON.stringify(v)),
        ),
        Timestamp: fc.oneof(
          fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
          fc.string(),
        ),
      },
      { requiredKeys: [] },
    );
    const ebLike = fc.record(
      { version: fc.string(), id: fc.string(), 'detail-type': fc.string(), source: fc.string(), time: fc.string(), detail: json },
      { requiredKeys: [] },
    );
    // Near-valid envelopes: the real shapes with each field either right or garbage, so that a
    // share of the cases parse and the checks past the envelope are reached too.
    const maybe = <T>(good: fc.Arbitrary<T>) => fc.oneof({ weight: 4, arbitrary: good }, { weight: 1, arbitrary: json });
    const time = maybe(
      fc.date({ min: new Date('2020-01-01'), max: new Date('2030-01-01'), noInvalidDate: true }).map((d) => d.toISOString()),
    );
    const marketplaceMessage = fc.record(
      {
        action: maybe(
          fc.constantFrom('subscribe-success', 'subscribe-fail', 'unsubscribe-pending', 'unsubscribe-success', 'entitlement-updated'),
        ),
        'customer-identifier': maybe(fc.stringMatching(/^[A-Za-z0-9]{11}$/)),
        'customer-aws-account-id': maybe(fc.stringMatching(/^[0-9]{12}$/)),
        'license-arn': maybe(fc.stringMatching(/^arn:aws:license-manager::[0-9]{12}:license:l-[0-9a-f]{32}$/)),
        'product-code': maybe(fc.stringMatching(/^[a-z0-9]{25}$/)),
        'offer-identifier': maybe(fc.stringMatching(/^offer-[a-z0-9]{13}$/)),
        isFreeTrialTermPresent: maybe(fc.constantFrom('true', 'false', true, false)),
      },
      { requiredKeys: ['action', 'product-code'] },
    );
    const snsNotification = fc.record({
      Type: fc.constant('Notification'),
      MessageId: fc.uuid(),
      TopicArn: fc.constant('arn:aws:sns:us-east-1:287250355862:aws-mp-subscription-notification-p-prod'),
      Message: marketplaceMessage.map((m) => JSON.stringify(m)),
      Timestamp: time,
    });
    const ebEvent = fc.record({
      version: fc.constant('0'),
      id: fc.uuid(),
      'detail-type': maybe(
        fc
          .tuple(
            fc.constantFrom(
              'Purchase Agreement Created',
              'Purchase Agreement Amended',
              'Purchase Agreement Ended',
              'License Updated',
              'License Deprovisioned',
            ),
            fc.constantFrom('Manufacturer', 'Proposer', 'Acceptor'),
          )
          .map(([what, who]) => `${what} - ${who}`),
      ),
      source: maybe(fc.constantFrom('aws.agreement-marketplace', 'aws.marketplace')),
      time,
      detail: fc.record(
        {
          requestId: maybe(fc.uuid()),
          product: fc.record({ id: maybe(fc.uuid()), code: maybe(fc.stringMatching(/^[a-z0-9]{25}$/)) }, { requiredKeys: [] }),
          license: fc.record({ arn: maybe(fc.stringMatching(/^arn:aws:license-manager::[0-9]{12}:license:l-[0-9a-f]{32}$/)) }),
          acceptor: fc.record({ accountId: maybe(fc.stringMatching(/^[0-9]{12}$/)) }),
          agreement: fc.record(
            {
              id: maybe(fc.stringMatching(/^agmt-[a-z0-9]{25}$/)),
              intent: maybe(fc.constantFrom('NEW', 'RENEW', 'REPLACE', 'AMEND')),
              status: maybe(fc.constantFrom('ACTIVE', 'EXPIRED', 'CANCELLED', 'RENEWED', 'REPLACED', 'TERMINATED')),
              previousAgreementId: maybe(fc.stringMatching(/^agmt-[a-z0-9]{25}$/)),
            },
            { requiredKeys: ['id'] },
          ),
          offer: fc.record({ id: maybe(fc.stringMatching(/^offer-[a-z0-9]{13}$/)) }),
        },
        { requiredKeys: ['agreement'] },
      ),
    });
    const body = fc.oneof(
      text,
      json.map((v) => JSON.stringify(v)),
      snsLike.map((v) => JSON.stringify(v)),
      ebLike.map((v) => JSON.stringify(v)),
      snsNotification.map((v) => JSON.stringify(v)),
      marketplaceMessage.map((v) => JSON.stringify(v)),
      ebEvent.map((v) => JSON.stringify(v)),
    );
    const started = Date.now();
    let ok = 0;
    fc.assert(
      fc.property(body, fc.string(), (b, id) => {
        const r = parseQueueMessage(b, { messageId: id || 'm' });
        expect(typeof r.ok).toBe('boolean');
        if (r.ok) ok++;
      }),
      { seed, numRuns: n },
    );
    report({ suite: 'fuzz-envelopes', seed, cases: n, parsed: ok, ms: Date.now() - started });
    process.stdout.write(`envelope fuzzing: ${n} cases, ${ok} parsed as Marketplace events, the rest a reason\n`);
    // The near-valid shapes do reach the parser's acceptance.
    expect(ok).toBeGreaterThan(n / 20);
  });
});

describe('configuration parsing under fuzzing', () => {
  it('any environment loads or fails with a ConfigError listing the problems', () => {
    const seed = seedFor('config fuzzing');
    const n = 10_000;
    const names = [
      'MARKETPLACE_MODE',
      'API_KEYS',
      'MARKETPLACE_PRODUCTS',
      'DATABASE_URL',
      'PORT',
      'SESSION_SECRET',
      'METERING_POLL_SECONDS',
      'RATE_LIMIT_API_PER_MINUTE',
      'LOGIN_URL',
      'SUBSCRIPTION_QUEUE_URL',
      'METERING_FINAL_FLUSH_DELAY_MINUTES',
      'TRUST_PROXY',
    ];
    const env = fc.dictionary(
      fc.oneof(fc.constantFrom(...names), fc.string({ maxLength: 20 })),
      fc.oneof(
        text,
        json.map((v) => JSON.stringify(v)),
      ),
      { maxKeys: 8 },
    );
    const started = Date.now();
    let loaded = 0;
    fc.assert(
      fc.property(env, (e) => {
        try {
          loadConfig({ MARKETPLACE_MODE: 'simulator', ...e });
          loaded++;
        } catch (error) {
          if (!(error instanceof ConfigError)) throw error;
        }
      }),
      { seed, numRuns: n },
    );
    report({ suite: 'fuzz-config', seed, cases: n, loaded, ms: Date.now() - started });
  });
});
