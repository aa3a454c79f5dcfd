import fc from 'fast-check';
import {
  applyTransition,
  compareTransitions,
  foldTransitions,
  initialSubscriptionState,
  meteringAllowed,
  sameSubscriptionState,
  TRANSITION_RANK,
  type StatusTransition,
  type SubscriptionState,
  type TransitionKind,
} from '../../src/customers/subscription-state';

const T0 = Date.parse('2026-03-01T10:00:00.000Z');
const at = (minutes: number): Date => new Date(T0 + minutes * 60_000);
const ev = (kind: TransitionKind, minutes: number, licenseArn?: string): StatusTransition =>
  licenseArn === undefined ? { kind, eventTime: at(minutes) } : { kind, eventTime: at(minutes), licenseArn };
const run = (...ts: StatusTransition[]): SubscriptionState => foldTransitions(initialSubscriptionState, ts);

describe('subscription state: the AWS rules (facts §5.2, §5.4)', () => {
  it('starts pending, with no metering', () => {
    expect(initialSubscriptionState.status).toBe('pending');
    expect(meteringAllowed(initialSubscriptionState, at(0))).toBe(false);
  });

  it('subscribe-success activates and allows metering from its time', () => {
    const r = applyTransition(initialSubscriptionState, ev('subscribe-success', 5));
    expect(r.outcome).toBe('applied');
    if (r.outcome !== 'applied') return;
    expect(r.effects).toEqual(['customer-activated']);
    expect(r.state).toMatchObject({ status: 'active', activatedAt: at(5), statusEventTime: at(5) });
    expect(meteringAllowed(r.state, at(5))).toBe(true);
    expect(meteringAllowed(r.state, at(4))).toBe(false);
  });

  it('subscribe-fail: failed, no metering', () => {
    const r = applyTransition(initialSubscriptionState, ev('subscribe-fail', 1));
    expect(r.outcome === 'applied' && r.effects).toEqual(['customer-failed']);
    expect(r.state.status).toBe('failed');
    expect(meteringAllowed(r.state, at(2))).toBe(false);
  });

  it('unsubscribe-pending opens the final window; unsubscribe-success ends it', () => {
    const active = run(ev('subscribe-success', 0));
    const pending = applyTransition(active, ev('unsubscribe-pending', 60));
    expect(pending.outcome === 'applied' && pending.effects).toEqual(['final-window-opened']);
    expect(pending.state).toMatchObject({ status: 'unsubscribe_pending', finalWindowOpenedAt: at(60), endedAt: null });
    expect(meteringAllowed(pending.state, at(61))).toBe(true);
    const ended = applyTransition(pending.state, ev('unsubscribe-success', 120));
    expect(ended.outcome === 'applied' && ended.effects).toEqual(['customer-ended']);
    expect(ended.state).toMatchObject({ status: 'unsubscribed', endedAt: at(120), activatedAt: at(0) });
    expect(meteringAllowed(ended.state, at(30))).toBe(false);
  });

  it('re-subscribe race: unsubscribe-pending then a later subscribe-success is active again', () => {
    const s = run(ev('subscribe-success', 0), ev('unsubscribe-pending', 10), ev('subscribe-success', 20));
    expect(s).toMatchObject({ status: 'active', finalWindowOpenedAt: null, activatedAt: at(0) });
  });

  it('out of order: unsubscribe-success first, then the older unsubscribe-pending is stale', () => {
    const ended = run(ev('subscribe-success', 0), ev('unsubscribe-success', 20));
    const r = applyTransition(ended, ev('unsubscribe-pending', 10));
    expect(r.outcome).toBe('stale');
    expect(r.state).toBe(ended);
    if (r.outcome === 'stale') expect(r.reason).toMatch(/older than the unsubscribe-success/);
  });

  it('an unsubscribe-pending later than the end does not reopen a window', () => {
    const ended = run(ev('subscribe-success', 0), ev('unsubscribe-success', 20));
    const r = applyTransition(ended, ev('unsubscribe-pending', 30));
    expect(r.state.status).toBe('unsubscribed');
    expect(r.outcome === 'applied' && r.effects).toEqual([]);
    expect(meteringAllowed(r.state, at(31))).toBe(false);
    // ...but if a re-subscription between them arrives late, in-order delivery would have opened it
    const late = applyTransition(r.state, ev('subscribe-success', 25));
    expect(late.state.status).toBe('unsubscribe_pending');
    expect(late.state).toEqual(
      run(ev('subscribe-success', 0), ev('unsubscribe-success', 20), ev('subscribe-success', 25), ev('unsubscribe-pending', 30)),
    );
  });

  it('an older end closes a window opened by a later signal when no activation lies between', () => {
    const s = run(ev('subscribe-success', 0), ev('unsubscribe-pending', 30));
    const r = applyTransition(s, ev('unsubscribe-success', 20));
    expect(r.outcome).toBe('applied');
    expect(r.state.status).toBe('unsubscribed');
    if (r.outcome === 'applied') expect(r.note).toMatch(/older/);
  });

  it('duplicates are ignored', () => {
    const s = run(ev('subscribe-success', 0));
    const r = applyTransition(s, ev('subscribe-success', 0));
    expect(r.outcome).toBe('ignored');
    expect(r.state).toBe(s);
  });

  it('License Updated activates with its LicenseArn; a later one updates the LicenseArn', () => {
    const s = run(ev('license-updated', 0, 'arn:l-1'));
    expect(s).toMatchObject({ status: 'active', licenseArn: 'arn:l-1', activatedAt: at(0) });
    const r = applyTransition(s, ev('license-updated', 5, 'arn:l-2'));
    expect(r.outcome === 'applied' && r.effects).toEqual([]);
    expect(r.state.licenseArn).toBe('arn:l-2');
    expect(applyTransition(r.state, ev('license-updated', 3, 'arn:l-0')).outcome).toBe('stale');
  });

  it('Purchase Agreement Ended opens the window; License Deprovisioned then ends', () => {
    const w = applyTransition(run(ev('license-updated', 0, 'arn:l')), ev('agreement-ended', 10));
    expect(w.outcome === 'applied' && w.effects).toEqual(['final-window-opened']);
    const d = applyTransition(w.state, ev('license-deprovisioned', 70, 'arn:l'));
    expect(d.outcome === 'applied' && d.effects).toEqual(['customer-ended']);
    expect(d.state).toMatchObject({ status: 'unsubscribed', endedAt: at(70) });
    expect(meteringAllowed(d.state, at(65))).toBe(false);
  });

  it('License Deprovisioned on an active customer opens the final window and ends at once', () => {
    const d = applyTransition(run(ev('license-updated', 0, 'arn:l')), ev('license-deprovisioned', 10, 'arn:l'));
    expect(d.outcome === 'applied' && d.effects).toEqual(['final-window-opened', 'customer-ended']);
    expect(d.state).toMatchObject({ finalWindowOpenedAt: at(10), endedAt: at(10) });
  });

  it('empty entitlements open the final window', () => {
    const s = run(ev('license-updated', 0, 'arn:l'), ev('entitlements-empty', 5));
    expect(s.status).toBe('unsubscribe_pending');
  });

  it('equal times: the terminal event wins, whatever the delivery order', () => {
    const a = run(ev('subscribe-success', 5), ev('unsubscribe-success', 5));
    const b = run(ev('unsubscribe-success', 5), ev('subscribe-success', 5));
    expect(a.status).toBe('unsubscribed');
    expect(sameSubscriptionState(a, b)).toBe(true);
    expect(TRANSITION_RANK['license-deprovisioned']).toBeGreaterThan(TRANSITION_RANK['subscribe-success']);
  });

  it('reads states stored without bookkeeping fields', () => {
    const legacy: SubscriptionState = {
      status: 'active',
      statusEventTime: at(5),
      finalWindowOpenedAt: null,
      endedAt: null,
      activatedAt: at(5),
    };
    expect(applyTransition(legacy, ev('unsubscribe-pending', 3)).outcome).toBe('stale');
    expect(applyTransition(legacy, ev('unsubscribe-pending', 6)).state.status).toBe('unsubscribe_pending');
    const nulls: SubscriptionState = {
      ...legacy,
      status: 'unsubscribed',
      endedAt: at(5),
      activatedAt: at(1),
      decisive: null,
      window: null,
      licenseStamp: null,
    };
    expect(applyTransition(nulls, ev('subscribe-success', 4)).outcome).toBe('stale');
    expect(applyTransition(nulls, ev('subscribe-success', 6)).state.status).toBe('active');
  });

  it('refuses an invalid event time without throwing', () => {
    expect(applyTransition(initialSubscriptionState, { kind: 'subscribe-success', eventTime: new Date('x') }).outcome).toBe('ignored');
  });
});

// ---- properties -------------------------------------------------------------------------------

const KINDS = Object.keys(TRANSITION_RANK) as TransitionKind[];
/** Small time range and few ARNs, so that ties and duplicates are frequent. */
const eventArb: fc.Arbitrary<StatusTransition> = fc
  .record({ kind: fc.constantFrom(...KINDS), minute: fc.integer({ min: 0, max: 12 }), arn: fc.constantFrom(undefined, 'arn:a', 'arn:b') })
  .map(({ kind, minute, arn }) => ev(kind, minute, arn));
const eventSetArb = fc.array(eventArb, { maxLength: 12 });
/** A delivery: the events in any order, each possibly delivered more than once. */
const deliveryArb = eventSetArb.chain((events) =>
  fc
    .tuple(fc.shuffledSubarray(events, { minLength: events.length, maxLength: events.length }), fc.array(fc.nat(), { maxLength: 6 }))
    .chain(([shuffled, dupIdx]) => {
      const dups = shuffled.length === 0 ? [] : dupIdx.map((i) => shuffled[i % shuffled.length]!);
      return fc
        .shuffledSubarray([...shuffled, ...dups], { minLength: shuffled.length + dups.length, maxLength: shuffled.length + dups.length })
        .map((delivered) => ({ events, delivered }));
    }),
);
const inOrder = (events: StatusTransition[]): SubscriptionState => run(...[...events].sort(compareTransitions));
const probeTimes = [at(-1), at(0), at(3), at(6), at(9), at(12), at(1000)];

describe('subscription state: properties', () => {
  it('(1) any delivery order, with duplicates, gives the in-order final state', () => {
    fc.assert(
      fc.property(deliveryArb, ({ events, delivered }) => {
        const expected = inOrder(events);
        const got = run(...delivered);
        expect(got).toEqual(expected);
      }),
      { numRuns: 2000 },
    );
  });

  it('(2) a stale event never changes the state (nor what may be metered)', () => {
    fc.assert(
      fc.property(eventSetArb, eventArb, (events, e) => {
        const s = run(...events);
        const r = applyTransition(s, e);
        if (r.outcome === 'stale' || r.outcome === 'ignored') {
          expect(r.state).toBe(s);
          expect(sameSubscriptionState(r.state, s)).toBe(true);
        } else {
          expect(sameSubscriptionState(r.state, s)).toBe(false);
        }
        if (r.outcome === 'stale') {
          expect(e.eventTime.getTime()).toBeLessThanOrEqual(s.statusEventTime!.getTime());
          for (const t of probeTimes) expect(meteringAllowed(r.state, t)).toBe(meteringAllowed(s, t));
        }
      }),
      { numRuns: 2000 },
    );
  });

  const latest = (events: StatusTransition[], kinds: TransitionKind[]): StatusTransition | undefined =>
    [...events]
      .filter((e) => kinds.includes(e.kind))
      .sort(compareTransitions)
      .pop();

  it('(3) no metering after unsubscribe-success / deprovisioned unless a strictly later activation arrived', () => {
    fc.assert(
      fc.property(deliveryArb, ({ delivered }) => {
        // check after every prefix of the delivery, not only at the end
        for (let n = 0; n <= delivered.length; n++) {
          const seen = delivered.slice(0, n);
          const end = latest(seen, ['unsubscribe-success', 'license-deprovisioned']);
          const act = latest(seen, ['subscribe-success', 'license-updated']);
          if (end && (!act || compareTransitions(act, end) < 0)) {
            const s = run(...seen);
            for (const t of probeTimes) expect(meteringAllowed(s, t)).toBe(false);
          }
        }
      }),
      { numRuns: 1000 },
    );
  });

  it('(4) no metering before any activation', () => {
    fc.assert(
      fc.property(deliveryArb, ({ delivered }) => {
        for (let n = 0; n <= delivered.length; n++) {
          const seen = delivered.slice(0, n);
          const s = run(...seen);
          for (const t of probeTimes) {
            if (meteringAllowed(s, t)) {
              expect(seen.some((e) => (e.kind === 'subscribe-success' || e.kind === 'license-updated') && e.eventTime <= t)).toBe(true);
            }
          }
        }
      }),
      { numRuns: 1000 },
    );
  });

  it('the final status is the status of the in-order fold, and applied outcomes carry consistent effects', () => {
    fc.assert(
      fc.property(eventSetArb, (events) => {
        let s = initialSubscriptionState;
        for (const e of [...events].sort(compareTransitions)) {
          const r = applyTransition(s, e);
          if (r.outcome === 'applied') {
            if (r.effects.includes('customer-activated')) expect(r.state.status).toBe('active');
            if (r.effects.includes('customer-ended')) expect(r.state.status).toBe('unsubscribed');
            if (r.effects.includes('customer-failed')) expect(r.state.status).toBe('failed');
          }
          // in-order delivery is never stale
          expect(r.outcome).not.toBe('stale');
          s = r.state;
        }
      }),
      { numRuns: 1000 },
    );
  });
});
