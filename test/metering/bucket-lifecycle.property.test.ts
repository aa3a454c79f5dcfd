import fc from 'fast-check';
import { CustomerRepository } from '../../src/customers/customer.repository';
import type { MeterBucket } from '../../src/metering/bucket';
import { BucketRepository } from '../../src/metering/bucket.repository';
import { BUCKET_STATES, canMove, RESULT_TRANSITIONS, TRANSITIONS, type ResultTransition } from '../../src/metering/bucket-lifecycle';
import { BucketTransitions } from '../../src/metering/bucket-transitions.repository';
import { serializeRequest, type PendingRecord, type RecordIdentity } from '../../src/metering/record-batching';
import { openTestStore, type TestStore } from '../support/stores';

/**
 * The bucket lifecycle driven at random through the real repository (SQLite): whatever sequence
 * of moves is attempted — stale ones, repeated ones, moves from the wrong state, two owners — every
 * change the store accepts is one the transition table allows, a frozen quantity, allocation,
 * identity or Timestamp never changes, and every send of a record is byte-identical to the first.
 */
const IDENTITIES: RecordIdentity[] = [
  { kind: 'customer-identifier', customerIdentifier: 'cust-1' },
  { kind: 'license', customerAWSAccountId: '123456789012', licenseArn: 'arn:aws:license-manager::123456789012:license:l-1' },
];

type Op =
  | { op: 'usage'; n: number }
  | { op: 'seal'; quantity: number | null; identity: number | null; stale: boolean; hold: boolean }
  | { op: 'complete'; quantity: number | null; identity: number | null; stillMissing: boolean }
  | { op: 'expireHeld' }
  | { op: 'failHeld' }
  | { op: 'reject'; stale: boolean }
  | { op: 'claim'; owner: number; advanceMs: number }
  | { op: 'result'; owner: number; move: ResultTransition }
  | { op: 'release' }
  | { op: 'requeue' };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ op: fc.constant('usage' as const), n: fc.integer({ min: 1, max: 5 }) }),
  fc.record({
    op: fc.constant('seal' as const),
    quantity: fc.option(fc.integer({ min: 0, max: 1000 }), { nil: null }),
    identity: fc.option(fc.integer({ min: 0, max: 1 }), { nil: null }),
    stale: fc.boolean(),
    hold: fc.boolean(),
  }),
  fc.record({
    op: fc.constant('complete' as const),
    quantity: fc.option(fc.integer({ min: 0, max: 1000 }), { nil: null }),
    identity: fc.option(fc.integer({ min: 0, max: 1 }), { nil: null }),
    stillMissing: fc.boolean(),
  }),
  fc.constant({ op: 'expireHeld' as const }),
  fc.constant({ op: 'failHeld' as const }),
  fc.record({ op: fc.constant('reject' as const), stale: fc.boolean() }),
  fc.record({ op: fc.constant('claim' as const), owner: fc.integer({ min: 0, max: 1 }), advanceMs: fc.constantFrom(0, 1_000, 200_000) }),
  fc.record({ op: fc.constant('result' as const), owner: fc.integer({ min: 0, max: 1 }), move: fc.constantFrom(...RESULT_TRANSITIONS) }),
  fc.constant({ op: 'release' as const }),
  fc.constant({ op: 'requeue' as const }),
);

function wire(b: MeterBucket): string {
  const record: PendingRecord = {
    bucketId: b.id,
    productCode: b.productCode,
    identity: b.identity!,
    dimension: b.dimension,
    hour: b.recordTimestamp,
    quantity: b.quantity!,
    allocations: b.allocations,
  };
  return serializeRequest(b.identity!.kind === 'customer-identifier' ? b.productCode : undefined, [record]);
}

describe('bucket lifecycle, random move sequences through the repository (sqlite)', () => {
  let t: TestStore;
  let buckets: BucketRepository;
  let moves: BucketTransitions;
  let customerId: string;
  let run = 0;
  const LEASE_MS = 120_000;
  beforeAll(async () => {
    t = await openTestStore('sqlite');
    buckets = new BucketRepository(t.store.db, t.store.dialect);
    moves = new BucketTransitions(t.store.db, t.store.dialect);
    const c = await new CustomerRepository(t.store.db).upsert(
      { productCode: 'prod-1', customerIdentifier: 'cust-1' },
      new Date('2026-03-10T00:00:00Z'),
    );
    customerId = c.id;
  });
  afterAll(async () => t.dispose());

  it('every accepted change is allowed, frozen content never changes, every send is byte-identical', async () => {
    const allowed = new Set(BUCKET_STATES.flatMap((from) => BUCKET_STATES.filter((to) => canMove(from, to)).map((to) => `${from}>${to}`)));
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: 40 }), async (ops) => {
        const hour = new Date(Date.parse('2026-03-10T00:00:00Z') + run++ * 3_600_000);
        let now = new Date(hour.getTime() + 3_600_000);
        await buckets.insertMissing([{ customerId, productCode: 'prod-1', dimension: 'calls', hour, api: 'batch', mode: 'sum' }], now);
        const initial = (await buckets.list({ customerId, from: hour, to: new Date(hour.getTime() + 1), limit: 1 }))[0]!;
        let prev = initial;
        let firstSend: string | undefined;
        const frozen: { quantity?: string; identity?: string; timestamp?: number } = {};
        for (const o of ops) {
          const cur = (await buckets.findById(initial.id))!;
          const owner = `owner-${'owner' in o ? o.owner : 0}`;
          switch (o.op) {
            case 'usage':
              await t.store.db.transaction().execute((tx) => buckets.updateAggregate(tx, cur.id, cur.aggregate, o.n, now));
              break;
            case 'seal': {
              const q = o.quantity === null ? null : { quantity: o.quantity, allocations: undefined };
              const identity = o.identity === null ? null : IDENTITIES[o.identity]!;
              const complete = q !== null && identity !== null;
              await moves.sealOrHold(
                t.store.db,
                { id: cur.id, usageCount: cur.usageCount + (o.stale ? 1 : 0) },
                { quantity: q, identity, recordTimestamp: hour },
                complete && !o.hold ? null : { reason: 'waiting', nextCheckAt: now },
                now,
              );
              break;
            }
            case 'complete': {
              const fill = {
                ...(o.quantity === null ? {} : { quantity: { quantity: o.quantity, allocations: undefined } }),
                ...(o.identity === null ? {} : { identity: IDENTITIES[o.identity]! }),
              };
              const completes = (cur.quantity !== null || fill.quantity) && (cur.identity !== null || fill.identity);
              await moves.completeOrRecheck(
                t.store.db,
                cur.id,
                fill,
                completes && !o.stillMissing ? null : { reason: 'still', nextCheckAt: now },
                now,
              );
              break;
            }
            case 'expireHeld':
              await moves.expireHeld(cur.id, 'window closed', now);
              break;
            case 'failHeld':
              await moves.failHeld(cur.id, 'product gone', now);
              break;
            case 'reject':
              await moves.reject(t.store.db, { id: cur.id, usageCount: cur.usageCount + (o.stale ? 1 : 0) }, 'unbillable', now);
              break;
            case 'claim': {
              now = new Date(now.getTime() + o.advanceMs);
              const claimed = (await moves.claimDue(owner, now, LEASE_MS, 1000)).filter((b) => b.id === cur.id);
              for (const b of claimed) {
                // What goes on the wire: the first send and every resend are the same bytes.
                const bytes = wire(b);
                firstSend ??= bytes;
                expect(bytes).toBe(firstSend);
              }
              break;
            }
            case 'result':
              await moves.recordResults(
                owner,
                [{ id: cur.id, move: o.move, lastError: o.move, meteringRecordId: 'mr', nextAttemptAt: now }],
                now,
              );
              break;
            case 'release':
              await moves.releaseAllSending(now);
              break;
            case 'requeue':
              await buckets.requeue(cur.id, now);
              break;
          }
          const next = (await buckets.findById(initial.id))!;
          if (next.state !== prev.state) expect(allowed).toContain(`${prev.state}>${next.state}`);
          // Only complete records are ever sealed or sent.
          if (['sealed', 'sending', 'accepted'].includes(next.state)) {
            expect(next.quantity).not.toBeNull();
            expect(next.identity).not.toBeNull();
          }
          if (next.state === 'sending') expect(next.leaseOwner).not.toBeNull();
          // Frozen parts never change once written.
          if (frozen.quantity !== undefined) expect(JSON.stringify([next.quantity, next.allocations ?? null])).toBe(frozen.quantity);
          else if (next.quantity !== null) frozen.quantity = JSON.stringify([next.quantity, next.allocations ?? null]);
          if (frozen.identity !== undefined) expect(JSON.stringify(next.identity)).toBe(frozen.identity);
          else if (next.identity !== null) frozen.identity = JSON.stringify(next.identity);
          if (frozen.timestamp !== undefined) expect(next.recordTimestamp.getTime()).toBe(frozen.timestamp);
          else if (next.state !== 'open') frozen.timestamp = next.recordTimestamp.getTime();
          // Usage is frozen once the bucket leaves open.
          if (prev.state !== 'open') expect(next.usageCount).toBe(prev.usageCount);
          prev = next;
        }
      }),
      { numRuns: 150 },
    );
  }, 120_000);

  it('the table: each move names existing states, final states only leave by an operator requeue', () => {
    for (const [name, t] of Object.entries(TRANSITIONS)) {
      for (const from of t.from) expect(BUCKET_STATES).toContain(from);
      expect(BUCKET_STATES).toContain(t.to);
      if (t.from.some((s) => ['accepted', 'duplicate', 'expired'].includes(s))) throw new Error(`${name} leaves a final state`);
    }
    expect(canMove('open', 'sending')).toBe(false);
    expect(canMove('held', 'sending')).toBe(false);
    expect(canMove('accepted', 'sealed')).toBe(false);
    expect(canMove('sealed', 'open')).toBe(false);
  });
});
