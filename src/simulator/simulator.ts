import { AgreementRequestsApi } from './agreement/agreement-requests-api';
import { AgreementService } from './agreement/agreement-service';
import { SimClock } from './clock';
import { FaultInjector } from './faults/fault-injector';
import { QuotaLimiter } from './faults/quota';
import { handleControl } from './control/control-api';
import { AwsApi } from './http/aws-api';
import { SimulatorServer } from './http/server';
import { BillingAdjustments } from './marketplace/billing-adjustments';
import { BillingLedger } from './marketplace/billing-ledger';
import { CancellationRequests } from './marketplace/cancellation-requests';
import { Catalog } from './marketplace/catalog';
import { EntitlementService } from './marketplace/entitlement-service';
import { Lifecycle } from './marketplace/lifecycle';
import { MeteringService } from './marketplace/metering-service';
import { HttpEndpoints } from './notify/http-endpoints';
import { Notifier } from './notify/notifier';
import type { EnvelopeContext } from './notify/sns-envelope';
import { SnsSigner } from './notify/sns-signer';
import { uuid } from './ids';
import { resolveOptions, type ResolvedOptions } from './options';
import { SqsService } from './sqs/sqs-service';
import type {
  BilledRecord,
  CancellationReasonCode,
  ClockAdvance,
  CreateProductInput,
  FaultConfig,
  HttpEndpointSubscription,
  MeteringLogEntry,
  RefundInput,
  RenewInput,
  SimBillingAdjustment,
  SimCancellationRequest,
  SimEntitlement,
  SimProduct,
  SimSubscription,
  Simulator,
  SimulatorOptions,
  SubscribeInput,
} from './types';

/** Wires the parts together; see {@link startSimulator}. */
export class LocalMarketplace implements Simulator {
  url = '';
  private readonly catalog: Catalog;
  private readonly ledger: BillingLedger;
  private readonly faults = new FaultInjector();
  private readonly sqs: SqsService;
  private readonly endpoints: HttpEndpoints;
  private readonly notifier: Notifier;
  private readonly lifecycle: Lifecycle;
  private readonly cancellations: CancellationRequests;
  private readonly adjustments: BillingAdjustments;
  private readonly server: SimulatorServer;
  private stopped: Promise<void> | undefined;

  private constructor(
    private readonly options: ResolvedOptions,
    private readonly signer: SnsSigner,
    private readonly clock: SimClock,
  ) {
    const o = options;
    this.catalog = new Catalog(o.region, o.topicOwnerAccountId);
    this.ledger = new BillingLedger(o.now);
    this.sqs = new SqsService(() => this.url, o.sellerAccountId, o.region, o.now);
    this.endpoints = new HttpEndpoints(() => this.envelopeContext(), o.now, o.httpRetryDelayMs, o.logger);
    this.notifier = new Notifier(this.sqs, this.endpoints, this.faults, () => this.envelopeContext(), o.queues, o.now, o.logger);
    this.lifecycle = new Lifecycle(o, this.catalog, this.notifier, clock);
    this.cancellations = new CancellationRequests(o, this.catalog, this.lifecycle, this.notifier, clock);
    this.adjustments = new BillingAdjustments(o, this.catalog, this.notifier, clock);
    const api = new AwsApi({
      metering: new MeteringService(o, this.catalog, this.ledger, this.faults, (p) => this.signer.jwt(p)),
      entitlement: new EntitlementService(this.catalog),
      agreement: new AgreementService(
        this.catalog,
        o.sellerAccountId,
        new AgreementRequestsApi(this.catalog, this.cancellations, this.adjustments),
      ),
      sqs: this.sqs,
      ledger: this.ledger,
      faults: this.faults,
      quotas: new QuotaLimiter({
        BatchMeterUsage: o.quotas.batchMeterUsage,
        MeterUsage: o.quotas.meterUsage,
        RegisterUsage: o.quotas.registerUsage,
        GetEntitlements: o.quotas.getEntitlements,
        ...o.agreementQuotas,
      }),
      region: o.region,
      requireSignature: o.requireSignature,
      log: o.logger,
    });
    const deps = {
      sim: this as Simulator,
      registrationUrl: o.registrationUrl,
      certFileName: signer.certFileName,
      certPem: signer.certificatePem,
      queueUrls: () => this.queueUrls(),
      confirmEndpoint: (topicArn: string, token: string) => this.endpoints.confirm(topicArn, token) !== undefined,
      unsubscribeEndpoint: (arn: string) => this.endpoints.unsubscribe(arn),
    };
    this.server = new SimulatorServer(api, (req, res, url, body) => handleControl(deps, req, res, url, body), o.logger);
  }

  static async start(input: SimulatorOptions = {}): Promise<LocalMarketplace> {
    const options = resolveOptions(input);
    const clock = new SimClock(options.baseNow, options.sharedClock, options.logger);
    // Every part reads time through the simulator clock, so an advance moves all of them.
    options.now = clock.now;
    const signer = await SnsSigner.create(options.region, options.now());
    const sim = new LocalMarketplace(options, signer, clock);
    const address = await sim.server.listen(options.host, options.port);
    const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
    sim.url = `http://${host === '0.0.0.0' || host === '[::]' ? '127.0.0.1' : host}:${address.port}`;
    // Each notification queue gets a `<name>-dlq` and a redrive policy (maxReceiveCount 5 by default).
    for (const name of new Set(Object.values(options.queues))) {
      const dlq = sim.sqs.createQueue(`${name}-dlq`);
      sim.sqs.createQueue(name, {
        RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlq.arn, maxReceiveCount: options.maxReceiveCount }),
      });
    }
    options.logger(`AWS Marketplace simulator listening on ${sim.url}`);
    return sim;
  }

  get signingCert(): { url: string; pem: string } {
    return { url: `${this.url}/simulator/${this.signer.certFileName}`, pem: this.signer.certificatePem };
  }

  private envelopeContext(): EnvelopeContext {
    return {
      signer: this.signer,
      signatureVersion: this.options.signatureVersion,
      signingCertUrl: this.signingCert.url,
      snsUrl: `${this.url}/simulator/sns`,
    };
  }

  private queueUrls(): Record<string, string> {
    const q = this.options.queues;
    const out: Record<string, string> = {};
    for (const name of [q.subscription, q.entitlement, q.eventBridge]) {
      out[name] = this.queueUrl(name);
      out[`${name}-dlq`] = this.queueUrl(`${name}-dlq`);
    }
    return out;
  }

  queueUrl(name: string): string {
    return this.sqs.queueUrl(name);
  }

  stop(): Promise<void> {
    this.stopped ??= (async () => {
      this.clock.stop();
      this.notifier.stop();
      this.endpoints.stop();
      this.sqs.stop();
      await this.server.close();
    })();
    return this.stopped;
  }

  createProduct(input: CreateProductInput): SimProduct {
    return this.catalog.createProduct(input);
  }

  products(): SimProduct[] {
    return this.catalog.products();
  }

  subscribe(input: SubscribeInput): Promise<SimSubscription> {
    return settle(() => {
      return this.view(this.lifecycle.subscribe(input).id);
    });
  }

  confirm(id: string): Promise<void> {
    return settle(() => {
      this.lifecycle.confirm(id);
    });
  }

  failPayment(id: string): Promise<void> {
    return settle(() => {
      this.lifecycle.failPayment(id);
    });
  }

  cancel(id: string, opts: { endAfterMs?: number } = {}): Promise<void> {
    return settle(() => {
      this.lifecycle.cancel(id, opts.endAfterMs);
    });
  }

  endNow(id: string): Promise<void> {
    return settle(() => {
      this.lifecycle.end(id);
    });
  }

  setEntitlements(id: string, entitlements: SimEntitlement[]): Promise<void> {
    return settle(() => {
      this.lifecycle.setEntitlements(id, entitlements);
    });
  }

  newRegistrationToken(id: string): string {
    return this.catalog.mintToken(id, this.options.now(), this.options.tokenTtlMs);
  }

  subscription(id: string): SimSubscription {
    return this.view(id);
  }

  subscriptions(): SimSubscription[] {
    return this.catalog.all().map((s) => this.catalog.view(s, this.url));
  }

  private view(id: string): SimSubscription {
    return this.catalog.view(this.catalog.get(id), this.url);
  }

  billed(filter?: { productCode?: string; customer?: string }): BilledRecord[] {
    return this.ledger.billed(filter);
  }

  meteringLog(): MeteringLogEntry[] {
    return this.ledger.entries();
  }

  setFaults(faults: FaultConfig): void {
    this.faults.set(faults);
  }

  publishRaw(queueName: string, body: string): Promise<void> {
    return settle(() => {
      if (!this.sqs.byName(queueName)) throw new Error(`no queue named ${queueName}`);
      this.notifier.publishRaw(queueName, body);
    });
  }

  subscribeHttpEndpoint(
    topic: 'subscription' | 'entitlement',
    url: string,
    opts: { productCode?: string } = {},
  ): Promise<HttpEndpointSubscription> {
    return settle(() => {
      const products = this.catalog.products();
      const product = opts.productCode ? this.catalog.product(opts.productCode) : products.length === 1 ? products[0] : undefined;
      if (!product)
        throw new Error(opts.productCode ? `unknown product ${opts.productCode}` : 'pass opts.productCode: topics are per product');
      return this.endpoints.subscribe(topic === 'subscription' ? product.subscriptionTopicArn : product.entitlementTopicArn, url);
    });
  }

  async flushNotifications(): Promise<void> {
    this.notifier.flush();
    await this.endpoints.settle();
  }

  now(): number {
    return this.clock.now();
  }

  advanceClock(ms: number): Promise<ClockAdvance> {
    return settle(() => {
      return this.clock.advance(ms);
    });
  }

  onClockAdvanced(listener: (advance: ClockAdvance) => void): () => void {
    return this.clock.onAdvanced(listener);
  }

  renew(id: string, input?: RenewInput): Promise<SimSubscription> {
    return settle(() => {
      return this.view(this.lifecycle.renewOrReplace(id, 'RENEW', input).id);
    });
  }

  replace(id: string, input?: RenewInput): Promise<SimSubscription> {
    return settle(() => {
      return this.view(this.lifecycle.renewOrReplace(id, 'REPLACE', input).id);
    });
  }

  requestCancellation(
    id: string,
    input: { reasonCode?: CancellationReasonCode; description?: string } = {},
  ): Promise<SimCancellationRequest> {
    return settle(() => {
      return this.cancellations.send(this.catalog.get(id), input);
    });
  }

  approveCancellation(requestId: string): Promise<SimCancellationRequest> {
    return settle(() => {
      return this.cancellations.approve(requestId);
    });
  }

  rejectCancellation(requestId: string, reason = 'Rejected by the buyer'): Promise<SimCancellationRequest> {
    return settle(() => {
      return this.cancellations.reject(requestId, reason);
    });
  }

  withdrawCancellation(requestId: string, reason = 'Withdrawn by the seller'): Promise<SimCancellationRequest> {
    return settle(() => {
      return this.cancellations.withdraw(requestId, reason);
    });
  }

  cancellationRequests(filter: { subscriptionId?: string } = {}): SimCancellationRequest[] {
    return this.cancellations.list(filter);
  }

  issueRefund(id: string, input: RefundInput): Promise<SimBillingAdjustment> {
    return settle(() => {
      const s = this.catalog.get(id);
      return this.adjustments.create(s, {
        originalInvoiceId: input.originalInvoiceId ?? `inv-${s.agreementId.slice(5, 17)}`,
        adjustmentAmount: input.amount,
        currencyCode: input.currencyCode ?? 'USD',
        adjustmentReasonCode: input.reasonCode ?? 'OTHER',
        ...(input.description !== undefined ? { description: input.description } : {}),
        clientToken: input.clientToken ?? uuid(),
      });
    });
  }

  billingAdjustments(filter: { subscriptionId?: string } = {}): SimBillingAdjustment[] {
    return this.adjustments.list(filter);
  }
}

/** Runs a synchronous step as a promise: a throw becomes a rejection, as an `async` method's would. */
function settle<T>(step: () => T | Promise<T>): Promise<T> {
  try {
    return Promise.resolve(step());
  } catch (err) {
    return Promise.reject(err instanceof Error ? err : new Error(String(err)));
  }
}
