import type { AgreementDetailsRepository } from '../customers/agreement-details.repository';
import type { BillingAdjustment, CancellationRequest } from '../customers/agreement-requests';
import type { AgreementRequestRepository } from '../customers/agreement-requests.repository';
import { endingSoonDays } from '../customers/contract-end';
import type { Customer, Entitlement } from '../customers/customer';
import type { CustomerRepository } from '../customers/customer.repository';
import { parseQueueMessage } from '../events/envelope';
import type { EventProcessor, ProcessResult } from '../events/event-processor';
import type { BucketRepository } from '../metering/bucket.repository';
import { HOUR_MS } from '../metering/hours';
import { windowDeadline, type WindowPolicy } from '../metering/windows';
import type { Clock } from '../platform/clock';
import { AppError, NotFoundError } from '../platform/errors';
import type {
  ConsoleDelivery,
  ConsoleEvent,
  ConsoleRepository,
  CustomerListItem,
  CustomerQuery,
  GridRow,
  ProblemState,
} from './console.repository';

export interface Overview {
  readonly now: Date;
  readonly customers: ReadonlyArray<{ productCode: string; status: string; count: number }>;
  /** 48 entries, oldest first: the start of each hour and the units AWS accepted for it. */
  readonly billed: ReadonlyArray<{ hour: Date; units: number }>;
  readonly problems: Record<ProblemState, number>;
  readonly openNotifications: number;
  /** Each polled queue: its last message as this instance received it (since start), its last rejected one as stored. */
  readonly queues: ReadonlyArray<{ name: string; lastReceivedAt: Date | null; lastRejectedAt: Date | null }>;
  /** The newest notification stored per envelope (every instance): SNS via SQS, raw SQS, EventBridge, SNS over HTTPS. */
  readonly envelopes: ReadonlyArray<{ label: string; lastStoredAt: Date | null }>;
}

export interface CustomerPage {
  readonly customer: Customer;
  readonly entitlements: readonly Entitlement[];
  readonly events: readonly ConsoleEvent[];
  readonly deliveries: readonly ConsoleDelivery[];
  readonly grid: readonly GridRow[];
  /** The current agreement ends within the widest CONTRACT_ENDING_SOON_DAYS and does not renew by itself. */
  readonly contractEnding: { readonly endTime: Date; readonly daysLeft: number } | null;
  readonly cancellationRequests: readonly CancellationRequest[];
  readonly billingAdjustments: readonly BillingAdjustment[];
}

/** A problem record with what the support report and the retry button need. */
export interface ProblemItem {
  readonly record: GridRow;
  /** Last instant AWS still accepts the record (its window, facts §1.6/§1.7). */
  readonly deadline: Date;
  /** True when the retry action is offered: a retryable state, inside the window. */
  readonly retryable: boolean;
  /** Plain text to paste into a case with AWS Seller Operations (seed 004). */
  readonly report: string;
}

export interface ConsoleServiceDeps {
  readonly repository: ConsoleRepository;
  readonly customers: CustomerRepository;
  readonly buckets: BucketRepository;
  /** The Agreement API facts of each agreement (its end time and end-time behaviour). */
  readonly agreementDetails: AgreementDetailsRepository;
  /** Cancellation requests and billing adjustments (the reads GET /v1/customers/{id} makes). */
  readonly requests: AgreementRequestRepository;
  /** CONTRACT_ENDING_SOON_DAYS: the widest is the badge's horizon. */
  readonly endingSoonDays: readonly number[];
  readonly processor: EventProcessor;
  readonly clock: Clock;
  readonly windows: { readonly batch: WindowPolicy; readonly meterUsage: WindowPolicy };
  /** The notification queues this instance polls (their channel is `sqs:<name>`). */
  readonly queues: ReadonlyArray<{ readonly name: string }>;
  /** When this instance last received a message on a queue (null: not since start). Default: never. */
  readonly lastMessageAt?: (queue: string) => Date | null;
}

const ENVELOPES = [
  { label: 'SNS via SQS', channel: 'sns-sqs' },
  { label: 'Raw SQS delivery', channel: 'sns-raw' },
  { label: 'EventBridge', channel: 'eventbridge' },
  { label: 'SNS over HTTPS', channel: 'sns-http' },
] as const;

const RETRYABLE = new Set(['failed', 'not_subscribed']);
const GRID_HOURS = 48;

/** What the console shows and does, over its repository and the services it acts through. */
export class ConsoleService {
  constructor(private readonly deps: ConsoleServiceDeps) {}

  async overview(): Promise<Overview> {
    const now = this.deps.clock.now();
    const end = Math.floor(now.getTime() / HOUR_MS) * HOUR_MS + HOUR_MS;
    const start = end - GRID_HOURS * HOUR_MS;
    // Accepted notifications are stored by envelope; rejected ones by the queue they came from (`sqs:<name>`).
    const channels = [...this.deps.queues.map((q) => `sqs:${q.name}`), ...ENVELOPES.map((e) => e.channel)];
    const [customers, billed, problems, openNotifications, last] = await Promise.all([
      this.deps.repository.customerCounts(),
      this.deps.repository.billedPerHour(new Date(start), new Date(end)),
      this.deps.repository.problemCounts(),
      this.deps.repository.openNotificationCount(),
      this.deps.repository.lastReceived(channels),
    ]);
    return {
      now,
      customers,
      billed: Array.from({ length: GRID_HOURS }, (_, i) => {
        const hour = start + i * HOUR_MS;
        return { hour: new Date(hour), units: billed.get(hour) ?? 0 };
      }),
      problems,
      openNotifications,
      queues: this.deps.queues.map((q) => ({
        name: q.name,
        lastReceivedAt: this.deps.lastMessageAt?.(q.name) ?? null,
        lastRejectedAt: last.get(`sqs:${q.name}`) ?? null,
      })),
      envelopes: ENVELOPES.map((e) => ({ label: e.label, lastStoredAt: last.get(e.channel) ?? null })),
    };
  }

  listCustomers(q: CustomerQuery): Promise<CustomerListItem[]> {
    return this.deps.repository.listCustomers(q);
  }

  cursorOf(id: string): Promise<[string, string] | undefined> {
    return this.deps.repository.cursorOf(id);
  }

  async customerPage(id: string): Promise<CustomerPage | undefined> {
    const customer = await this.deps.customers.findById(id);
    if (!customer) return undefined;
    const now = this.deps.clock.now();
    const from = new Date(now.getTime() - GRID_HOURS * HOUR_MS);
    const [entitlements, events, deliveries, grid, details, requests] = await Promise.all([
      this.deps.customers.listEntitlements(id),
      this.deps.repository.customerEvents(id, 200),
      this.deps.repository.customerDeliveries(id, 50),
      this.deps.repository.customerGrid(id, from, 500),
      customer.agreementId ? this.deps.agreementDetails.find(customer.agreementId) : Promise.resolve(undefined),
      this.deps.requests.listFor(id),
    ]);
    const daysLeft = details ? endingSoonDays(details, now, this.deps.endingSoonDays) : null;
    return {
      customer,
      entitlements,
      events,
      deliveries,
      grid,
      contractEnding: details?.endTime && daysLeft !== null ? { endTime: details.endTime, daysLeft } : null,
      cancellationRequests: requests.cancellationRequests,
      billingAdjustments: requests.billingAdjustments,
    };
  }

  async problems(state: ProblemState | undefined): Promise<ProblemItem[]> {
    const now = this.deps.clock.now();
    return (await this.deps.repository.problems(state, 200)).map((r) => this.problemItem(r, now));
  }

  private problemItem(record: GridRow, now: Date): ProblemItem {
    const policy = record.api === 'meter-usage' ? this.deps.windows.meterUsage : this.deps.windows.batch;
    const deadline = windowDeadline(record.hour, policy);
    return {
      record,
      deadline,
      retryable: RETRYABLE.has(record.state) && now.getTime() <= deadline.getTime(),
      report: supportReport(record, deadline),
    };
  }

  /**
   * The operator's retry: only a failed or not-subscribed record, only while AWS would still accept
   * it (its window), through the lifecycle's `requeue` move (unchanged, so a resend is safe).
   */
  async retry(id: string): Promise<void> {
    const record = await this.deps.repository.bucket(id);
    if (!record) throw new NotFoundError(`No metering record ${id}.`);
    const item = this.problemItem(record, this.deps.clock.now());
    if (!RETRYABLE.has(record.state))
      throw new AppError(`Metering record ${id} is ${record.state}; only failed and not_subscribed records can be retried.`, {
        code: 'not_retryable',
        httpStatus: 409,
        details: { state: record.state },
      });
    if (!item.retryable)
      throw new AppError(
        `Metering record ${id} is past its AWS window (it closed at ${item.deadline.toISOString()}); AWS would refuse it.`,
        { code: 'window_closed', httpStatus: 409, details: { deadline: item.deadline.toISOString() } },
      );
    if (!(await this.deps.buckets.requeue(id, this.deps.clock.now())))
      throw new AppError(`Metering record ${id} changed meanwhile; reload the page.`, { code: 'not_retryable', httpStatus: 409 });
  }

  notifications(outcome: 'rejected' | 'unmatched' | undefined): Promise<ConsoleEvent[]> {
    return this.deps.repository.openNotifications(outcome, 200);
  }

  /**
   * Processes a rejected notification again (after a configuration fix, e.g. a product added): its
   * stored message goes through the event processor as a new delivery would. The old row is kept,
   * marked replayed; if processing throws (AWS unreachable), it is put back as it was.
   */
  async replay(id: number): Promise<ProcessResult> {
    const event = await this.deps.repository.event(id);
    if (!event) throw new NotFoundError(`No notification ${id}.`);
    if (event.outcome !== 'rejected')
      throw new AppError(`Notification ${id} is ${event.outcome}; only rejected notifications can be replayed.`, {
        code: 'not_replayable',
        httpStatus: 409,
      });
    const secondary = await this.deps.repository.secondaryKeyOf(id);
    const body = storedBody(event.payload);
    const parsed = parseQueueMessage(body, { messageId: event.dedupeKey, sentTimestamp: event.eventTime ?? event.receivedAt });
    if (!(await this.deps.repository.retireRejected(id, `replayed at ${this.deps.clock.now().toISOString()}`)))
      throw new AppError(`Notification ${id} changed meanwhile; reload the page.`, { code: 'not_replayable', httpStatus: 409 });
    try {
      return await this.deps.processor.handle(parsed, { dedupeKey: event.dedupeKey, channel: event.channel, body });
    } catch (error) {
      await this.deps.repository.restoreRejected(id, event.dedupeKey, secondary, event.reason);
      throw error;
    }
  }
}

/** The stored payload is JSON text of what was received: a string body is unwrapped, an object re-serialized. */
function storedBody(payload: string): string {
  try {
    const value = JSON.parse(payload) as unknown;
    return typeof value === 'string' ? value : payload;
  } catch {
    return payload;
  }
}

/** What AWS Seller Operations asks for about a record (seed 004): one fact per line. */
export function supportReport(r: GridRow, deadline: Date): string {
  const identity = r.identity.licenseArn
    ? `CustomerAWSAccountId ${r.identity.customerAWSAccountId ?? '?'}, LicenseArn ${r.identity.licenseArn}`
    : r.identity.customerIdentifier
      ? `CustomerIdentifier ${r.identity.customerIdentifier}`
      : '(no metering identity yet)';
  return [
    `Operation: ${r.awsOperation ?? (r.api === 'meter-usage' ? 'MeterUsage' : 'BatchMeterUsage')}`,
    `AWS request id: ${r.awsRequestId ?? '(none: no call answered)'}`,
    `HTTP status: ${r.awsHttpStatus ?? '(none)'}`,
    `Time (UTC): ${(r.lastErrorAt ?? r.hour).toISOString()}`,
    `Product code: ${r.productCode}`,
    `Customer: ${identity}`,
    `Dimension: ${r.dimension}`,
    `Usage hour (UTC): ${r.hour.toISOString()}`,
    `Record timestamp: ${(r.recordTimestamp ?? r.hour).toISOString()}`,
    `Quantity: ${r.billed ?? r.rawUsage}`,
    `State: ${r.state} after ${r.attempts} attempt(s); AWS accepts it until ${deadline.toISOString()}`,
    `Error: ${r.lastError ?? r.holdReason ?? '(none)'}`,
  ].join('\n');
}
