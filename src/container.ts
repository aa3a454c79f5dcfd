import type { Express } from 'express';
import { NotificationQueueConsumer } from '../handlers/queue-notification.consumer';
import type { Logger } from './platform/logger';
import { accessRoutes } from '../routes/access.routes';
import { marketplaceRoutes } from '../routes/marketplace-registration.routes';
import { opsRoutes } from '../routes/ops.routes';
import { meteringRecordsRoutes } from '../routes/metering-records.routes';
import { registrationsApiRoutes } from '../routes/registrations-api.routes';
import { usageRoutes } from '../routes/usage.routes';
import { changesRoutes } from '../routes/changes.routes';
import { customersRoutes } from '../routes/customers.routes';
import { handoffApiRoutes, jwksRoutes } from '../routes/handoff.routes';
import { webhooksRoutes } from '../routes/webhooks.routes';
import { snsHttpRoutes } from '../routes/sns-http.routes';
import type { SpecViolation } from '../routes/support/response-conformance';
import { renderMessagePage } from '../routes/views/message-page';
import { startPageRoutes } from '../routes/admin-start-page.routes';
import { adminConsoleRoutes, adminGate } from '../routes/admin-console.routes';
import { adminLoginRateLimit } from '../routes/support/rate-limits';
import { ConsoleRepository } from './console/console.repository';
import { ConsoleService } from './console/console.service';
import { stringify as stringifyYaml } from 'yaml';
import { createApp, loadApiSpec } from './app';
import type { AwsClients } from './aws/clients';
import { observeAwsCalls } from './aws/call-metrics';
import { readMetricsSnapshot } from './metrics/metrics-snapshot.repository';
import { ServiceMetrics } from './metrics/service-metrics';
import { SdkCustomerResolver } from './aws/customer-resolver.gateway';
import { SdkEntitlementReader } from './aws/entitlement-reader.gateway';
import { SdkMeteringGateway } from './aws/metering.gateway';
import { LOCAL_DEV_API_KEY, type Config } from './config';
import { hostname } from 'node:os';
import { createHmac, randomBytes } from 'node:crypto';
import { CustomerChangeFeed } from './customers/customer-changes.repository';
import { CustomerProfileRepository } from './customers/customer-profile.repository';
import { SdkAgreementReader } from './aws/agreement-reader.gateway';
import { ContractEndRepository } from './customers/contract-end.repository';
import { ContractEndWatch } from './customers/contract-end-watch';
import { AgreementDetailsRepository } from './customers/agreement-details.repository';
import { AgreementRequestRepository } from './customers/agreement-requests.repository';
import { CustomerUsageRepository } from './customers/customer-usage.repository';
import { CustomerRepository } from './customers/customer.repository';
import { HandoffTokenRepository } from './handoff/handoff-token.repository';
import { HandoffService } from './handoff/handoff.service';
import { STRICT_POLICY, type AddressPolicy } from './webhooks/address-policy';
import { DeliveryRepository } from './webhooks/delivery.repository';
import { WebhookDispatcher } from './webhooks/dispatcher';
import { EndpointRepository } from './webhooks/endpoint.repository';
import { createWebhookTransport, type WebhookTransport } from './webhooks/webhook-transport.gateway';
import { RegistrationService } from './customers/registration.service';
import { AccessCheckService } from './entitlements/access-check.service';
import { EntitlementReconciler } from './entitlements/entitlement-reconciler';
import { EventRepository } from './events/event.repository';
import { EventProcessor } from './events/event-processor';
import { SnsCertificateStore } from './events/sns-certificate-store';
import { SnsSignatureVerifier } from './events/sns-signature';
import type { SnsTrust } from './events/sns-trust';
import { boundedGet, type BoundedGet } from './platform/bounded-fetch.gateway';
import { DomainEventBus } from './platform/domain-events';
import { systemClock, type Clock } from './platform/clock';
import { SessionCodec } from './platform/signed-session';
import { BucketRepository } from './metering/bucket.repository';
import { MeteringEmitter } from './metering/emitter';
import { UsageLedger } from './metering/ledger';
import { windowPolicy } from './metering/windows';
import { ProductCatalog } from './products/product-config';
import type { Store } from './store/database';
import { LeaseRepository } from './store/lease.repository';

export interface ContainerDeps {
  readonly config: Config;
  readonly store: Store;
  readonly aws: AwsClients;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Validate every response against openapi.yaml (tests). */
  readonly validateResponses?: boolean;
  /** With `validateResponses`: responses whose status or media type the spec does not declare. */
  readonly specViolations?: SpecViolation[];
  /**
   * `http://127.0.0.1:PORT` of the embedded simulator: its SNS certificates and SubscribeURLs are
   * trusted from that exact origin (simulator mode and tests only). Absent: AWS SNS hosts only.
   */
  readonly simulatorOrigin?: string;
  /** Outbound GET for SNS certificates and SubscribeURLs. Default: bounded `fetch`, no redirects. */
  readonly outboundGet?: BoundedGet;
  /** Notification queues to poll; default: the configured ones (the simulator supplies its own). */
  readonly queues?: ReadonlyArray<{ readonly name: string; readonly url: string }>;
  /** Outbound webhook POSTs. Default: the SSRF-safe transport with the mode's address policy. */
  readonly webhookTransport?: WebhookTransport;
  /** Simulator mode: the simulator's buyer page, linked from the start page. */
  readonly simulatorPageUrl?: string;
  /** Node process metrics on `/metrics`. Default true (tests that build many containers turn them off). */
  readonly processMetrics?: boolean;
}

/** Every service, wired once. `main.ts` and the tests build the same graph. */
export interface Container {
  readonly app: Express;
  readonly catalog: ProductCatalog;
  readonly customers: CustomerRepository;
  readonly registration: RegistrationService;
  readonly sessions: SessionCodec;
  readonly bus: DomainEventBus;
  readonly events: EventRepository;
  readonly eventProcessor: EventProcessor;
  /** Created, not started: `main.ts` starts and stops them. */
  readonly consumers: readonly NotificationQueueConsumer[];
  /** Created, not started. */
  readonly reconciler: EntitlementReconciler;
  /** `customer.contract_ending_soon` (CONTRACT_ENDING_SOON_DAYS). */
  readonly contractEndWatch: ContractEndWatch;
  /** The usage ledger behind `POST /v1/usage`. */
  readonly ledger: UsageLedger;
  /** The hourly metering emitter; `handlers/metering-tick.ts` schedules it, notification handlers call `onFinalWindowOpened`. */
  readonly emitter: MeteringEmitter;
  readonly meterBuckets: BucketRepository;
  /** The change feed behind `GET /v1/changes`. */
  readonly changeFeed: CustomerChangeFeed;
  readonly profiles: CustomerProfileRepository;
  readonly webhookEndpoints: EndpointRepository;
  readonly webhookDeliveries: DeliveryRepository;
  /** Created, not started: `handlers/background-work.ts` starts it (WEBHOOKS_ENABLED). */
  readonly webhookDispatcher: WebhookDispatcher;
  readonly handoff: HandoffService;
  /** The Prometheus registry behind `GET /metrics`. */
  readonly metrics: ServiceMetrics;
}

export function createContainer(deps: ContainerDeps): Container {
  const { config, store, aws, clock, logger } = deps;
  const catalog = new ProductCatalog(config.products);
  const customers = new CustomerRepository(store.db);
  const entitlementReader = new SdkEntitlementReader(aws.entitlement);
  const registration = new RegistrationService({
    resolver: new SdkCustomerResolver(aws.metering),
    entitlements: entitlementReader,
    customers,
    catalog,
    clock,
    logger,
  });
  const m = config.metering;
  const batchWindow = windowPolicy({ maxAgeMs: m.batchWindowHours * 3_600_000 });
  const meterUsageWindow = windowPolicy({ maxAgeMs: m.meterUsageWindowHours * 3_600_000, monthCloseGraceMs: undefined });
  const ledger = new UsageLedger({
    db: store.db,
    dialect: store.dialect,
    catalog,
    clock,
    logger,
    options: { batchWindow, meterUsageWindow },
  });
  const meterBuckets = new BucketRepository(store.db, store.dialect);
  const leases = new LeaseRepository(store.db, store.dialect, systemClock);
  const metrics = new ServiceMetrics({
    snapshot: () => readMetricsSnapshot(store.db),
    now: () => clock.now(),
    windows: { batch: batchWindow, meterUsage: meterUsageWindow },
    processMetrics: deps.processMetrics,
  });
  observeAwsCalls(aws, (service, operation, outcome) => metrics.countAwsCall(service, operation, outcome));
  const emitter = new MeteringEmitter({
    db: store.db,
    dialect: store.dialect,
    catalog,
    gateway: new SdkMeteringGateway(aws.metering),
    clock,
    logger,
    settings: {
      minute: m.minute,
      pollMs: m.pollSeconds * 1000,
      heartbeat: m.heartbeat,
      finalFlushDelayMs: m.finalFlushDelayMinutes * 60_000,
      retryBudgetMs: m.retryBudgetMinutes * 60_000,
      ratePerSecond: m.ratePerSecond,
      batchWindow,
      meterUsageWindow,
      meterUsageFailPolicy: m.meterUsageFailPolicy,
      meterUsageFailAfterMs: m.meterUsageFailAfterMinutes * 60_000,
      senderLeaseMs: m.senderLeaseSeconds * 1000,
    },
    // One sending instance per database: several instances share one AWS metering quota.
    leases,
  });
  const bus = new DomainEventBus((error, event) => logger.error({ err: error, event }, 'domain event listener failed'));
  const events = new EventRepository(store.db);
  const agreementRequests = new AgreementRequestRepository(store.db);
  const eventProcessor = new EventProcessor({
    db: store.db,
    customers,
    events,
    requests: agreementRequests,
    agreements: new SdkAgreementReader(aws.agreement),
    entitlements: entitlementReader,
    catalog,
    bus,
    clock,
    logger,
  });
  // When this instance last handled a message per queue, for the console's queue health.
  const lastMessageAt = new Map<string, Date>();
  const consumers = (deps.queues ?? config.notifications.queues).map(
    (q) =>
      new NotificationQueueConsumer({
        name: q.name,
        queueUrl: q.url,
        sqs: aws.sqs,
        processor: eventProcessor,
        logger,
        onOutcome: () => lastMessageAt.set(q.name, clock.now()),
      }),
  );
  const reconciler = new EntitlementReconciler(
    { customers, reader: entitlementReader, catalog, bus, clock, logger, leases },
    { intervalMs: config.notifications.reconcileIntervalMinutes * 60_000, ratePerSecond: config.notifications.reconcileRatePerSecond },
  );
  const snsTrust: SnsTrust = deps.simulatorOrigin ? { simulatorOrigin: deps.simulatorOrigin } : {};
  const outboundGet = deps.outboundGet ?? boundedGet;
  const snsVerifier = new SnsSignatureVerifier({
    trust: snsTrust,
    certificates: new SnsCertificateStore((url, limits) => outboundGet(url, limits), clock),
    // No topic configured: in aws mode nothing is accepted; the simulator's topics are accepted locally.
    allowedTopicArns:
      config.notifications.snsTopicArns.length > 0
        ? [...config.notifications.snsTopicArns]
        : deps.simulatorOrigin
          ? undefined
          : ['(none configured)'],
  });
  const sessions = new SessionCodec(config.registration.sessionSecret, config.registration.sessionTtlSeconds, clock);
  const changeFeed = new CustomerChangeFeed(store.db, store.dialect);
  const profiles = new CustomerProfileRepository(store.db);
  const webhookEndpoints = new EndpointRepository(store.db);
  const webhookDeliveries = new DeliveryRepository(store.db, store.dialect);
  const w = config.webhooks;
  // Loopback and http: only in simulator mode, for the local demo app (SECURITY.md "Outbound webhooks").
  const webhookPolicy: AddressPolicy = w.allowLocalTargets ? { allowLoopback: true, allowHttp: true } : STRICT_POLICY;
  const webhookDispatcher = new WebhookDispatcher(
    {
      db: store.db,
      deliveries: webhookDeliveries,
      endpoints: webhookEndpoints,
      transport:
        deps.webhookTransport ??
        createWebhookTransport({ policy: webhookPolicy, timeoutMs: w.timeoutMs, userAgent: 'marketplace-bridge-webhooks/0.1' }),
      clock,
      logger,
      productNames: (code) => catalog.find(code)?.name,
    },
    {
      instanceId: `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`,
      pollMs: w.pollMs,
      batchSize: 50,
      concurrency: w.concurrency,
      leaseMs: w.timeoutMs + 30_000,
      schedule: { baseMs: 5_000, capMs: 6 * 3_600_000, windowMs: w.retryWindowHours * 3_600_000 },
      disableAfterMs: w.disableAfterHours * 3_600_000,
    },
  );
  const handoff = new HandoffService(
    {
      issuer: config.http.publicUrl,
      audience: config.handoff.audience,
      loginUrl: config.seller.loginUrl,
      key: config.handoff.key,
      ...(config.handoff.previousKey ? { previousKey: config.handoff.previousKey } : {}),
    },
    new HandoffTokenRepository(store.db),
    clock,
  );
  // The console's sessions: keys of their own, so no buyer session (or sign-in form session) opens it.
  const adminSecret = (label: string) => createHmac('sha256', config.registration.sessionSecret).update(label).digest();
  const adminSessions = new SessionCodec(adminSecret('marketplace-bridge admin session'), config.admin.sessionTtlSeconds, clock);
  const adminLoginSessions = new SessionCodec(adminSecret('marketplace-bridge admin sign-in form'), 900, clock);
  const consoleService = new ConsoleService({
    repository: new ConsoleRepository(store.db),
    customers,
    buckets: meterBuckets,
    agreementDetails: new AgreementDetailsRepository(store.db),
    requests: agreementRequests,
    endingSoonDays: config.contracts.endingSoonDays,
    processor: eventProcessor,
    clock,
    windows: { batch: batchWindow, meterUsage: meterUsageWindow },
    queues: deps.queues ?? config.notifications.queues,
    lastMessageAt: (queue) => lastMessageAt.get(queue) ?? null,
  });
  const localKeyInUse = config.apiKeys.some((k) => k.name === 'local-dev');
  const app = createApp({
    guards: [
      { path: '/admin/login', handlers: [adminLoginRateLimit(config.admin.loginPerMinute)] },
      { path: '/admin', handlers: [adminGate(adminSessions)] },
    ],
    logger,
    apiKeys: config.apiKeys,
    registrationPath: config.registration.path,
    trustProxy: config.http.trustProxy,
    rateLimits: config.rateLimits,
    // The sign-up form and the continue button redirect to LOGIN_URL: CSP form-action must allow it.
    formActionOrigins: config.seller.loginUrl ? [new URL(config.seller.loginUrl).origin] : [],
    validateResponses: deps.validateResponses,
    specViolations: deps.specViolations,
    metrics,
    renderHtmlProblem: (problem) =>
      problem.status === 429
        ? renderMessagePage(config.seller, 'Please wait a moment', [String(problem.detail)])
        : renderMessagePage(config.seller, problem.status >= 500 ? 'Something went wrong' : 'We could not process this request', [
            problem.status >= 500
              ? `Please try again in a few minutes, or contact ${config.seller.name} support at ${config.seller.supportEmail}.`
              : 'The request was not in the form this page expects. Go back to AWS Marketplace and choose "Set up your account" again.',
          ]),
    probeRouters: [
      opsRoutes({
        readiness: [
          { name: 'store', check: () => store.isReady() },
          // A service that never hears about subscriptions would grant and revoke nothing (facts §5).
          ...(config.mode === 'aws'
            ? [
                {
                  name: 'notifications',
                  check: async () =>
                    (deps.queues ?? config.notifications.queues).length > 0 || config.notifications.snsTopicArns.length > 0
                      ? true
                      : 'no notification source: set SUBSCRIPTION_QUEUE_URL, ENTITLEMENT_QUEUE_URL or EVENTBRIDGE_QUEUE_URL (or SNS_TOPIC_ARNS); without one no subscription change is ever received',
                },
              ]
            : []),
          // MeterUsage fail-closed policy (facts §1.7, seed 002 "Gestion des défaillances"); SaaS products have none.
          ...(config.products.some((p) => p.meteringApi === 'meter-usage')
            ? [{ name: 'metering', check: async () => emitter.meteringAccess().allowed }]
            : []),
        ],
      }),
    ],
    publicRouters: [
      startPageRoutes({
        seller: config.seller,
        info: {
          mode: config.mode,
          ...(deps.simulatorPageUrl ? { simulatorUrl: deps.simulatorPageUrl } : {}),
          ...(localKeyInUse ? { localApiKey: LOCAL_DEV_API_KEY } : {}),
        },
        spec: () => stringifyYaml(loadApiSpec(config.registration.path)),
      }),
      snsHttpRoutes({
        verifier: snsVerifier,
        processor: eventProcessor,
        confirm: async (url) => {
          const res = await outboundGet(url, { timeoutMs: 5_000, maxBytes: 16 * 1024 });
          if (res.status !== 200) throw new Error(`SubscribeURL answered ${res.status}`);
        },
        trust: snsTrust,
        logger,
      }),
      marketplaceRoutes({
        registrationPath: config.registration.path,
        registration,
        customers,
        catalog,
        sessions,
        sessionTtlSeconds: config.registration.sessionTtlSeconds,
        secureCookies: config.registration.secureCookies,
        seller: config.seller,
        formEnabled: config.onboarding.formEnabled,
        handoff,
        clock,
        logger,
      }),
      jwksRoutes({ handoff }),
      adminConsoleRoutes({
        console: consoleService,
        sessions: adminSessions,
        loginSessions: adminLoginSessions,
        sessionTtlSeconds: config.admin.sessionTtlSeconds,
        secureCookies: config.admin.secureCookies,
        passwordHash: config.admin.passwordHash,
        apiKeys: config.apiKeys,
        productCodes: config.products.map((p) => p.code),
        sellerName: config.seller.name,
        demoKey: config.mode === 'simulator' && localKeyInUse ? LOCAL_DEV_API_KEY : undefined,
        clock,
      }),
    ],
    apiRouters: [
      registrationsApiRoutes({ registration }),
      usageRoutes({ ledger }),
      meteringRecordsRoutes({ buckets: meterBuckets, clock, logger }),
      accessRoutes({ access: new AccessCheckService({ customers, catalog, metering: () => emitter.meteringAccess(), clock }) }),
      customersRoutes({ customers, profiles, usage: new CustomerUsageRepository(store.db), requests: agreementRequests, catalog, clock }),
      changesRoutes({ feed: changeFeed }),
      webhooksRoutes({ endpoints: webhookEndpoints, deliveries: webhookDeliveries, policy: webhookPolicy, clock }),
      handoffApiRoutes({ handoff, customers, clock }),
    ],
  });
  return {
    app,
    catalog,
    customers,
    registration,
    sessions,
    bus,
    events,
    eventProcessor,
    consumers,
    reconciler,
    contractEndWatch: new ContractEndWatch(
      { contracts: new ContractEndRepository(store.db), clock, logger },
      config.contracts.endingSoonDays,
    ),
    ledger,
    emitter,
    meterBuckets,
    changeFeed,
    profiles,
    webhookEndpoints,
    webhookDeliveries,
    webhookDispatcher,
    handoff,
    metrics,
  };
}
