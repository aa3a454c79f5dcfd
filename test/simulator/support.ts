import { MarketplaceAgreementClient } from '@aws-sdk/client-marketplace-agreement';
import { MarketplaceEntitlementServiceClient } from '@aws-sdk/client-marketplace-entitlement-service';
import { MarketplaceMeteringClient } from '@aws-sdk/client-marketplace-metering';
import { DeleteMessageCommand, ReceiveMessageCommand, SQSClient, type Message } from '@aws-sdk/client-sqs';
import { startSimulator, type Simulator, type SimulatorOptions } from '../../src/simulator';

/** Dummy credentials: the simulator checks the SigV4 scope, not the signature. */
export const credentials = { accessKeyId: 'AKIDSIMULATORTEST', secretAccessKey: 'not-a-secret' };

/** A clock tests move by hand. */
export class TestClock {
  constructor(public t = Date.parse('2026-03-10T12:30:00.000Z')) {}
  readonly now = (): number => this.t;
  advance(ms: number): void {
    this.t += ms;
  }
  date(offsetMs = 0): Date {
    return new Date(this.t + offsetMs);
  }
}

export interface TestKit {
  sim: Simulator;
  clock: TestClock;
  metering: MarketplaceMeteringClient;
  entitlement: MarketplaceEntitlementServiceClient;
  agreement: MarketplaceAgreementClient;
  /** The Agreement client signed as a buyer account (`buyer-<account>` access key, docs/simulator.md). */
  agreementAsBuyer(accountId: string): MarketplaceAgreementClient;
  sqs: SQSClient;
  close(): Promise<void>;
}

/**
 * Starts a simulator on a random port with a manual clock, plus the real SDK clients pointed at
 * it by `endpoint` only. `maxAttempts: 1` so a test sees exactly what the service answered.
 */
export async function startKit(options: SimulatorOptions = {}, clientOptions: { maxAttempts?: number } = {}): Promise<TestKit> {
  const clock = new TestClock();
  // Quotas off unless a test asks for them: suites send well over 10 calls a second.
  const sim = await startSimulator({
    now: clock.now,
    confirmDelayMs: 60_000,
    quotas: { batchMeterUsage: 0, meterUsage: 0, registerUsage: 0, getEntitlements: 0, agreement: 0 },
    ...options,
  });
  const common = { endpoint: sim.url, region: 'us-east-1', credentials, maxAttempts: clientOptions.maxAttempts ?? 1 };
  const metering = new MarketplaceMeteringClient(common);
  const entitlement = new MarketplaceEntitlementServiceClient(common);
  const sqs = new SQSClient(common);
  const agreement = new MarketplaceAgreementClient(common);
  const buyers: MarketplaceAgreementClient[] = [];
  return {
    sim,
    clock,
    metering,
    entitlement,
    agreement,
    agreementAsBuyer(accountId: string) {
      const c = new MarketplaceAgreementClient({ ...common, credentials: { accessKeyId: `buyer-${accountId}`, secretAccessKey: 'x' } });
      buyers.push(c);
      return c;
    },
    sqs,
    async close() {
      metering.destroy();
      entitlement.destroy();
      agreement.destroy();
      for (const b of buyers) b.destroy();
      sqs.destroy();
      await sim.stop();
    },
  };
}

/** Receives every message currently visible on a queue (and deletes them unless `keep`). */
export async function drain(sqs: SQSClient, queueUrl: string, opts: { keep?: boolean } = {}): Promise<Message[]> {
  const out: Message[] = [];
  for (;;) {
    const r = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0, MessageSystemAttributeNames: ['All'] }),
    );
    if (!r.Messages?.length) return out;
    out.push(...r.Messages);
    if (!opts.keep) {
      for (const m of r.Messages) await sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: m.ReceiptHandle }));
    }
  }
}

/** Parses SNS-in-SQS bodies: the envelope, then its `Message` string (§4.1). */
export function snsMessages(messages: Message[]): Array<{ envelope: Record<string, string>; message: Record<string, string> }> {
  return messages.map((m) => {
    const envelope = JSON.parse(m.Body!) as Record<string, string>;
    return { envelope, message: JSON.parse(envelope.Message!) as Record<string, string> };
  });
}

/** The `detail` members the tests read (agreement, licence, cancellation and billing-adjustment events). */
export interface EventDetail {
  [member: string]: unknown;
  agreement: { id: string; status?: string; intent?: string; previousAgreementId?: string; acceptorId?: string; productId?: string };
  license?: { arn: string };
  product?: { id: string; code?: string; title?: string };
  agreementCancellationRequest?: { id: string; statusCode: string; statusMessage: string; reasonCode: string; reasonMessage: string };
  billingAdjustmentRequest?: { id: string; adjustmentAmount: string; currencyCode: string; adjustmentReasonCode: string };
  invoice?: { originalInvoiceId: string };
}

export interface EbEvent {
  'detail-type': string;
  source: string;
  account: string;
  time: string;
  resources: string[];
  detail: EventDetail;
}

/** Parsed EventBridge events currently on the eventBridge queue (drained). */
export async function eventBridgeEvents(kit: TestKit): Promise<EbEvent[]> {
  return (await drain(kit.sqs, kit.sim.queueUrl('marketplace-eventbridge'))).map((m) => JSON.parse(m.Body!) as EbEvent);
}

/** Awaits the SDK call and returns the thrown error (fails if it succeeds). */
export async function errorOf(
  p: Promise<unknown>,
): Promise<Error & { $fault?: string; $metadata?: { httpStatusCode?: number; attempts?: number }; Code?: string }> {
  try {
    await p;
  } catch (err) {
    return err as Error & { $metadata?: { httpStatusCode?: number } };
  }
  throw new Error('expected the call to fail');
}

/** A product of each identity style, ready for tests. */
export function legacyProduct(sim: Simulator, code = 'legacy-product') {
  return sim.createProduct({
    productCode: code,
    pricingModel: 'subscription',
    identity: 'customer-identifier',
    dimensions: [{ name: 'users' }, { name: 'storage' }],
  });
}

export function licenseProduct(sim: Simulator, code = 'license-product', notifications?: 'sns' | 'eventbridge' | 'both') {
  return sim.createProduct({
    productCode: code,
    pricingModel: 'contract-with-consumption',
    identity: 'license',
    dimensions: [{ name: 'seats' }, { name: 'api_calls' }],
    ...(notifications ? { notifications } : {}),
  });
}

/** Subscribes and activates at the current clock time. */
export async function activeSubscription(sim: Simulator, productCode: string, extra: { awsAccountId?: string; freeTrial?: boolean } = {}) {
  const s = await sim.subscribe({ productCode, confirmation: 'manual', ...extra });
  await sim.confirm(s.id);
  return sim.subscription(s.id);
}
