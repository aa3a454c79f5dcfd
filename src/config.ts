import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { ALL_SCOPES, parseApiKeys, type ApiKey } from './platform/api-keys';
import { generateHandoffKey, parseHandoffKey, type HandoffKey } from './handoff/handoff-keys';
import { parsePasswordHash, type PasswordHash } from './console/admin-credentials';
import { demoProducts, productsSchema, type ProductConfig } from './products/product-config';
import type { ConfiguredEndpoint } from './webhooks/endpoint.repository';
import { parseWebhookEndpoints } from './webhooks/webhook-config';

/**
 * The whole environment, parsed once at start-up. Nothing else in the service reads
 * `process.env`. Every bad value is reported in one message, then the process exits.
 */
export interface Config {
  readonly env: 'development' | 'production' | 'test';
  /** `simulator`: an embedded local Marketplace (no AWS account). `aws`: the real services. */
  readonly mode: 'simulator' | 'aws';
  readonly http: {
    readonly host: string;
    readonly port: number;
    readonly publicUrl: string;
    /** Express `trust proxy`: false, true, a hop count, or addresses/subnets of the proxies. */
    readonly trustProxy: boolean | number | readonly string[];
    /** Slow clients cannot hold sockets: time to send the headers, the whole request, idle keep-alive (ms). */
    readonly headersTimeoutMs: number;
    readonly requestTimeoutMs: number;
    readonly keepAliveTimeoutMs: number;
    /** Connections open at once; more are refused. */
    readonly maxConnections: number;
  };
  /** Requests per minute before 429 (0: no limit). Per client IP for buyer and SNS routes, per API key on `/v1`. */
  readonly rateLimits: { readonly registrationPerMinute: number; readonly snsPerMinute: number; readonly apiPerMinute: number };
  readonly logLevel: string;
  readonly database: { readonly kind: 'sqlite'; readonly path: string } | { readonly kind: 'postgres'; readonly url: string };
  readonly aws: {
    readonly region: string;
    /** Entitlement Service region (AWS documents us-east-1 only). */
    readonly entitlementRegion: string;
    /** Explicit endpoints; when unset the SDK's own `AWS_ENDPOINT_URL_*` variables still apply. */
    readonly endpoints: { readonly metering?: string; readonly entitlement?: string; readonly sqs?: string; readonly agreement?: string };
  };
  readonly simulator: { readonly port: number };
  /** Marketplace notifications: SQS queues (SNS envelopes or EventBridge events) and the SNS HTTPS endpoint. */
  readonly notifications: {
    readonly queues: ReadonlyArray<{ readonly name: string; readonly url: string }>;
    /** Topic ARNs accepted on `POST /marketplace/sns`; empty: the endpoint refuses everything. */
    readonly snsTopicArns: readonly string[];
    /** Re-read every contract customer's entitlements this often (minutes); 0 turns it off. */
    readonly reconcileIntervalMinutes: number;
    /** GetEntitlements calls per second the reconciliation may use (quota 20/s, facts §6). */
    readonly reconcileRatePerSecond: number;
  };
  /** `customer.contract_ending_soon` thresholds: days before a contract's end, largest first (empty: none). */
  readonly contracts: { readonly endingSoonDays: readonly number[] };
  readonly registration: {
    readonly path: string;
    readonly sessionSecret: Buffer;
    readonly sessionTtlSeconds: number;
    readonly secureCookies: boolean;
  };
  readonly seller: {
    readonly name: string;
    readonly supportEmail: string;
    readonly supportUrl?: string;
    readonly productUrl?: string;
    readonly loginUrl?: string;
  };
  /** The sign-up form after registration (README "Buyer pages"). */
  readonly onboarding: {
    /** Show the form; false sends the buyer straight to LOGIN_URL with a hand-off token. Default true. */
    readonly formEnabled: boolean;
  };
  /** Signed webhooks to the seller's app (README "Webhooks"). */
  readonly webhooks: {
    /** Run the dispatcher in this process. Default true. */
    readonly enabled: boolean;
    /** Endpoints from WEBHOOK_ENDPOINTS (besides those managed by API). */
    readonly endpoints: readonly ConfiguredEndpoint[];
    /** Whole-exchange deadline of one attempt, ms. Default 10,000. */
    readonly timeoutMs: number;
    /** Retries stop this long after an event, hours. Default 72. */
    readonly retryWindowHours: number;
    /** An endpoint failing without a success this long is disabled, hours. Default 24. */
    readonly disableAfterHours: number;
    /** Wait between idle passes, ms. Default 1,000. */
    readonly pollMs: number;
    /** Attempts in flight at once per instance. Default 8. */
    readonly concurrency: number;
    /** Allow http: and loopback targets (simulator mode only, for the local demo app). */
    readonly allowLocalTargets: boolean;
  };
  /** The sign-in hand-off to LOGIN_URL (README "Sign-in hand-off"). */
  readonly handoff: {
    /** The signing key (a fresh one per start in simulator mode when none is configured). */
    readonly key: HandoffKey;
    /** A key being retired: its public half stays in the JWKS so tokens it signed still verify. */
    readonly previousKey?: HandoffKey;
    /** `aud` of the tokens. Default: LOGIN_URL's origin. */
    readonly audience: string;
  };
  /** The seller console at `/admin` (README "Console"). */
  readonly admin: {
    /** `ADMIN_PASSWORD_HASH`, parsed; absent: sign in with an API key that has the `admin` scope. */
    readonly passwordHash?: PasswordHash;
    /** Console session lifetime, seconds. Default 28,800 (8 hours). */
    readonly sessionTtlSeconds: number;
    /** Sign-in attempts per client IP per minute (0: no limit). Default 10. */
    readonly loginPerMinute: number;
    /** `Secure` on the console cookie: always outside simulator mode. */
    readonly secureCookies: boolean;
  };
  /** The accepted API keys: name, SHA-256 digest (the keys themselves are not kept) and scopes. */
  readonly apiKeys: readonly ApiKey[];
  readonly products: readonly ProductConfig[];
  /** The hourly metering emitter and the usage ledger (README "Metering"). */
  readonly metering: {
    /** Run the emitter in this process. Default true. */
    readonly enabled: boolean;
    /** Minute of the UTC hour the previous hour is sealed and sent. Default 10. */
    readonly minute: number;
    /** Retry and final-window check interval, seconds. Default 60. */
    readonly pollSeconds: number;
    /** Hourly zero records for active customers. Default true. */
    readonly heartbeat: boolean;
    /** Final flush delay after the final window opens (or the next tick, if sooner), minutes. Default 45. */
    readonly finalFlushDelayMinutes: number;
    /** Backoff budget per record, minutes (facts §6: 30). Default 30. */
    readonly retryBudgetMinutes: number;
    /** Requests per second to the metering API (facts §6 quota). Default 10. */
    readonly ratePerSecond: number;
    /** Age limit of a BatchMeterUsage record, hours (facts §1.6: 24; older docs: 6). Default 24. */
    readonly batchWindowHours: number;
    /** Age limit of a MeterUsage record, hours (facts §1.7). Default 6. */
    readonly meterUsageWindowHours: number;
    /**
     * The metering sender lease: one instance sends at a time (the quota is per AWS account); a
     * dead holder is replaced after this many seconds. Default 30.
     */
    readonly senderLeaseSeconds: number;
    /** MeterUsage fail policy after repeated failures. Default `open`. */
    readonly meterUsageFailPolicy: 'open' | 'closed';
    /** Failure duration before the policy applies, minutes (at least 120). Default 120. */
    readonly meterUsageFailAfterMinutes: number;
  };
  /** How long a graceful stop (SIGTERM) may take before the process exits anyway, ms. */
  readonly shutdownTimeoutMs: number;
  /** Notes for the start-up log (defaults chosen for local use). Never secrets. */
  readonly notices: readonly string[];
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(
      `Invalid configuration (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n${problems.map((p) => `  - ${p}`).join('\n')}`,
    );
    this.name = 'ConfigError';
  }
}

const optionalUrl = z.url({ protocol: /^https?$/ }).optional();
const portNumber = z.coerce.number().int().min(0).max(65535);

const envSchema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  MARKETPLACE_MODE: z.enum(['simulator', 'aws']).optional(),
  HOST: z.string().min(1).default('127.0.0.1'),
  PORT: portNumber.default(3000),
  PUBLIC_URL: optionalUrl,
  TRUST_PROXY: z
    .string()
    .regex(
      /^(true|false|\d{1,2}|[0-9a-fA-F.:/]+(,\s*[0-9a-fA-F.:/]+)*|loopback|linklocal|uniquelocal)$/,
      "false, true, a number of proxy hops (e.g. 1 behind one load balancer), or the proxies' addresses/subnets, comma-separated",
    )
    .default('false'),
  HTTP_HEADERS_TIMEOUT_SECONDS: z.coerce.number().int().min(1).max(300).default(15),
  HTTP_REQUEST_TIMEOUT_SECONDS: z.coerce.number().int().min(1).max(3600).default(60),
  HTTP_KEEP_ALIVE_TIMEOUT_SECONDS: z.coerce.number().int().min(1).max(600).default(5),
  HTTP_MAX_CONNECTIONS: z.coerce.number().int().min(1).max(1_000_000).default(2048),
  RATE_LIMIT_REGISTRATION_PER_MINUTE: z.coerce.number().int().min(0).max(1_000_000).default(30),
  RATE_LIMIT_SNS_PER_MINUTE: z.coerce.number().int().min(0).max(1_000_000).default(600),
  RATE_LIMIT_API_PER_MINUTE: z.coerce.number().int().min(0).max(10_000_000).default(6000),
  RATE_LIMIT_ADMIN_LOGIN_PER_MINUTE: z.coerce.number().int().min(0).max(10_000).default(10),
  ADMIN_PASSWORD_HASH: z.string().optional(),
  ADMIN_SESSION_TTL_SECONDS: z.coerce.number().int().min(60).max(604_800).default(28_800),
  ALLOW_SIMULATOR_IN_PRODUCTION: z.stringbool().default(false),
  SHUTDOWN_TIMEOUT_SECONDS: z.coerce.number().int().min(1).max(600).default(20),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  DATABASE_URL: z
    .string()
    .regex(/^(postgres(ql)?:\/\/|sqlite:|file:)/, 'postgres://user@host:port/db, sqlite:/path/file.sqlite or file:/path/file.sqlite')
    .optional(),
  AWS_REGION: z
    .string()
    .regex(/^[a-z]{2}(-[a-z]+)+-\d$/, 'an AWS region such as us-east-1')
    .default('us-east-1'),
  MARKETPLACE_ENTITLEMENT_REGION: z
    .string()
    .regex(/^[a-z]{2}(-[a-z]+)+-\d$/, 'an AWS region such as us-east-1')
    .default('us-east-1'),
  MARKETPLACE_METERING_ENDPOINT: optionalUrl,
  MARKETPLACE_ENTITLEMENT_ENDPOINT: optionalUrl,
  MARKETPLACE_AGREEMENT_ENDPOINT: optionalUrl,
  SQS_ENDPOINT: optionalUrl,
  SIMULATOR_PORT: portNumber.default(4599),
  SUBSCRIPTION_QUEUE_URL: optionalUrl,
  ENTITLEMENT_QUEUE_URL: optionalUrl,
  EVENTBRIDGE_QUEUE_URL: optionalUrl,
  SNS_TOPIC_ARNS: z
    .string()
    .regex(
      /^(arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]+)?(,\s*arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]+)*$/,
      'comma-separated SNS topic ARNs',
    )
    .optional(),
  ENTITLEMENT_RECONCILE_MINUTES: z.coerce.number().int().min(0).max(10_080).default(360),
  CONTRACT_ENDING_SOON_DAYS: z
    .string()
    .trim()
    .regex(
      /^(\d{1,4}(\s*,\s*\d{1,4})*)?$/,
      'whole numbers of days before a contract ends, comma-separated (e.g. 60,30,7), or empty for none',
    )
    .refine((v) => v === '' || v.split(',').every((d) => Number(d) >= 1 && Number(d) <= 3650), 'each number of days is 1 to 3650')
    .refine((v) => new Set(v.split(',').map((d) => Number(d))).size === v.split(',').length, 'each number of days appears once')
    .default('60,30,7'),
  ENTITLEMENT_RECONCILE_RATE: z.coerce.number().min(0.1).max(20).default(5),
  REGISTRATION_PATH: z
    .string()
    .regex(/^\/[A-Za-z0-9/_-]*$/, 'an absolute URL path such as /marketplace/register')
    .default('/marketplace/register'),
  SESSION_SECRET: z.string().min(32, 'at least 32 characters of random text').optional(),
  SESSION_TTL_SECONDS: z.coerce.number().int().min(60).max(86_400).default(3600),
  COOKIE_SECURE: z.stringbool().optional(),
  SELLER_NAME: z.string().min(1).max(200).default('Example SaaS'),
  SUPPORT_EMAIL: z.email().optional(),
  SUPPORT_URL: optionalUrl,
  PRODUCT_URL: optionalUrl,
  LOGIN_URL: optionalUrl,
  API_KEYS: z.string().optional(),
  API_KEY_SHA256: z.string().optional(),
  MARKETPLACE_PRODUCTS: z.string().optional(),
  MARKETPLACE_PRODUCTS_FILE: z.string().optional(),
  ONBOARDING_FORM: z.stringbool().default(true),
  WEBHOOKS_ENABLED: z.stringbool().default(true),
  WEBHOOK_ENDPOINTS: z.string().optional(),
  WEBHOOK_TIMEOUT_SECONDS: z.coerce.number().int().min(1).max(60).default(10),
  WEBHOOK_RETRY_HOURS: z.coerce.number().int().min(1).max(72, 'at most 72 (3 days)').default(72),
  WEBHOOK_DISABLE_AFTER_HOURS: z.coerce.number().int().min(1).max(720).default(24),
  WEBHOOK_POLL_MS: z.coerce.number().int().min(50).max(60_000).default(1000),
  WEBHOOK_CONCURRENCY: z.coerce.number().int().min(1).max(100).default(8),
  HANDOFF_SIGNING_KEY: z.string().optional(),
  HANDOFF_SIGNING_KEY_FILE: z.string().optional(),
  HANDOFF_PREVIOUS_SIGNING_KEY: z.string().optional(),
  HANDOFF_AUDIENCE: z.string().min(1).max(500).optional(),
  METERING_ENABLED: z.stringbool().default(true),
  METERING_EMITTER_MINUTE: z.coerce.number().int().min(0).max(59).optional(),
  METERING_POLL_SECONDS: z.coerce.number().int().min(1).max(3600).default(60),
  METERING_HEARTBEAT: z.stringbool().default(true),
  METERING_FINAL_FLUSH_DELAY_MINUTES: z.coerce.number().int().min(0).max(60).default(45),
  METERING_RETRY_BUDGET_MINUTES: z.coerce
    .number()
    .int()
    .min(1)
    .max(24 * 60)
    .default(30),
  METERING_RATE_LIMIT: z.coerce.number().min(0.1).max(10).default(10),
  METERING_BATCH_WINDOW_HOURS: z.coerce.number().int().min(1).max(24).default(24),
  METERING_METER_USAGE_WINDOW_HOURS: z.coerce.number().int().min(1).max(6).default(6),
  METERING_SENDER_LEASE_SECONDS: z.coerce.number().int().min(5).max(600).default(30),
  METER_USAGE_FAIL_POLICY: z.enum(['open', 'closed']).default('open'),
  METER_USAGE_FAIL_AFTER_MINUTES: z.coerce
    .number()
    .int()
    .min(120, 'at least 120 (AWS: not before 2 hours of failures)')
    .max(7 * 24 * 60)
    .default(120),
});

type RawEnv = Record<string, string | undefined>;

/** Parses the environment; throws {@link ConfigError} listing every problem. */
export function loadConfig(env: RawEnv = process.env): Config {
  const problems: string[] = [];
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const name = String(issue.path[0] ?? '?');
      problems.push(`${name}: ${issue.message} (got ${describeValue(name, env[name])})`);
    }
  }
  const e = parsed.success ? parsed.data : undefined;
  // The mode decides which variables are required; read it from the raw values too, so that one
  // bad value elsewhere does not hide the missing ones (every problem is reported at once).
  const rawMode = env.MARKETPLACE_MODE === 'aws' || env.MARKETPLACE_MODE === 'simulator' ? env.MARKETPLACE_MODE : undefined;
  const mode = e?.MARKETPLACE_MODE ?? rawMode ?? ((e?.NODE_ENV ?? env.NODE_ENV) === 'production' ? 'aws' : 'simulator');
  const notices: string[] = [];

  const products = loadProducts(env, mode, problems, notices);
  const apiKeys = loadApiKeys(env, mode, problems, notices);
  // Loopback and http: targets only for the local demo (SECURITY.md "Outbound webhooks").
  const allowLocalTargets = mode === 'simulator';
  const webhookEndpoints = parseWebhookEndpoints(env.WEBHOOK_ENDPOINTS, { allowLoopback: allowLocalTargets, allowHttp: allowLocalTargets });
  problems.push(...webhookEndpoints.problems);
  const handoffKeys = loadHandoffKeys(env, mode, problems, notices);
  let passwordHash: PasswordHash | undefined;
  if (env.ADMIN_PASSWORD_HASH) {
    const parsedHash = parsePasswordHash(env.ADMIN_PASSWORD_HASH);
    if (typeof parsedHash === 'string') problems.push(`ADMIN_PASSWORD_HASH: ${parsedHash}`);
    else passwordHash = parsedHash;
  }
  if (env.ONBOARDING_FORM !== undefined && /^(false|0|no|off|n)$/i.test(env.ONBOARDING_FORM) && !env.LOGIN_URL) {
    problems.push('ONBOARDING_FORM: false sends buyers straight to LOGIN_URL, which is not set; set LOGIN_URL or remove ONBOARDING_FORM');
  }

  if (mode === 'simulator' && (e?.NODE_ENV ?? env.NODE_ENV) === 'production' && env.ALLOW_SIMULATOR_IN_PRODUCTION !== 'true') {
    problems.push(
      'MARKETPLACE_MODE: simulator mode with NODE_ENV=production would take no real buyer and bill nobody; use MARKETPLACE_MODE=aws, or set ALLOW_SIMULATOR_IN_PRODUCTION=true for a demo',
    );
  }
  if (mode === 'aws' && env.COOKIE_SECURE !== undefined && /^(false|0|no|off|n)$/i.test(env.COOKIE_SECURE)) {
    problems.push('COOKIE_SECURE: cookies are always Secure when MARKETPLACE_MODE=aws (buyers arrive over HTTPS); remove the variable');
  }
  if (mode === 'aws') {
    if (!env.SESSION_SECRET)
      problems.push('SESSION_SECRET: required when MARKETPLACE_MODE=aws (got nothing; expected at least 32 characters of random text)');
    if (!env.SUPPORT_EMAIL)
      problems.push('SUPPORT_EMAIL: required when MARKETPLACE_MODE=aws (got nothing; expected the support address buyers see)');
  }
  if (!e || problems.length > 0) throw new ConfigError(problems);

  if (e.TRUST_PROXY === 'true') {
    notices.push(
      'TRUST_PROXY=true trusts every X-Forwarded-For hop, so a client can choose the address its rate limits count against; set the number of proxies instead (1 behind one load balancer).',
    );
  }
  let sessionSecret: Buffer;
  if (e.SESSION_SECRET) sessionSecret = Buffer.from(e.SESSION_SECRET, 'utf8');
  else {
    sessionSecret = randomBytes(32);
    notices.push('SESSION_SECRET is not set: onboarding sessions use a random secret and end when the process restarts.');
  }

  return Object.freeze({
    env: e.NODE_ENV,
    mode,
    http: {
      host: e.HOST,
      port: e.PORT,
      publicUrl: (e.PUBLIC_URL ?? `http://127.0.0.1:${e.PORT}`).replace(/\/$/, ''),
      trustProxy: trustProxySetting(e.TRUST_PROXY),
      headersTimeoutMs: e.HTTP_HEADERS_TIMEOUT_SECONDS * 1000,
      requestTimeoutMs: e.HTTP_REQUEST_TIMEOUT_SECONDS * 1000,
      keepAliveTimeoutMs: e.HTTP_KEEP_ALIVE_TIMEOUT_SECONDS * 1000,
      maxConnections: e.HTTP_MAX_CONNECTIONS,
    },
    rateLimits: {
      registrationPerMinute: e.RATE_LIMIT_REGISTRATION_PER_MINUTE,
      snsPerMinute: e.RATE_LIMIT_SNS_PER_MINUTE,
      apiPerMinute: e.RATE_LIMIT_API_PER_MINUTE,
    },
    logLevel: e.LOG_LEVEL,
    database: databaseConfig(e.DATABASE_URL),
    aws: {
      region: e.AWS_REGION,
      entitlementRegion: e.MARKETPLACE_ENTITLEMENT_REGION,
      endpoints: {
        metering: e.MARKETPLACE_METERING_ENDPOINT,
        entitlement: e.MARKETPLACE_ENTITLEMENT_ENDPOINT,
        sqs: e.SQS_ENDPOINT,
        agreement: e.MARKETPLACE_AGREEMENT_ENDPOINT,
      },
    },
    simulator: { port: e.SIMULATOR_PORT },
    notifications: {
      queues: [
        ...(e.SUBSCRIPTION_QUEUE_URL ? [{ name: 'subscription', url: e.SUBSCRIPTION_QUEUE_URL }] : []),
        ...(e.ENTITLEMENT_QUEUE_URL ? [{ name: 'entitlement', url: e.ENTITLEMENT_QUEUE_URL }] : []),
        ...(e.EVENTBRIDGE_QUEUE_URL ? [{ name: 'eventbridge', url: e.EVENTBRIDGE_QUEUE_URL }] : []),
      ],
      snsTopicArns: splitList(e.SNS_TOPIC_ARNS),
      reconcileIntervalMinutes: e.ENTITLEMENT_RECONCILE_MINUTES,
      reconcileRatePerSecond: e.ENTITLEMENT_RECONCILE_RATE,
    },
    contracts: {
      endingSoonDays:
        e.CONTRACT_ENDING_SOON_DAYS === ''
          ? []
          : e.CONTRACT_ENDING_SOON_DAYS.split(',')
              .map((d) => Number(d.trim()))
              .sort((a, b) => b - a),
    },
    registration: {
      path: e.REGISTRATION_PATH,
      sessionSecret,
      sessionTtlSeconds: e.SESSION_TTL_SECONDS,
      // Real buyers reach an aws-mode service over HTTPS: its cookies are always Secure.
      secureCookies: mode === 'aws' || (e.COOKIE_SECURE ?? e.NODE_ENV === 'production'),
    },
    seller: {
      name: e.SELLER_NAME,
      supportEmail: e.SUPPORT_EMAIL ?? 'support@example.com',
      supportUrl: e.SUPPORT_URL,
      productUrl: e.PRODUCT_URL,
      loginUrl: e.LOGIN_URL,
    },
    onboarding: { formEnabled: e.ONBOARDING_FORM },
    webhooks: {
      enabled: e.WEBHOOKS_ENABLED,
      endpoints: webhookEndpoints.endpoints,
      timeoutMs: e.WEBHOOK_TIMEOUT_SECONDS * 1000,
      retryWindowHours: e.WEBHOOK_RETRY_HOURS,
      disableAfterHours: e.WEBHOOK_DISABLE_AFTER_HOURS,
      pollMs: e.WEBHOOK_POLL_MS,
      concurrency: e.WEBHOOK_CONCURRENCY,
      allowLocalTargets,
    },
    handoff: {
      key: handoffKeys.key ?? generateHandoffKey(),
      ...(handoffKeys.previous ? { previousKey: handoffKeys.previous } : {}),
      audience:
        e.HANDOFF_AUDIENCE ??
        (e.LOGIN_URL ? new URL(e.LOGIN_URL).origin : (e.PUBLIC_URL ?? `http://127.0.0.1:${e.PORT}`).replace(/\/$/, '')),
    },
    admin: {
      ...(passwordHash ? { passwordHash } : {}),
      sessionTtlSeconds: e.ADMIN_SESSION_TTL_SECONDS,
      loginPerMinute: e.RATE_LIMIT_ADMIN_LOGIN_PER_MINUTE,
      secureCookies: mode !== 'simulator',
    },
    apiKeys,
    products,
    metering: {
      enabled: e.METERING_ENABLED,
      // Simulator mode: on the hour, so that advancing the demo clock one hour always bills the hour just ended.
      minute: e.METERING_EMITTER_MINUTE ?? (mode === 'simulator' ? 0 : 10),
      pollSeconds: e.METERING_POLL_SECONDS,
      heartbeat: e.METERING_HEARTBEAT,
      finalFlushDelayMinutes: e.METERING_FINAL_FLUSH_DELAY_MINUTES,
      retryBudgetMinutes: e.METERING_RETRY_BUDGET_MINUTES,
      ratePerSecond: e.METERING_RATE_LIMIT,
      batchWindowHours: e.METERING_BATCH_WINDOW_HOURS,
      meterUsageWindowHours: e.METERING_METER_USAGE_WINDOW_HOURS,
      senderLeaseSeconds: e.METERING_SENDER_LEASE_SECONDS,
      meterUsageFailPolicy: e.METER_USAGE_FAIL_POLICY,
      meterUsageFailAfterMinutes: e.METER_USAGE_FAIL_AFTER_MINUTES,
    },
    shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT_SECONDS * 1000,
    notices,
  });
}

function trustProxySetting(value: string): Config['http']['trustProxy'] {
  if (value === 'true') return true;
  if (value === 'false') return false;
  if (/^\d+$/.test(value)) return Number(value);
  return splitList(value);
}

function databaseConfig(url: string | undefined): Config['database'] {
  if (!url) return { kind: 'sqlite', path: './data/marketplace-bridge.sqlite' };
  if (/^postgres(ql)?:\/\//.test(url)) return { kind: 'postgres', url };
  return { kind: 'sqlite', path: url.replace(/^(sqlite|file):(\/\/)?/, '') };
}

function loadProducts(env: RawEnv, mode: string, problems: string[], notices: string[]): ProductConfig[] {
  let source: string | undefined;
  let text = env.MARKETPLACE_PRODUCTS;
  if (env.MARKETPLACE_PRODUCTS && env.MARKETPLACE_PRODUCTS_FILE) {
    problems.push('MARKETPLACE_PRODUCTS / MARKETPLACE_PRODUCTS_FILE: set one of them, not both');
    return [];
  }
  if (text !== undefined) source = 'MARKETPLACE_PRODUCTS';
  else if (env.MARKETPLACE_PRODUCTS_FILE) {
    source = 'MARKETPLACE_PRODUCTS_FILE';
    try {
      text = readFileSync(env.MARKETPLACE_PRODUCTS_FILE, 'utf8');
    } catch (error) {
      problems.push(
        `MARKETPLACE_PRODUCTS_FILE: cannot read ${JSON.stringify(env.MARKETPLACE_PRODUCTS_FILE)} (${(error as Error).message})`,
      );
      return [];
    }
  }
  if (text === undefined) {
    if (mode === 'aws') {
      problems.push(
        'MARKETPLACE_PRODUCTS: required when MARKETPLACE_MODE=aws (got nothing; expected a JSON array of products, see README "Products")',
      );
      return [];
    }
    notices.push(`No products configured: serving the demo products ${demoProducts.map((p) => p.code).join(', ')}.`);
    return demoProducts;
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    problems.push(`${source}: not valid JSON (${(error as Error).message}); expected a JSON array of products`);
    return [];
  }
  const result = productsSchema.safeParse(json);
  if (!result.success) {
    for (const issue of result.error.issues) {
      problems.push(`${source}: at ${issue.path.length ? issue.path.join('.') : '(top)'}: ${issue.message}`);
    }
    return [];
  }
  return result.data;
}

function loadApiKeys(env: RawEnv, mode: string, problems: string[], notices: string[]): Config['apiKeys'] {
  const plain = parseApiKeys(env.API_KEYS, 'API_KEYS');
  const hashed = parseApiKeys(env.API_KEY_SHA256, 'API_KEY_SHA256');
  problems.push(...plain.problems, ...hashed.problems);
  const keys = [...plain.keys, ...hashed.keys];
  if (keys.length === 0 && plain.problems.length + hashed.problems.length === 0) {
    if (mode === 'aws') {
      problems.push(
        'API_KEYS / API_KEY_SHA256: at least one API key is required when MARKETPLACE_MODE=aws (expected name(scope scope)=key entries, comma-separated)',
      );
    } else {
      keys.push({ name: 'local-dev', sha256: createHash('sha256').update(LOCAL_DEV_API_KEY).digest(), scopes: new Set(ALL_SCOPES) });
      notices.push(`No API key configured: the local key "${LOCAL_DEV_API_KEY}" is accepted with every scope (simulator mode only).`);
      notices.push(`Console: open /admin and sign in with the API key "${LOCAL_DEV_API_KEY}" (demo login, simulator mode only).`);
    }
  }
  return keys;
}

/**
 * The hand-off signing keys. Required in aws mode when LOGIN_URL is set (several instances must
 * sign with one key, and apps cache the JWKS); simulator mode generates one per start.
 */
function loadHandoffKeys(env: RawEnv, mode: string, problems: string[], notices: string[]): { key?: HandoffKey; previous?: HandoffKey } {
  let text = env.HANDOFF_SIGNING_KEY;
  let source = 'HANDOFF_SIGNING_KEY';
  if (env.HANDOFF_SIGNING_KEY && env.HANDOFF_SIGNING_KEY_FILE) {
    problems.push('HANDOFF_SIGNING_KEY / HANDOFF_SIGNING_KEY_FILE: set one of them, not both');
    return {};
  }
  if (env.HANDOFF_SIGNING_KEY_FILE) {
    source = 'HANDOFF_SIGNING_KEY_FILE';
    try {
      text = readFileSync(env.HANDOFF_SIGNING_KEY_FILE, 'utf8');
    } catch (error) {
      problems.push(`HANDOFF_SIGNING_KEY_FILE: cannot read ${JSON.stringify(env.HANDOFF_SIGNING_KEY_FILE)} (${(error as Error).message})`);
      return {};
    }
  }
  const out: { key?: HandoffKey; previous?: HandoffKey } = {};
  if (text) {
    const parsed = parseHandoffKey(text);
    if (typeof parsed === 'string') problems.push(`${source}: ${parsed}`);
    else out.key = parsed;
  } else if (mode === 'aws' && env.LOGIN_URL) {
    problems.push(
      'HANDOFF_SIGNING_KEY: required when MARKETPLACE_MODE=aws and LOGIN_URL is set (got nothing; expected a PEM private key: EC P-256, Ed25519 or RSA 2048+; README "Sign-in hand-off")',
    );
  } else if (env.LOGIN_URL) {
    notices.push('HANDOFF_SIGNING_KEY is not set: sign-in hand-off tokens use a key generated at start-up (simulator mode only).');
  }
  if (env.HANDOFF_PREVIOUS_SIGNING_KEY) {
    const parsed = parseHandoffKey(env.HANDOFF_PREVIOUS_SIGNING_KEY);
    if (typeof parsed === 'string') problems.push(`HANDOFF_PREVIOUS_SIGNING_KEY: ${parsed}`);
    else out.previous = parsed;
  }
  return out;
}

/** The API key accepted in simulator mode when none is configured (documented in the README). */
export const LOCAL_DEV_API_KEY = 'local-dev-api-key-change-me';

function splitList(value: string | undefined): string[] {
  return (value ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

const SECRET_NAMES = new Set([
  'SESSION_SECRET',
  'API_KEYS',
  'API_KEY_SHA256',
  'WEBHOOK_ENDPOINTS',
  'HANDOFF_SIGNING_KEY',
  'HANDOFF_PREVIOUS_SIGNING_KEY',
  'ADMIN_PASSWORD_HASH',
]);

function describeValue(name: string, value: string | undefined): string {
  if (value === undefined) return 'nothing';
  if (SECRET_NAMES.has(name)) return `a hidden value of ${value.length} characters`;
  if (value.length > 60) return `"${value.slice(0, 57)}..."`;
  return JSON.stringify(value);
}
