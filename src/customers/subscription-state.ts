/**
 * The subscription state machine (pure: no I/O, no clock).
 *
 * AWS rules served (facts §5.2, §5.4; seed "Surveiller les modifications apportées aux abonnements"):
 * - `subscribe-success` / `License Updated`: metering may start. Records sent before it are not billed.
 * - `subscribe-fail`: no access, no metering; the customer is kept for support.
 * - `unsubscribe-pending`, `Purchase Agreement Ended`, empty entitlements: the final-metering window
 *   (about one hour) opens. `unsubscribe-success` / `License Deprovisioned`: no record is accepted after.
 * - Re-subscribe race: unsubscribe-pending then a later subscribe-success means active again.
 *
 * Order: SQS and EventBridge deliver out of order and more than once. Events are totally ordered by
 * (event time, {@link TRANSITION_RANK}, LicenseArn). The state is a function of the *set* of events
 * received, whatever their delivery order and duplicates; it keeps three small "registers"
 * (`decisive`, `window`, `licenseStamp`) plus the earliest activation, which is exactly what is needed
 * for that. An event older than the one that set the current status is `stale` and changes nothing,
 * except in the cases where the older event is still needed to reach the same answer as in-order
 * delivery (an older end that follows the last activation closes a window opened by a later signal;
 * an older activation fills in `activatedAt`); those are reported `applied` with a `note`.
 */

export type SubscriptionStatus = 'pending' | 'active' | 'unsubscribe_pending' | 'unsubscribed' | 'failed';

export type TransitionKind =
  | 'subscribe-success'
  | 'subscribe-fail'
  | 'unsubscribe-pending'
  | 'unsubscribe-success'
  | 'license-updated'
  | 'license-deprovisioned'
  | 'agreement-ended'
  | 'entitlements-empty';

/** One input event, reduced to what the state machine needs. */
export type StatusTransition = { kind: TransitionKind; eventTime: Date; licenseArn?: string };

/**
 * Position of an event in the total order: compared by `eventTime`, then `rank`, then `tie`.
 * Stored inside the state as bookkeeping; persist it as it is.
 */
export interface StatusStamp {
  kind: TransitionKind;
  eventTime: Date;
  /** {@link TRANSITION_RANK} of `kind`. */
  rank: number;
  /** Final tie-breaker: the event's LicenseArn, or `''`. */
  tie: string;
}

/** The subscription state of one customer. */
export interface SubscriptionState {
  status: SubscriptionStatus;
  /** Event time of the event that set the current status (null: none yet). */
  statusEventTime: Date | null;
  /** {@link TRANSITION_RANK} of that event (tie-breaker for equal times); undefined: none yet. */
  statusEventRank?: number;
  /** When the currently open final-metering window opened; for an end by License Deprovisioned, its time; else null. */
  finalWindowOpenedAt: Date | null;
  /** Event time of the unsubscribe-success / License Deprovisioned that ended the subscription (null unless ended). */
  endedAt: Date | null;
  /** Earliest activation (subscribe-success / License Updated) ever received: metering allowed from then. */
  activatedAt: Date | null;
  /** LicenseArn of the latest event that carried one. */
  licenseArn?: string | null;
  /** Bookkeeping: latest activation, fail or end event. Default null. */
  decisive?: StatusStamp | null;
  /** Bookkeeping: latest window signal, kept only while newer than `decisive`. Default null. */
  window?: StatusStamp | null;
  /** Bookkeeping: the event that supplied `licenseArn`. Default null. */
  licenseStamp?: StatusStamp | null;
}

export const initialSubscriptionState: SubscriptionState = Object.freeze({
  status: 'pending',
  statusEventTime: null,
  finalWindowOpenedAt: null,
  endedAt: null,
  activatedAt: null,
  licenseArn: null,
  decisive: null,
  window: null,
  licenseStamp: null,
}) as SubscriptionState;

export type DomainEffect = 'customer-activated' | 'final-window-opened' | 'customer-ended' | 'customer-failed';

export type TransitionOutcome =
  | { outcome: 'applied'; state: SubscriptionState; effects: DomainEffect[]; note?: string }
  | { outcome: 'stale'; state: SubscriptionState; reason: string }
  | { outcome: 'ignored'; state: SubscriptionState; reason: string };

/**
 * Tie-breaker for events with the same event time: the lifecycle order (grant < window < fail < end),
 * so that a revoke wins over a grant with the same timestamp. An ambiguous tie must never leave a
 * departed customer billable (facts §5.2: no record is accepted after unsubscribe-success).
 */
export const TRANSITION_RANK: Readonly<Record<TransitionKind, number>> = Object.freeze({
  'license-updated': 1,
  'subscribe-success': 2,
  'entitlements-empty': 3,
  'agreement-ended': 4,
  'unsubscribe-pending': 5,
  'subscribe-fail': 6,
  'unsubscribe-success': 7,
  'license-deprovisioned': 8,
});

type Category = 'activation' | 'window' | 'fail' | 'end';

function categoryOf(kind: TransitionKind): Category {
  switch (kind) {
    case 'subscribe-success':
    case 'license-updated':
      return 'activation';
    case 'unsubscribe-pending':
    case 'agreement-ended':
    case 'entitlements-empty':
      return 'window';
    case 'subscribe-fail':
      return 'fail';
    case 'unsubscribe-success':
    case 'license-deprovisioned':
      return 'end';
  }
}

/** The stamp of a transition (its position in the total order). */
export function stampOf(t: StatusTransition): StatusStamp {
  return { kind: t.kind, eventTime: t.eventTime, rank: TRANSITION_RANK[t.kind], tie: t.licenseArn ?? '' };
}

/** Total order on stamps: negative if a is before b, 0 if same position, positive if after. */
export function compareStamps(a: StatusStamp, b: StatusStamp): number {
  const dt = a.eventTime.getTime() - b.eventTime.getTime();
  if (dt !== 0) return dt;
  if (a.rank !== b.rank) return a.rank - b.rank;
  return a.tie < b.tie ? -1 : a.tie > b.tie ? 1 : 0;
}

/** Total order on transitions (sort with it to replay a history in time order). */
export function compareTransitions(a: StatusTransition, b: StatusTransition): number {
  return compareStamps(stampOf(a), stampOf(b));
}

const after = (a: StatusStamp, b: StatusStamp | null): boolean => b === null || compareStamps(a, b) > 0;

interface Registers {
  decisive: StatusStamp | null;
  window: StatusStamp | null;
  licenseStamp: StatusStamp | null;
  activatedAt: Date | null;
}

/** Registers of a state; rebuilds them from the visible fields when the bookkeeping is missing. */
function registersOf(s: SubscriptionState): Registers {
  let decisive = s.decisive ?? null;
  let window = s.window ?? null;
  // States stored without bookkeeping (or set outside this module) still have a status event: rebuild.
  if (decisive === null && window === null && s.statusEventTime !== null && s.status !== 'pending') {
    const stamp = legacyStamp(s.status, s.statusEventTime, s.statusEventRank);
    if (s.status === 'unsubscribe_pending') window = stamp;
    else decisive = stamp;
  }
  const licenseArn = s.licenseArn ?? null;
  const licenseStamp =
    s.licenseStamp ??
    (licenseArn && s.statusEventTime ? { ...stampOf({ kind: 'license-updated', eventTime: s.statusEventTime }), tie: licenseArn } : null);
  return { decisive, window, licenseStamp, activatedAt: s.activatedAt };
}

function legacyStamp(status: SubscriptionStatus, eventTime: Date, rank: number | undefined): StatusStamp {
  const byRank = (Object.keys(TRANSITION_RANK) as TransitionKind[]).find((k) => TRANSITION_RANK[k] === rank);
  const byStatus: Record<SubscriptionStatus, TransitionKind> = {
    pending: 'subscribe-success',
    active: 'subscribe-success',
    unsubscribe_pending: 'unsubscribe-pending',
    unsubscribed: 'unsubscribe-success',
    failed: 'subscribe-fail',
  };
  return stampOf({ kind: byRank ?? byStatus[status], eventTime });
}

/** The visible state as a pure function of the registers. */
function derive(r: Registers): SubscriptionState {
  const { decisive: d, window: w } = r;
  // A window signal only opens a window over an activation (or when nothing decisive is known yet):
  // after an end or a fail it is kept aside and never reopens anything by itself (facts §5.2).
  const windowOpen = w !== null && (d === null || categoryOf(d.kind) === 'activation');
  const statusStamp = windowOpen ? w : d;
  let status: SubscriptionStatus = 'pending';
  let finalWindowOpenedAt: Date | null = null;
  let endedAt: Date | null = null;
  if (windowOpen && w) {
    status = 'unsubscribe_pending';
    finalWindowOpenedAt = w.eventTime;
  } else if (d) {
    const c = categoryOf(d.kind);
    status = c === 'activation' ? 'active' : c === 'fail' ? 'failed' : 'unsubscribed';
    if (c === 'end') {
      endedAt = d.eventTime;
      // License Deprovisioned is itself a final-window signal (facts §5.4: the docs conflict on whether
      // the hour comes before or after it); it opens and closes at once here.
      if (d.kind === 'license-deprovisioned') finalWindowOpenedAt = d.eventTime;
    }
  }
  const state: SubscriptionState = {
    status,
    statusEventTime: statusStamp ? statusStamp.eventTime : null,
    finalWindowOpenedAt,
    endedAt,
    activatedAt: r.activatedAt,
    licenseArn: r.licenseStamp ? r.licenseStamp.tie : null,
    decisive: d,
    window: w,
    licenseStamp: r.licenseStamp,
  };
  if (statusStamp) state.statusEventRank = statusStamp.rank;
  return state;
}

function merge(r: Registers, s: StatusStamp): Registers {
  let { decisive, window, licenseStamp, activatedAt } = r;
  const c = categoryOf(s.kind);
  if (c === 'window') {
    if (after(s, decisive) && after(s, window)) window = s;
  } else if (after(s, decisive)) {
    decisive = s;
    // A window older than the latest decisive event can never matter again.
    if (window && !after(window, decisive)) window = null;
  }
  if (c === 'activation' && (activatedAt === null || s.eventTime < activatedAt)) activatedAt = s.eventTime;
  if (s.tie !== '' && after(s, licenseStamp)) licenseStamp = s;
  return { decisive, window, licenseStamp, activatedAt };
}

const sameTime = (a: Date | null | undefined, b: Date | null | undefined): boolean =>
  (a ?? null) === null ? (b ?? null) === null : (b ?? null) !== null && a!.getTime() === b!.getTime();
const sameStamp = (a: StatusStamp | null | undefined, b: StatusStamp | null | undefined): boolean =>
  (a ?? null) === null ? (b ?? null) === null : (b ?? null) !== null && compareStamps(a!, b!) === 0 && a!.kind === b!.kind;

/** True when two states are the same in every field (visible and bookkeeping). */
export function sameSubscriptionState(a: SubscriptionState, b: SubscriptionState): boolean {
  return (
    a.status === b.status &&
    sameTime(a.statusEventTime, b.statusEventTime) &&
    a.statusEventRank === b.statusEventRank &&
    sameTime(a.finalWindowOpenedAt, b.finalWindowOpenedAt) &&
    sameTime(a.endedAt, b.endedAt) &&
    sameTime(a.activatedAt, b.activatedAt) &&
    (a.licenseArn ?? null) === (b.licenseArn ?? null) &&
    sameStamp(a.decisive, b.decisive) &&
    sameStamp(a.window, b.window) &&
    sameStamp(a.licenseStamp, b.licenseStamp)
  );
}

/** What a move from `prev` to `next` means for the rest of the service (metering flush, webhooks). */
export function effectsOf(prev: SubscriptionState, next: SubscriptionState): DomainEffect[] {
  if (prev.status === next.status) return [];
  switch (next.status) {
    case 'active':
      return ['customer-activated'];
    case 'unsubscribe_pending':
      return ['final-window-opened'];
    case 'failed':
      return ['customer-failed'];
    case 'unsubscribed':
      // License Deprovisioned on an active customer: the final window opens and the customer ends at
      // once, so flush now (facts §5.4 "flush on Purchase Agreement Ended, and again on License Deprovisioned").
      return prev.status === 'active' && next.decisive?.kind === 'license-deprovisioned'
        ? ['final-window-opened', 'customer-ended']
        : ['customer-ended'];
    case 'pending':
      return [];
  }
}

/** The stamp of the event that set the current status (null: none yet). */
function statusStampOf(s: SubscriptionState): StatusStamp | null {
  const r = registersOf(s);
  const windowOpen = r.window !== null && (r.decisive === null || categoryOf(r.decisive.kind) === 'activation');
  return windowOpen ? r.window : r.decisive;
}

/**
 * Applies one event. Persist `state` when the outcome is `applied`; `stale` and `ignored` return the
 * input state unchanged (record the event with that outcome and the reason).
 */
export function applyTransition(state: SubscriptionState, t: StatusTransition): TransitionOutcome {
  if (!(t.eventTime instanceof Date) || Number.isNaN(t.eventTime.getTime())) {
    return { outcome: 'ignored', state, reason: 'event time is not a valid date' };
  }
  if (!(t.kind in TRANSITION_RANK)) return { outcome: 'ignored', state, reason: `unknown transition kind ${String(t.kind)}` };
  const stamp = stampOf(t);
  const current = statusStampOf(state);
  const older = current !== null && compareStamps(stamp, current) < 0;
  const registers = registersOf(state);
  const next = derive(merge(registers, stamp));
  // Compare with the normalized input, so that states stored without bookkeeping compare fairly.
  if (sameSubscriptionState(derive(registers), next)) {
    if (older) {
      const at = current.eventTime.toISOString();
      return {
        outcome: 'stale',
        state,
        reason: `${t.kind} at ${t.eventTime.toISOString()} is older than the ${current.kind} at ${at} that set status ${state.status}`,
      };
    }
    return { outcome: 'ignored', state, reason: `${t.kind} changes nothing (duplicate, or status ${state.status} already reflects it)` };
  }
  const effects = effectsOf(state, next);
  let note: string | undefined;
  if (older) note = 'older than the status event, yet needed so that any delivery order gives the same state';
  else if (categoryOf(t.kind) === 'window' && next.status !== 'unsubscribe_pending')
    note = 'a window signal after an end or fail does not reopen a window; kept in case an earlier re-subscription arrives late';
  return note === undefined ? { outcome: 'applied', state: next, effects } : { outcome: 'applied', state: next, effects, note };
}

/** Applies events in the given order and returns the final state. */
export function foldTransitions(state: SubscriptionState, ts: Iterable<StatusTransition>): SubscriptionState {
  let s = state;
  for (const t of ts) s = applyTransition(s, t).state;
  return s;
}

/**
 * May usage at time `at` be metered for this customer? True when active, or in an open final window
 * (not ended), and `at` is not before the first activation (facts §5.2: records sent before
 * subscribe-success are not billed; none are accepted after unsubscribe-success).
 */
export function meteringAllowed(state: SubscriptionState, at: Date): boolean {
  if (state.status !== 'active' && state.status !== 'unsubscribe_pending') return false;
  if (state.endedAt !== null || state.activatedAt === null) return false;
  return at.getTime() >= state.activatedAt.getTime();
}

/**
 * May the usage ledger still accept usage at time `at`? Everything {@link meteringAllowed} allows,
 * plus, for a subscription ended by License Deprovisioned (which opens and closes the final window
 * at once, so the final flush is still to come), usage timestamped from the activation up to, not
 * including, the end (design §3.5). The final flush is not part of this state: the ledger refuses
 * with `final_metering_done` once it is done. Usage timestamped at or after the end, and any usage
 * after an unsubscribe-success (no final window pending), is never allowed.
 */
export function usageAcceptable(state: SubscriptionState, at: Date): boolean {
  if (meteringAllowed(state, at)) return true;
  if (state.status !== 'unsubscribed' || state.endedAt === null || state.finalWindowOpenedAt === null || state.activatedAt === null)
    return false;
  return at.getTime() >= state.activatedAt.getTime() && at.getTime() < state.endedAt.getTime();
}
