/**
 * The life of an hour bucket, as one state machine (design §2, §3). Pure: every state, every
 * allowed move are here; `bucket-transitions.repository.ts` performs each move
 * as one conditional UPDATE (`WHERE state IN (from)`), so two instances, or a restarted one, can
 * never both move the same bucket, and no code path can make a move this table does not list.
 *
 * ```
 *            ┌──────── hold ────────┐
 *   open ──seal──▶ sealed ◀──complete── held ──expireHeld / failHeld──▶ expired | failed
 *     │              │  ▲                 ▲ └─recheck─┘
 *     │            claim retry/release    │
 *     │              ▼  │                 │
 *     │            sending ──accept / duplicate / notSubscribed / expire / fail──▶ final
 *     └──reject──▶ failed ──requeue──▶ sealed (held when incomplete; not_subscribed too: operator action)
 * ```
 *
 * Invariants (property-tested in `test/metering/bucket-lifecycle.property.test.ts`):
 *  - a bucket's usage is frozen when it leaves `open`; its quantity, allocations, identity and
 *    record Timestamp are frozen when it reaches `sealed`, and never change afterwards, so every
 *    send of a record, first or resend, is byte-identical (AWS dedupes it, facts §1.6);
 *  - a `held` bucket has usage frozen but waits for what its record lacks (an overage
 *    dimension's entitlement, the customer's metering identity); `holdReason` says what;
 *  - only `sending` buckets are on the wire, and only under a lease.
 */

export const BUCKET_STATES = ['open', 'sealed', 'held', 'sending', 'accepted', 'duplicate', 'not_subscribed', 'expired', 'failed'] as const;
export type BucketState = (typeof BUCKET_STATES)[number];

/** Every move, by name: from which states, to which state. */
export const TRANSITIONS = {
  /** The hour is over and the record is complete: quantity, allocations, identity and Timestamp frozen. */
  seal: { from: ['open'], to: 'sealed' },
  /** The hour is over but the record lacks something (entitlement, identity): usage frozen, it waits. */
  hold: { from: ['open'], to: 'held' },
  /** The hour can never be billed (its product is no longer configured, its customer row is gone). */
  reject: { from: ['open'], to: 'failed' },
  /** What a held record waited for is known: the missing parts frozen, write-once. */
  complete: { from: ['held'], to: 'sealed' },
  /** Still waiting: a new reason, a new time to look again. */
  recheck: { from: ['held'], to: 'held' },
  /** The AWS window closed while it waited. */
  expireHeld: { from: ['held'], to: 'expired' },
  /** It waited for something that can no longer come (the product was removed). */
  failHeld: { from: ['held'], to: 'failed' },
  /** Taken for a call, under a lease; a `sending` bucket whose lease expired is taken over (its call may have died). */
  claim: { from: ['sealed', 'sending'], to: 'sending' },
  /** The call did not settle it: back in the queue with a next attempt time. */
  retry: { from: ['sending'], to: 'sealed' },
  /** Start-up on a single instance: every interrupted send is due again. */
  release: { from: ['sending'], to: 'sealed' },
  accept: { from: ['sending'], to: 'accepted' },
  duplicate: { from: ['sending'], to: 'duplicate' },
  notSubscribed: { from: ['sending'], to: 'not_subscribed' },
  expire: { from: ['sending'], to: 'expired' },
  fail: { from: ['sending'], to: 'failed' },
  /** Operator action: try a failed or not-subscribed record again, unchanged. */
  requeue: { from: ['failed', 'not_subscribed'], to: 'sealed' },
  /** Operator action on a failed record that never had its quantity or identity: complete it first. */
  requeueIncomplete: { from: ['failed'], to: 'held' },
} as const satisfies Record<string, { readonly from: readonly BucketState[]; readonly to: BucketState }>;

export type TransitionName = keyof typeof TRANSITIONS;

/** The moves that settle a call's record (what `BucketRepository.recordResults` may write). */
export const RESULT_TRANSITIONS = [
  'retry',
  'accept',
  'duplicate',
  'notSubscribed',
  'expire',
  'fail',
] as const satisfies readonly TransitionName[];
export type ResultTransition = (typeof RESULT_TRANSITIONS)[number];

/** True when some move leads from `from` to `to`. */
export function canMove(from: BucketState, to: BucketState): boolean {
  return Object.values(TRANSITIONS).some((t) => t.to === to && (t.from as readonly BucketState[]).includes(from));
}

/** How one record of a call is settled (see `outcome-transitions.ts`). */
export interface ResultWrite {
  readonly id: string;
  readonly move: ResultTransition;
  readonly lastError: string | null;
  /** `accept`: AWS's id of the record. */
  readonly meteringRecordId?: string | null;
  /** `retry`: when to try again. */
  readonly nextAttemptAt?: Date;
  /** `retry`: start a new backoff budget. */
  readonly resetBudget?: boolean;
  readonly awsRequestId?: string | null;
  /** A call that failed the record: its operation, HTTP status and time, for the support report (migration 0010). */
  readonly failedCall?: { readonly operation: string; readonly httpStatus: number | null; readonly at: Date };
}
