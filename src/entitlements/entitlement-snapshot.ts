/**
 * Entitlement snapshots, shared by every path that reads GetEntitlements (events, reconciliation,
 * registration): the newest read wins, a change is reported once, and an empty contract opens the
 * final-metering window (facts §5.3: the AWS sample treats no entitlement, or only expired ones, as
 * the end of the contract; seed: "Surveiller les modifications apportées aux abonnements").
 */
import type { Customer, Entitlement } from '../customers/customer';
import type { CustomerRepository } from '../customers/customer.repository';
import { applyTransition, type DomainEffect, type StatusTransition } from '../customers/subscription-state';
import type { Tx } from '../store/schema';

/** True when the contract grants nothing at `at`: no entitlement, or every one expired. */
export function contractEnded(entitlements: readonly Entitlement[], at: Date): boolean {
  return !entitlements.some((e) => !e.expirationDate || e.expirationDate.getTime() > at.getTime());
}

export interface SnapshotResult {
  /** The stored snapshot changed (publish `entitlements-changed`). */
  readonly changed: boolean;
  /** This read is the newest stored one and the contract it shows has ended. */
  readonly ended: boolean;
  /** Status effects of opening the final window, when that was applied. */
  readonly effects: readonly DomainEffect[];
}

/**
 * Stores one GetEntitlements answer for a locked customer, in the caller's transaction. `fetchedAt`
 * is the time taken just before the read. When `endTransition` is given and the newest snapshot
 * shows an ended contract, that transition is applied through the state machine (order-safe).
 */
export async function storeSnapshot(
  deps: { customers: CustomerRepository },
  tx: Tx,
  customer: Customer,
  entitlements: readonly Entitlement[],
  fetchedAt: Date,
  now: Date,
  endTransition?: StatusTransition,
): Promise<SnapshotResult> {
  const write = await deps.customers.replaceEntitlements(customer.id, entitlements, fetchedAt, tx);
  const ended = write.replaced && contractEnded(write.current, now);
  if (!ended || !endTransition) return { changed: write.changed, ended, effects: [] };
  const fresh = (await deps.customers.findById(customer.id, tx)) ?? customer;
  const result = applyTransition(fresh.subscription, endTransition);
  if (result.outcome !== 'applied') return { changed: write.changed, ended, effects: [] };
  await deps.customers.saveSubscriptionState(tx, customer.id, result.state, now);
  return { changed: write.changed, ended, effects: result.effects };
}
