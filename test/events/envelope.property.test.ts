import fc from 'fast-check';
import { parseQueueMessage, parseSnsHttpBody } from '../../src/events/envelope';
import { fixtureJson, fixtureText } from './fixture-loader';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

const meta = { messageId: 'm', sentTimestamp: new Date('2026-01-01T00:00:00Z') };
const FIXTURES = readdirSync(join(__dirname, 'fixtures')).filter((f) => f.endsWith('.json'));

/** Any JSON value, including objects with the keys the parser looks at. */
const keyArb = fc.constantFrom(
  'Type',
  'Message',
  'MessageId',
  'Timestamp',
  'TopicArn',
  'action',
  'customer-identifier',
  'CustomerIdentifier',
  'product-code',
  'isFreeTrialTermPresent',
  'source',
  'detail-type',
  'detail',
  'id',
  'time',
  'agreement',
  'license',
  'acceptor',
  'accountId',
  'arn',
  'SubscribeURL',
  'Token',
  '__proto__',
  'constructor',
  'toString',
);
const { json } = fc.letrec((tie) => ({
  json: fc.oneof(
    { depthSize: 'small' },
    fc.constantFrom(
      null,
      true,
      false,
      0,
      -1,
      1e308,
      'Notification',
      'subscribe-success',
      'aws.agreement-marketplace',
      'License Updated - Manufacturer',
      '2026-01-01T00:00:00Z',
    ),
    fc.string(),
    fc.double(),
    fc.array(tie('json'), { maxLength: 3 }),
    fc.dictionary(fc.oneof(keyArb, fc.string()), tie('json'), { maxKeys: 6 }),
  ),
}));

function mutateFixture(obj: Record<string, unknown>, key: string, value: unknown): string {
  return JSON.stringify({ ...obj, [key]: value });
}

describe('parsers never throw (garbage of any kind)', () => {
  it('on arbitrary strings', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (s) => {
        expect(() => parseQueueMessage(s, meta)).not.toThrow();
        expect(() => parseSnsHttpBody(s)).not.toThrow();
        expect(typeof parseQueueMessage(s, meta).ok).toBe('boolean');
      }),
      { numRuns: 2000 },
    );
  });

  it('on arbitrary JSON, bare or inside an SNS envelope Message', () => {
    const envelope = fixtureJson('sns-sqs-subscribe-success.json');
    fc.assert(
      fc.property(json, (v) => {
        const body = JSON.stringify(v) ?? 'null';
        for (const b of [body, mutateFixture(envelope, 'Message', body), mutateFixture(envelope, 'Message', v)]) {
          const r = parseQueueMessage(b, meta);
          if (!r.ok) expect(r.reason.length).toBeGreaterThan(0);
          expect(() => parseSnsHttpBody(b)).not.toThrow();
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('on fixtures with any one field replaced by arbitrary JSON', () => {
    fc.assert(
      fc.property(fc.constantFrom(...FIXTURES), keyArb, json, (file, key, v) => {
        const obj = fixtureJson(file);
        const detail = obj['detail'];
        const bodies = [mutateFixture(obj, key, v)];
        if (typeof detail === 'object' && detail !== null) bodies.push(mutateFixture(obj, 'detail', { ...detail, [key]: v }));
        for (const b of bodies) {
          expect(() => parseQueueMessage(b, meta)).not.toThrow();
          expect(() => parseSnsHttpBody(b)).not.toThrow();
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('on truncated fixtures', () => {
    fc.assert(
      fc.property(fc.constantFrom(...FIXTURES), fc.nat(), (file, n) => {
        const text = fixtureText(file);
        const r = parseQueueMessage(text.trimEnd().slice(0, n % text.trimEnd().length), meta);
        expect(r.ok).toBe(false);
      }),
    );
  });
});
