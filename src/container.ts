import type { Express } from 'express';
import { NotificationQueueConsumer } from '../handlers/queue-notification.consumer';
import type { Logger } from 'pino';
import { accessRoutes } from '../routes/access.routes';
import { marketplaceRoutes } from '../routes/marketplace-registration.routes';
import { opsRoutes } from '../routes/ops.routes';
import { meteringRecordsRoutes } from '../routes/metering-records.routes';
import { registrationsApiRoutes } from '../routes/registrations-api.routes';
import { usageRoutes } from '../routes/usage.routes';
import { snsHttpRoutes } from '../routes/sns-http.routes';
import type { SpecViolation } from '../routes/support/response-conformance';
import { renderMessagePage } from '../routes/views/message-page';
import { createApp } from './app';
import type { AwsClients } from './aws/clients';
import { SdkCustomerResolver } from './aws/customer-resolver.gateway';
import { SdkEntitlementReader } from './aws/entitlement-reader.gateway';
import { SdkMeteringGateway } from './aws/metering.gateway';
import type { Config } from './config';
import { CustomerRepository } from './customers/customer.repository';
import { RegistrationService } from './customers/registration.service';
import { AccessCheckService } from './entitlements/access-check.service';
import { EntitlementReconciler } from './entitlements/entitlement-reconciler';
import { EventRepository } from './events/event.repository';
import { EventProcessor } from './events/event-processor';
import { AWS_SNS_CERT_URL_PATTERN, simulatorCertUrlPattern, simulatorSubscribeUrlPattern, SnsSignatureVerifier } from './events/sns-signature';
import { DomainEventBus } from './platform/domain-events';
import type { Clock } from './platform/clock';
import { SessionCodec } from './platform/signed-session';
import { BucketRepository } from './metering/bucket.repository';
import { MeteringEmitter } from './metering/emitter';
import { UsageLedger } from './metering/ledger';
import { windowPolicy } from './metering/windows';
import { ProductCatalog } from './products/product-config';
import type { Store } from './store/database';

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
  /** Accept SNS certificates and SubscribeURLs from the local simulator (simulator mode and tests only). */
  readonly trustSimulatorSns?: boolean;
  /** Notification queues to poll; default: the configured ones (the simulator supplies its own). */
  readonly queues?: ReadonlyArray<{ readonly name: string; readonly url: string }>;
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
  /** The usage ledger behind `POST /v1/usage`. */
  readonly ledger: UsageLedger;
  /** The hourly metering emitter; `handlers/metering-tick.ts` schedules it, notification handlers call `onFinalWindowOpened`. */
  readonly emitter: MeteringEmitter;
  readonly meterBuckets: BucketRepository;
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
  const ledger = new UsageLedger({ db: store.db, dialect: store.dialect, catalog, clock, logger, options: { batchWindow, meterUsageWindow } });
  const meterBuckets = new BucketRepository(store.db, store.dialect);
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
    },
  });
  const bus = new DomainEventBus((error, event) => logger.error({ err: error, event }, 'domain event listener failed'));
  const events = new EventRepository(store.db);
  const eventProcessor = new EventProcessor({ db: store.db, customers, events, entitlements: entitlementReader, catalog, bus, clock, logger });
  const consumers = (deps.queues ?? config.notifications.queues).map(
    (q) => new NotificationQueueConsumer({ name: q.name, queueUrl: q.url, sqs: aws.sqs, processor: eventProcessor, logger }),
  );
  const reconciler = new EntitlementReconciler(
    { customers, reader: entitlementReader, catalog, bus, clock, logger },
    { intervalMs: config.notifications.reconcileIntervalMinutes * 60_000, ratePerSecond: config.notifications.reconcileRatePerSecond },
  );
  const snsVerifier = new SnsSignatureVerifier({
    allowedCertUrl: deps.trustSimulatorSns ? [AWS_SNS_CERT_URL_PATTERN, simulatorCertUrlPattern()] : [AWS_SNS_CERT_URL_PATTERN],
    fetchCertificate: async (url) => {
      const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
      if (!res.ok) throw new Error(`certificate fetch answered ${res.status}`);
      return res.text();
    },
    // No topic configured: in aws mode nothing is accepted; the simulator's topics are accepted locally.
    allowedTopicArns: config.notifications.snsTopicArns.length > 0 ? [...config.notifications.snsTopicArns] : deps.trustSimulatorSns ? undefined : ['(none configured)'],
    clock,
  });
  const sessions = new SessionCodec(config.registration.sessionSecret, config.registration.sessionTtlSeconds, clock);
  const app = createApp({
    logger,
    apiKeys: config.apiKeys,
    registrationPath: config.registration.path,
    trustProxy: config.http.trustProxy,
    validateResponses: deps.validateResponses,
    specViolations: deps.specViolations,
    renderHtmlProblem: (problem) =>
      renderMessagePage(config.seller, problem.status >= 500 ? 'Something went wrong' : 'We could not process this request', [
        problem.status >= 500
          ? `Please try again in a few minutes, or contact ${config.seller.name} support at ${config.seller.supportEmail}.`
          : 'The request was not in the form this page expects. Go back to AWS Marketplace and choose "Set up your account" again.',
      ]),
    publicRouters: [
      opsRoutes({
        readiness: [
          { name: 'store', check: () => store.isReady() },
          // MeterUsage fail-closed policy (facts §1.7, seed 002 "Gestion des défaillances"); SaaS products have none.
          ...(config.products.some((p) => p.meteringApi === 'meter-usage') ? [{ name: 'metering', check: async () => emitter.meteringAccess().allowed }] : []),
        ],
      }),
      snsHttpRoutes({
        verifier: snsVerifier,
        processor: eventProcessor,
        confirm: async (url) => {
          const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
          if (!res.ok) throw new Error(`SubscribeURL answered ${res.status}`);
        },
        extraSubscribeUrls: deps.trustSimulatorSns ? [simulatorSubscribeUrlPattern()] : [],
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
        clock,
        logger,
      }),
    ],
    apiRouters: [
      registrationsApiRoutes({ registration }),
      usageRoutes({ ledger }),
      meteringRecordsRoutes({ buckets: meterBuckets, clock, logger }),
      accessRoutes({ access: new AccessCheckService({ customers, catalog, metering: () => emitter.meteringAccess(), clock }) }),
    ],
  });
  return { app, catalog, customers, registration, sessions, bus, events, eventProcessor, consumers, reconciler, ledger, emitter, meterBuckets };
}
