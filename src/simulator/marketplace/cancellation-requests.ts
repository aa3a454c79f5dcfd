import type { ScheduledTask, SimClock } from '../clock';
import * as ids from '../ids';
import type { ResolvedOptions } from '../options';
import { requestEvent } from '../notify/marketplace-messages';
import type { Notifier } from '../notify/notifier';
import type { CancellationReasonCode, CancellationStatus, SimCancellationRequest } from '../types';
import { ebTime } from './agreement-times';
import type { Catalog, SubscriptionState } from './catalog';
import type { Lifecycle } from './lifecycle';

/** Why a cancellation-request step was refused; the Agreement API answers it as ConflictException / ResourceNotFoundException. */
export class RequestStateError extends Error {
  constructor(
    readonly kind: 'conflict' | 'not-found',
    message: string,
  ) {
    super(message);
  }
}

interface RequestState extends Omit<SimCancellationRequest, 'subscriptionId'> {
  subscription: SubscriptionState;
  clientToken?: string;
  timer?: ScheduledTask;
}

const DETAIL_TYPE: Record<Exclude<CancellationStatus, 'VALIDATION_FAILED'>, string> = {
  PENDING_APPROVAL: 'Agreement Cancellation Request Pending Approval - Proposer',
  APPROVED: 'Agreement Cancellation Request Approved - Proposer',
  REJECTED: 'Agreement Cancellation Request Rejected - Proposer',
  CANCELLED: 'Agreement Cancellation Request Cancelled - Proposer',
};

/**
 * Seller cancellation requests (§5.6; Seller Guide "Events for cancellations"):
 *
 * PENDING_APPROVAL → APPROVED (the buyer approves, or nobody answers within `cancellationApprovalMs`,
 * 7 days) | REJECTED (the buyer denies) | CANCELLED (the seller withdraws). Each change publishes its
 * `… - Proposer` event; an approved request ends the agreement as any cancellation does (Purchase
 * Agreement Ended, then License Deprovisioned after the final-metering window). One request may be
 * pending per agreement at a time; only an active agreement can get one.
 */
export class CancellationRequests {
  private readonly byId = new Map<string, RequestState>();

  constructor(
    private readonly options: ResolvedOptions,
    private readonly catalog: Catalog,
    private readonly lifecycle: Lifecycle,
    private readonly notifier: Notifier,
    private readonly clock: SimClock,
  ) {}

  send(
    s: SubscriptionState,
    input: { reasonCode?: CancellationReasonCode; description?: string; clientToken?: string },
  ): SimCancellationRequest {
    if (input.clientToken !== undefined) {
      const same = [...this.byId.values()].find((r) => r.clientToken === input.clientToken && r.subscription === s);
      if (same) return view(same);
    }
    if (s.status !== 'active' && s.status !== 'pending')
      throw new RequestStateError(
        'conflict',
        `Agreement ${s.agreementId} is ${s.agreementStatus}; only an active agreement can be cancelled.`,
      );
    const open = [...this.byId.values()].find((r) => r.subscription === s && r.status === 'PENDING_APPROVAL');
    if (open)
      throw new RequestStateError('conflict', `Agreement ${s.agreementId} already has a pending cancellation request (${open.id}).`);
    const now = this.options.now();
    const r: RequestState = {
      id: `acr-${ids.randomAlnum(20).toLowerCase()}`,
      agreementId: s.agreementId,
      subscription: s,
      reasonCode: input.reasonCode ?? 'OTHER',
      ...(input.description !== undefined ? { description: input.description } : {}),
      ...(input.clientToken !== undefined ? { clientToken: input.clientToken } : {}),
      status: 'PENDING_APPROVAL',
      statusMessage: '',
      createdAt: now,
      updatedAt: now,
      autoApproveAt: now + this.options.cancellationApprovalMs,
    };
    this.byId.set(r.id, r);
    this.publish(r);
    // "If you don't respond, the cancellation is automatically approved" (7 days, §5.6).
    r.timer = this.clock.schedule(this.options.cancellationApprovalMs, `auto-approve ${r.id}`, () => this.approve(r.id));
    return view(r);
  }

  approve(id: string): SimCancellationRequest {
    const r = this.pending(id);
    this.move(r, 'APPROVED', '');
    this.lifecycle.endApprovedCancellation(r.subscription.id);
    return view(r);
  }

  reject(id: string, reason: string): SimCancellationRequest {
    const r = this.pending(id);
    this.move(r, 'REJECTED', reason);
    return view(r);
  }

  withdraw(id: string, reason: string): SimCancellationRequest {
    const r = this.pending(id);
    this.move(r, 'CANCELLED', reason);
    return view(r);
  }

  /** `undefined` when no such request exists (or it belongs to another agreement). */
  get(id: string, agreementId?: string): SimCancellationRequest | undefined {
    const r = this.byId.get(id);
    if (!r || (agreementId !== undefined && r.agreementId !== agreementId)) return undefined;
    return view(r);
  }

  list(filter: { subscriptionId?: string; agreementId?: string; status?: string } = {}): SimCancellationRequest[] {
    return [...this.byId.values()]
      .filter((r) => filter.subscriptionId === undefined || r.subscription.id === filter.subscriptionId)
      .filter((r) => filter.agreementId === undefined || r.agreementId === filter.agreementId)
      .filter((r) => filter.status === undefined || r.status === filter.status)
      .sort((a, b) => a.createdAt - b.createdAt) // stable: insertion order within a millisecond
      .map(view);
  }

  private pending(id: string): RequestState {
    const r = this.byId.get(id);
    if (!r) throw new RequestStateError('not-found', `unknown cancellation request ${id}`);
    if (r.status !== 'PENDING_APPROVAL')
      throw new RequestStateError('conflict', `Cancellation request ${id} is ${r.status}; only a PENDING_APPROVAL request can change.`);
    return r;
  }

  private move(r: RequestState, status: Exclude<CancellationStatus, 'PENDING_APPROVAL' | 'VALIDATION_FAILED'>, message: string): void {
    this.clock.cancel(r.timer);
    r.timer = undefined;
    r.status = status;
    r.statusMessage = message;
    r.updatedAt = this.options.now();
    this.publish(r);
  }

  private publish(r: RequestState): void {
    const s = r.subscription;
    const product = this.catalog.product(s.productCode)!;
    const detail = {
      agreement: { id: r.agreementId, acceptorId: s.customerAWSAccountId, productId: s.productId, offerId: s.offerId },
      agreementCancellationRequest: {
        id: r.id,
        reasonCode: r.reasonCode,
        reasonMessage: r.description ?? '',
        statusCode: r.status,
        statusMessage: r.statusMessage,
        createdAt: ebTime(r.createdAt),
        updatedAt: ebTime(r.updatedAt),
      },
    };
    const ctx = { sellerAccountId: this.options.sellerAccountId, region: this.options.region, now: this.options.now() };
    this.notifier.publishEvent(product, requestEvent(DETAIL_TYPE[r.status as keyof typeof DETAIL_TYPE], detail, ctx));
  }
}

function view(r: RequestState): SimCancellationRequest {
  return {
    id: r.id,
    agreementId: r.agreementId,
    subscriptionId: r.subscription.id,
    reasonCode: r.reasonCode,
    ...(r.description !== undefined ? { description: r.description } : {}),
    status: r.status,
    statusMessage: r.statusMessage,
    createdAt: r.createdAt,
    updatedAt: r.updatedAt,
    autoApproveAt: r.autoApproveAt,
  };
}
