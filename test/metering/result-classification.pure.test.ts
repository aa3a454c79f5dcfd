import fc from 'fast-check';
import {
  InternalServiceErrorException,
  InvalidUsageDimensionException,
  ThrottlingException,
  TimestampOutOfBoundsException,
  type BatchMeterUsageCommandOutput,
  type UsageRecord,
} from '@aws-sdk/client-marketplace-metering';
import { toBatchCallResult, toCallFailure } from '../../src/aws/metering.gateway';
import { awsErrorFacts } from '../../src/aws/sdk-errors';
import { planBatches, wireRecord, type MeteringBatch, type PendingRecord } from '../../src/metering/record-batching';
import { classifyBatchCall, classifyFailure, type RecordOutcome } from '../../src/metering/result-classification';

/**
 * What the emitter decides from what AWS answers or throws: the AWS adapter's mapping into the
 * project's own outcome types (`src/aws/metering.gateway.ts`, `src/aws/sdk-errors.ts`), then the
 * pure classification (`src/metering/result-classification.ts`), composed as the sender does.
 */
const classifyBatchResponse = (b: MeteringBatch, resp: Partial<BatchMeterUsageCommandOutput> | undefined | null) =>
  classifyBatchCall(b, toBatchCallResult(resp as BatchMeterUsageCommandOutput | undefined | null));
const classifyError = (err: unknown, n: number) => classifyFailure(toCallFailure(err), n);
const classifyBatchError = (b: MeteringBatch, err: unknown) => classifyBatchCall(b, { ok: false, failure: toCallFailure(err) });
const isThrottlingError = (err: unknown) => awsErrorFacts(err).kind === 'throttled';
const classifyMeterUsageResponse = (r: PendingRecord, resp: { MeteringRecordId?: string }) =>
  new Map<string, RecordOutcome>([[r.bucketId, { next: 'accepted', meteringRecordId: resp.MeteringRecordId ?? null }]]);
const classifyMeterUsageError = (r: PendingRecord, err: unknown) => new Map([[r.bucketId, classifyFailure(toCallFailure(err), 1)]]);

const T0 = Date.parse('2026-06-01T00:00:00Z');
const rec = (i: number, kind: 'legacy' | 'license' = 'license'): PendingRecord => ({
  bucketId: `b${i}`,
  productCode: 'prod',
  identity:
    kind === 'legacy'
      ? { kind: 'customer-identifier', customerIdentifier: `c${i}` }
      : { kind: 'license', customerAWSAccountId: String(1000 + i), licenseArn: `arn:aws:license-manager::${1000 + i}:license:l-${i}` },
  dimension: 'users',
  hour: new Date(T0 + (i % 3) * 3_600_000),
  quantity: i,
});
const batchOf = (n: number, kind: 'legacy' | 'license' = 'license'): MeteringBatch =>
  planBatches(Array.from({ length: n }, (_, i) => rec(i, kind)))[0]!;
const sdkError = (name: string, fault: 'client' | 'server' = 'client', status = fault === 'server' ? 500 : 400) =>
  Object.assign(new Error(`${name} happened`), { name, $fault: fault, $metadata: { httpStatusCode: status } });
const echo = (r: PendingRecord): UsageRecord => wireRecord(r);

describe('classifyBatchResponse', () => {
  it('maps each status, matching by identity/dimension/hour, not by position', () => {
    const b = batchOf(5);
    const [r0, r1, r2, r3, r4] = b.records as [PendingRecord, PendingRecord, PendingRecord, PendingRecord, PendingRecord];
    const { outcomes, unmatched } = classifyBatchResponse(b, {
      Results: [
        { UsageRecord: echo(r2), Status: 'DuplicateRecord' },
        { UsageRecord: echo(r0), Status: 'Success', MeteringRecordId: 'mr-0' },
        { UsageRecord: echo(r1), Status: 'CustomerNotSubscribed' },
        { UsageRecord: { ...echo(r0), Dimension: 'other' }, Status: 'Success', MeteringRecordId: 'stray' },
      ],
      UnprocessedRecords: [echo(r3)],
    });
    expect(outcomes.get(r0.bucketId)).toEqual({ next: 'accepted', meteringRecordId: 'mr-0' });
    expect(outcomes.get(r1.bucketId)).toEqual({ next: 'not_subscribed' });
    expect(outcomes.get(r2.bucketId)).toEqual({ next: 'duplicate' });
    expect(outcomes.get(r3.bucketId)).toMatchObject({ next: 'retry', reason: expect.stringMatching(/Unprocessed/) });
    expect(outcomes.get(r4.bucketId)).toMatchObject({ next: 'retry', reason: expect.stringMatching(/missing/) });
    expect(unmatched).toHaveLength(1);
  });

  it('matches legacy records by CustomerIdentifier, and echoed timestamps inside the hour', () => {
    const b = batchOf(2, 'legacy');
    const r = b.records[1]!;
    const { outcomes } = classifyBatchResponse(b, {
      Results: [{ UsageRecord: { ...echo(r), Timestamp: new Date(r.hour.getTime() + 1234) }, Status: 'Success' }],
    });
    expect(outcomes.get(r.bucketId)).toEqual({ next: 'accepted', meteringRecordId: null });
    expect(outcomes.get(b.records[0]!.bucketId)!.next).toBe('retry');
  });

  it('garbage responses: empty, null, results without an echo, unknown status', () => {
    const b = batchOf(2);
    for (const resp of [undefined, null, {}, { Results: [{ Status: 'Success' as const }] }]) {
      expect([...classifyBatchResponse(b, resp).outcomes.values()].every((o) => o.next === 'retry')).toBe(true);
    }
    const weird = classifyBatchResponse(b, { Results: [{ UsageRecord: echo(b.records[0]!), Status: 'Exploded' as never }] });
    expect(weird.outcomes.get(b.records[0]!.bucketId)).toMatchObject({ next: 'failed' });
  });

  it('a success also listed as unprocessed stays accepted', () => {
    const b = batchOf(1);
    const r = b.records[0]!;
    const { outcomes } = classifyBatchResponse(b, {
      UnprocessedRecords: [echo(r)],
      Results: [{ UsageRecord: echo(r), Status: 'Success', MeteringRecordId: 'x' }],
    });
    expect(outcomes.get(r.bucketId)!.next).toBe('accepted');
  });

  it('property: every record gets exactly one outcome, whatever AWS answers', () => {
    const statuses = fc.constantFrom('Success', 'DuplicateRecord', 'CustomerNotSubscribed') as fc.Arbitrary<'Success'>;
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 25 }),
        fc.array(fc.tuple(fc.nat(30), statuses)),
        fc.array(fc.nat(30)),
        (n, results, unprocessed) => {
          const b = batchOf(n);
          const pick = (i: number) => (i < n ? echo(b.records[i]!) : { ...echo(b.records[0]!), Dimension: `x${i}` });
          const out = classifyBatchResponse(b, {
            Results: results.map(([i, s]) => ({ UsageRecord: pick(i), Status: s })),
            UnprocessedRecords: unprocessed.map(pick),
          });
          expect([...out.outcomes.keys()].sort()).toEqual(b.records.map((r) => r.bucketId).sort());
        },
      ),
    );
  });
});

describe('classifyError / classifyBatchError', () => {
  it('transient: throttling, 5xx, network, timeouts → retry', () => {
    expect(classifyError(new ThrottlingException({ message: 'slow', $metadata: {} }), 5)).toMatchObject({ next: 'retry', throttled: true });
    expect(isThrottlingError(new ThrottlingException({ message: 'slow', $metadata: {} }))).toBe(true);
    expect(isThrottlingError(sdkError('Whatever', 'client', 429))).toBe(true);
    expect(classifyError(new InternalServiceErrorException({ message: 'boom', $metadata: {} }), 5)).toMatchObject({ next: 'retry' });
    expect(classifyError(sdkError('SomeUnknownException', 'server', 503), 1)).toMatchObject({ next: 'retry' });
    expect(classifyError(Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }), 3)).toMatchObject({ next: 'retry' });
    expect(classifyError(Object.assign(new Error('t'), { name: 'TimeoutError' }), 3)).toMatchObject({ next: 'retry' });
    expect(classifyError(new Error('socket hang up'), 3)).toMatchObject({ next: 'retry' });
    expect(classifyError(sdkError('ExpiredTokenException'), 3)).toMatchObject({
      next: 'retry',
      reason: expect.stringMatching(/^credentials/),
    });
    expect(isThrottlingError(null)).toBe(false);
  });

  it('TimestampOutOfBounds: one record → expired, several → isolate', () => {
    const e = new TimestampOutOfBoundsException({ message: 'old', $metadata: {} });
    expect(classifyError(e, 1)).toMatchObject({ next: 'expired' });
    expect(classifyError(e, 2)).toMatchObject({ next: 'isolate' });
    const out = classifyBatchError(batchOf(4), e);
    expect([...out.outcomes.values()].every((o) => o.next === 'isolate')).toBe(true);
    expect(out.outcomes.size).toBe(4);
  });

  it('record-attributable rejections isolate; request-level config errors fail everything', () => {
    const dim = new InvalidUsageDimensionException({ message: 'bad dim', $metadata: {} });
    expect(classifyError(dim, 7)).toMatchObject({ next: 'isolate' });
    expect(classifyError(dim, 1)).toMatchObject({ next: 'failed', reason: expect.stringMatching(/InvalidUsageDimensionException/) });
    for (const n of [
      'InvalidTagException',
      'InvalidUsageAllocationsException',
      'InvalidCustomerIdentifierException',
      'InvalidLicenseException',
      'ValidationException',
    ]) {
      expect(classifyError(sdkError(n), 2).next).toBe('isolate');
      expect(classifyError(sdkError(n), 1).next).toBe('failed');
    }
    for (const n of ['DisabledApiException', 'InvalidProductCodeException', 'InvalidEndpointRegionException']) {
      expect(classifyError(sdkError(n), 25).next).toBe('failed');
    }
  });

  it('garbage thrown values do not crash the classifier', () => {
    for (const g of [undefined, null, 42, 'boom', {}, [], { name: 7 }, { $metadata: 'x' }])
      expect(['retry', 'failed', 'isolate']).toContain(classifyError(g, 2).next);
  });
});

describe('MeterUsage', () => {
  const r = rec(1);
  it('maps its single-record outcomes', () => {
    expect(classifyMeterUsageResponse(r, { MeteringRecordId: 'm' }).get('b1')).toEqual({ next: 'accepted', meteringRecordId: 'm' });
    expect(classifyMeterUsageError(r, sdkError('DuplicateRequestException')).get('b1')).toEqual({ next: 'duplicate' });
    expect(classifyMeterUsageError(r, sdkError('CustomerNotEntitledException')).get('b1')).toEqual({ next: 'not_subscribed' });
    expect(classifyMeterUsageError(r, sdkError('TimestampOutOfBoundsException')).get('b1')!.next).toBe('expired');
    expect(classifyMeterUsageError(r, sdkError('IdempotencyConflictException', 'client', 409)).get('b1')!.next).toBe('failed');
    expect(classifyMeterUsageError(r, sdkError('ThrottlingException')).get('b1')!.next).toBe('retry');
  });
});
