import { Readable } from 'node:stream';
import fc from 'fast-check';
import { BatchMeterUsageCommand, MarketplaceMeteringClient } from '@aws-sdk/client-marketplace-metering';
import { allocationKey, toUsageAllocations } from '../../src/metering/allocations';
import {
  MAX_REQUEST_BYTES,
  planBatches,
  planBatchesDetailed,
  requestBytes,
  serializeRequest,
  splitForIsolation,
  validatePendingRecord,
  wireRecord,
  type MeteringBatch,
  type PendingRecord,
} from '../../src/metering/record-batching';
import { toBatchMeterUsageInput } from '../../src/aws/metering.gateway';

const H = 3_600_000;
const T0 = Date.parse('2026-06-01T00:00:00Z');
const ARN = 'arn:aws:license-manager::111122223333:license:l-abc';
let seq = 0;
const legacy = (hour = 0, extra: Partial<PendingRecord> = {}): PendingRecord => ({
  bucketId: `b${seq++}`,
  productCode: 'prod-1',
  identity: { kind: 'customer-identifier', customerIdentifier: `cust-${seq}` },
  dimension: 'users',
  hour: new Date(T0 + hour * H),
  quantity: 3,
  ...extra,
});
const licensed = (hour = 0, extra: Partial<PendingRecord> = {}): PendingRecord => ({
  ...legacy(hour),
  identity: { kind: 'license', customerAWSAccountId: String(100000000000 + seq), licenseArn: ARN },
  ...extra,
});

/** The bytes the real SDK puts on the wire (no network: a recording request handler). */
async function sdkBody(input: ReturnType<typeof toBatchMeterUsageInput>): Promise<string> {
  let body = '';
  const client = new MarketplaceMeteringClient({
    region: 'us-east-1',
    credentials: { accessKeyId: 'a', secretAccessKey: 'b' },
    requestHandler: {
      handle: async (req: { body: Uint8Array }) => {
        body = new TextDecoder().decode(new Uint8Array(req.body.buffer, req.body.byteOffset, req.body.byteLength));
        return {
          response: {
            statusCode: 200,
            headers: { 'content-type': 'application/x-amz-json-1.1' },
            body: Readable.from([Buffer.from('{}')]),
          },
        };
      },
    } as never,
  });
  await client.send(new BatchMeterUsageCommand(input));
  client.destroy();
  return body;
}

describe('record building', () => {
  it('legacy vs licence identity: ProductCode only on legacy requests', () => {
    const [a] = planBatches([legacy()]);
    expect(toBatchMeterUsageInput(a!)).toMatchObject({ ProductCode: 'prod-1' });
    expect(toBatchMeterUsageInput(a!).UsageRecords![0]).not.toHaveProperty('LicenseArn');
    const [b] = planBatches([licensed()]);
    expect(b!.productCode).toBeUndefined();
    expect(toBatchMeterUsageInput(b!)).not.toHaveProperty('ProductCode');
    expect(toBatchMeterUsageInput(b!).UsageRecords![0]).toMatchObject({ LicenseArn: ARN });
    expect(toBatchMeterUsageInput(b!).UsageRecords![0]).not.toHaveProperty('CustomerIdentifier');
  });

  it('the computed size equals the real SDK body byte for byte', async () => {
    const allocations = toUsageAllocations(
      new Map([
        [allocationKey({ team: 'a b', 'x:y': '@/=' }), 2],
        ['', 1],
      ]),
    );
    // Allocations read back from a store may have their members in any order.
    const shuffled = [{ Tags: [{ Value: 'v', Key: 'k' }], AllocatedUsageQuantity: 3 }] as PendingRecord['allocations'];
    const batches = planBatches([
      legacy(0, { allocations }),
      legacy(1, { dimension: 'dïm€nsion', quantity: 0 }),
      licensed(2, { allocations: shuffled }),
      { ...licensed(3), hour: new Date(T0 + 3 * H + 678) },
      legacy(4, { dimension: 'quote"back\\slash' }),
    ]);
    for (const b of batches) {
      const body = await sdkBody(toBatchMeterUsageInput(b));
      expect(body).toBe(serializeRequest(b.productCode, b.records));
      expect(Buffer.byteLength(body)).toBe(b.approxBytes);
      expect(requestBytes(b.productCode, b.records)).toBe(b.approxBytes);
    }
    expect(
      await sdkBody(
        toBatchMeterUsageInput({
          style: 'license',
          records: [{ ...licensed(), hour: new Date('2025-01-02T03:04:05.678Z') }],
          approxBytes: 0,
        }),
      ),
    ).toContain('"Timestamp":1735787045.678');
  });

  it('rejects what AWS would reject, with reasons', () => {
    for (const q of [2147483648, 1.5, -1, Number.NaN]) expect(validatePendingRecord(legacy(0, { quantity: q })).join()).toMatch(/quantity/);
    expect(validatePendingRecord(legacy(0, { quantity: 2147483647 }))).toEqual([]);
    expect(validatePendingRecord(legacy(0, { dimension: '' })).join()).toMatch(/dimension/);
    expect(validatePendingRecord(legacy(0, { productCode: 'bad code!' })).join()).toMatch(/productCode/);
    expect(validatePendingRecord(legacy(0, { hour: new Date('nope') })).join()).toMatch(/hour/);
    expect(
      validatePendingRecord(licensed(0, { identity: { kind: 'license', customerAWSAccountId: '12ab', licenseArn: 'x' } })).length,
    ).toBe(2);
    expect(validatePendingRecord(legacy(0, { allocations: [{ AllocatedUsageQuantity: 2 }] })).join()).toMatch(/sum to 2/);
    const r = planBatchesDetailed([legacy(0, { quantity: -1 }), legacy(1)]);
    expect(r.batches).toHaveLength(1);
    expect(r.rejected).toEqual([expect.objectContaining({ kind: 'invalid' })]);
    const dupe = legacy(2);
    expect(planBatchesDetailed([dupe, dupe]).rejected[0]!.reason).toMatch(/twice/);
  });

  it('with now: expired and future records are rejected, the 24 h edge is exact', () => {
    const now = new Date(T0 + 24 * H);
    const r = planBatchesDetailed([legacy(0), legacy(0.5), legacy(25)], { now });
    expect(r.rejected.map((x) => x.kind)).toEqual(['expired', 'not-yet']);
    expect(r.batches[0]!.records).toHaveLength(1);
  });

  it('25 records fit one call, 26 need two', () => {
    const recs = Array.from({ length: 26 }, (_, i) => legacy(i % 3));
    expect(planBatches(recs.slice(0, 25)).map((b) => b.records.length)).toEqual([25]);
    expect(planBatches(recs).map((b) => b.records.length)).toEqual([25, 1]);
    expect(planBatches(recs, { maxRecords: 10 }).map((b) => b.records.length)).toEqual([10, 10, 6]);
    expect(planBatches(recs, { maxRecords: 100 }).map((b) => b.records.length)).toEqual([25, 1]);
    expect(() => planBatches(recs, { maxRecords: 0 })).toThrow(RangeError);
  });

  it('the 1 MB edge: a batch exactly at maxBytes is split, one byte under is not', () => {
    const recs = [legacy(0), legacy(0), legacy(0)];
    const size = requestBytes('prod-1', recs);
    expect(planBatches(recs, { maxBytes: size + 1 })).toHaveLength(1);
    expect(planBatches(recs, { maxBytes: size }).map((b) => b.records.length)).toEqual([2, 1]);
    expect(planBatches(recs, { maxBytes: size + 1 })[0]!.approxBytes).toBe(size);
  });

  it('a record too big for any request is rejected as oversized, not sent', () => {
    const tags = (i: number) => ({
      [`k${i}`.padEnd(100, 'k')]: 'v'.repeat(256),
      a: 'v'.repeat(256),
      b: 'v'.repeat(256),
      c: 'v'.repeat(256),
      d: 'v'.repeat(256),
    });
    const allocations = Array.from({ length: 2500 }, (_, i) => ({
      AllocatedUsageQuantity: 1,
      Tags: Object.entries(tags(i)).map(([Key, Value]) => ({ Key, Value })),
    }));
    const r = planBatchesDetailed([legacy(0, { quantity: 2500, allocations }), legacy(0)]);
    expect(r.rejected.map((x) => x.kind)).toEqual(['oversized']);
    expect(r.batches).toHaveLength(1);
  });

  it('never puts two records with the same customer/dimension/hour in one call', () => {
    const a = legacy(0);
    const b = { ...a, bucketId: 'other', quantity: 9 };
    expect(planBatches([a, b]).map((x) => x.records.length)).toEqual([1, 1]);
  });

  it('splitForIsolation halves, keeps order and style, recomputes size, null for one record', () => {
    const [batch] = planBatches(Array.from({ length: 5 }, (_, i) => licensed(i)));
    const [l, r] = splitForIsolation(batch!)!;
    expect(l.records.map((x) => x.bucketId).concat(r.records.map((x) => x.bucketId))).toEqual(batch!.records.map((x) => x.bucketId));
    expect([l.records.length, r.records.length]).toEqual([3, 2]);
    expect(l.style).toBe('license');
    expect(l).not.toHaveProperty('productCode');
    expect(l.approxBytes).toBe(requestBytes(undefined, l.records));
    expect(splitForIsolation(splitForIsolation(r)![0])).toBeNull();
  });
});

describe('record batching: properties', () => {
  const bigAllocations = (n: number, width: number) =>
    Array.from({ length: n }, (_, i) => ({
      AllocatedUsageQuantity: 1,
      Tags: [
        { Key: `k${i}`, Value: 'v'.repeat(width) },
        { Key: 'x', Value: 'y'.repeat(width) },
      ],
    }));
  const recordArb = fc
    .record({
      style: fc.boolean(),
      product: fc.constantFrom('p-a', 'p-b', 'p-c'),
      customer: fc.integer({ min: 1, max: 6 }),
      dimension: fc.constantFrom('users', 'gb', 'hosts'),
      hour: fc.integer({ min: 0, max: 30 }),
      allocs: fc.oneof(fc.constant(0), fc.constant(0), fc.integer({ min: 1, max: 2500 })),
      width: fc.integer({ min: 1, max: 256 }),
    })
    .map(({ style, product, customer, dimension, hour, allocs, width }) => {
      const base = (style ? licensed : legacy)(hour, { productCode: product, dimension });
      const identity = style
        ? ({ kind: 'license', customerAWSAccountId: String(customer), licenseArn: ARN } as const)
        : ({ kind: 'customer-identifier', customerIdentifier: `c${customer}` } as const);
      return allocs === 0
        ? { ...base, identity }
        : { ...base, identity, quantity: allocs, allocations: bigAllocations(allocs, Math.min(width, 60)) };
    });

  it('every record in exactly one batch; ≤25 per batch; < 1 MB; one product and style; hour order kept', () => {
    fc.assert(
      fc.property(fc.array(recordArb, { maxLength: 120 }), (records) => {
        const { batches, rejected } = planBatchesDetailed(records);
        expect(rejected).toEqual([]);
        const seen = batches.flatMap((b) => b.records.map((r) => r.bucketId));
        expect(seen.sort()).toEqual(records.map((r) => r.bucketId).sort());
        let lastFirstHour = -Infinity;
        const lastHourByGroup = new Map<string, number>();
        for (const b of batches) {
          check(b);
          const first = b.records[0]!.hour.getTime();
          expect(first).toBeGreaterThanOrEqual(lastFirstHour); // oldest first
          lastFirstHour = first;
          const group = b.style + b.records[0]!.productCode;
          expect(first).toBeGreaterThanOrEqual(lastHourByGroup.get(group) ?? -Infinity);
          lastHourByGroup.set(group, b.records[b.records.length - 1]!.hour.getTime());
        }
      }),
      { numRuns: 60 },
    );
  });

  function check(b: MeteringBatch): void {
    expect(b.records.length).toBeGreaterThan(0);
    expect(b.records.length).toBeLessThanOrEqual(25);
    expect(b.approxBytes).toBe(requestBytes(b.productCode, b.records));
    expect(b.approxBytes).toBeLessThan(MAX_REQUEST_BYTES);
    expect(new Set(b.records.map((r) => r.productCode)).size).toBe(1);
    expect(new Set(b.records.map((r) => r.identity.kind)).size).toBe(1);
    expect(b.style).toBe(b.records[0]!.identity.kind);
    if (b.style === 'customer-identifier') expect(b.productCode).toBe(b.records[0]!.productCode);
    else expect(b.productCode).toBeUndefined();
    const input = toBatchMeterUsageInput(b);
    expect('ProductCode' in input).toBe(b.style === 'customer-identifier');
    const hours = b.records.map((r) => r.hour.getTime());
    expect(hours).toEqual([...hours].sort((x, y) => x - y));
    const keys = b.records.map((r) =>
      JSON.stringify(wireRecord(r), ['CustomerIdentifier', 'CustomerAWSAccountId', 'LicenseArn', 'Dimension', 'Timestamp']),
    );
    expect(new Set(keys).size).toBe(keys.length);
  }

  it('split halves partition the batch and still satisfy every rule', () => {
    fc.assert(
      fc.property(fc.array(recordArb, { minLength: 1, maxLength: 60 }), (records) => {
        for (const b of planBatches(records)) {
          const halves = splitForIsolation(b);
          if (b.records.length === 1) expect(halves).toBeNull();
          else for (const h of halves!) check(h);
        }
      }),
      { numRuns: 30 },
    );
  });
});
