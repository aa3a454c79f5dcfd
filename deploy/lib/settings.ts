import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { z } from 'zod';
import { productsSchema } from '../../src/products/product-config';
import type { QueueKind } from './names';

/**
 * What a seller fills in before synthesizing (deploy/settings.example.json). Everything is decided
 * at synth time: the number of SNS subscriptions and EventBridge rules depends on these lists, which
 * CloudFormation parameters cannot express. Unknown keys are refused, so a typo is an error.
 */

/** Marketplace SNS topics live in us-east-1 (facts §5.1); one pair per product code. */
const topicArn = (kind: 'subscription' | 'entitlement') =>
  z
    .string()
    .regex(
      new RegExp(`^arn:aws:sns:us-east-1:\\d{12}:aws-mp-${kind}-notification-[A-Za-z0-9]+$`),
      `arn:aws:sns:us-east-1:<account>:aws-mp-${kind}-notification-<PRODUCTCODE>`,
    );

/** EventBridge licence events carry `detail.product.id`, the `prod-…` id (facts §5.4), not the product code. */
const productId = z.string().regex(/^prod-[A-Za-z0-9]+$/, 'a Marketplace product id such as prod-abc123example');

const principalArn = z.string().regex(/^arn:aws[a-z-]*:(iam|sts)::\d{12}:[A-Za-z0-9+=,.@_/:-]+$/, 'an IAM principal ARN');

/** The environment variables the stack sets itself; `environment` may not override them. */
export const STACK_MANAGED_VARIABLES = [
  'NODE_ENV',
  'MARKETPLACE_MODE',
  'HOST',
  'PORT',
  'PUBLIC_URL',
  'TRUST_PROXY',
  'AWS_REGION',
  'DATABASE_URL',
  'SUBSCRIPTION_QUEUE_URL',
  'ENTITLEMENT_QUEUE_URL',
  'EVENTBRIDGE_QUEUE_URL',
  'SESSION_SECRET',
  'API_KEYS',
  'API_KEY_SHA256',
  'MARKETPLACE_PRODUCTS',
  'MARKETPLACE_PRODUCTS_FILE',
  'SELLER_NAME',
  'SUPPORT_EMAIL',
  'SUPPORT_URL',
  'PRODUCT_URL',
  'LOGIN_URL',
  'PGHOST',
  'PGPORT',
  'PGUSER',
  'PGPASSWORD',
  'PGDATABASE',
] as const;

const integrationSchema = z
  .strictObject({
    /** SNS subscription topics, one per product (listings integrated before EventBridge). Default none: no subscription queue. */
    subscriptionTopicArns: z.array(topicArn('subscription')).default([]),
    /** SNS entitlement topics (contracts). Default none: no entitlement queue. */
    entitlementTopicArns: z.array(topicArn('entitlement')).default([]),
    eventBridge: z
      .strictObject({
        /** Rule(s) on the default bus for `aws.agreement-marketplace`, and their queue. Default true. */
        enabled: z.boolean().default(true),
        /** Keep only the licence events of these products; agreement events carry no product and always pass. Default: all. */
        productIds: z.array(productId).default([]),
      })
      .prefault({}),
    /** Deliveries of one message before SQS dead-letters it. Default 10 (10 minutes at the service's 60 s visibility timeout). */
    maxReceiveCount: z.number().int().min(1).max(1000).default(10),
    /** Include `aws-marketplace:MeterUsage` (products with `meteringApi: meter-usage`). Default false: SaaS meters with BatchMeterUsage. */
    allowMeterUsage: z.boolean().default(false),
    /** Let ECS tasks of this account assume the service role. Default true. */
    trustEcsTasks: z.boolean().default(true),
    /** Further principals (a role running the container elsewhere) that may assume the service role. Default none. */
    trustedPrincipalArns: z.array(principalArn).default([]),
    /** SNS topic the dead-letter alarms notify. Default: alarms without an action. */
    alarmTopicArn: z
      .string()
      .regex(/^arn:aws:sns:us-east-1:\d{12}:[A-Za-z0-9_-]+$/, 'an SNS topic ARN in us-east-1')
      .optional(),
  })
  .superRefine((integration, ctx) => {
    if (!integration.eventBridge.enabled && integration.subscriptionTopicArns.length + integration.entitlementTopicArns.length === 0)
      ctx.addIssue({
        code: 'custom',
        path: ['eventBridge', 'enabled'],
        message: 'no notification source: give SNS topic ARNs or enable EventBridge',
      });
    if (!integration.trustEcsTasks && integration.trustedPrincipalArns.length === 0)
      ctx.addIssue({
        code: 'custom',
        path: ['trustedPrincipalArns'],
        message: 'nobody could assume the service role: keep trustEcsTasks or list principals',
      });
    for (const key of ['subscriptionTopicArns', 'entitlementTopicArns', 'trustedPrincipalArns'] as const) {
      const seen = new Set<string>();
      for (const [index, value] of integration[key].entries()) {
        if (seen.has(value)) ctx.addIssue({ code: 'custom', path: [key, index], message: `${value} is listed twice` });
        seen.add(value);
      }
    }
  });

const imageSchema = z.union([
  /** An image the seller pushed (ECR or another registry). */
  z.strictObject({
    uri: z
      .string()
      .regex(/^[a-z0-9.-]+(:\d+)?\/[a-z0-9._/-]+(:[A-Za-z0-9._-]+|@sha256:[a-f0-9]{64})$/, 'an image URI with a tag or digest'),
  }),
  /** Build this repository's Dockerfile as a CDK asset (needs Docker and the CDK CLI at deploy time). */
  z.strictObject({ build: z.literal(true) }),
]);

const serviceSchema = z
  .strictObject({
    /** Region of the service stack. Default us-east-1, where metering and the queues are. */
    region: z
      .string()
      .regex(/^[a-z]{2}(-[a-z]+)+-\d$/, 'an AWS region such as us-east-1')
      .default('us-east-1'),
    /** Public host name of the service; `PUBLIC_URL` is `https://<domainName>`. */
    domainName: z.string().regex(/^(?!-)[a-z0-9-]{1,63}(\.[a-z0-9-]{1,63})+$/, 'a lower-case DNS name such as marketplace.example.com'),
    /** ACM certificate for domainName, in the service region. */
    certificateArn: z.string().regex(/^arn:aws[a-z-]*:acm:[a-z0-9-]+:\d{12}:certificate\/[A-Za-z0-9-]+$/, 'an ACM certificate ARN'),
    /** Route 53 public hosted zone of domainName: when set, an alias record is created. Default: create the DNS record yourself. */
    hostedZone: z.strictObject({ id: z.string().regex(/^Z[A-Z0-9]+$/, 'a hosted zone id'), name: z.string().min(1) }).optional(),
    image: imageSchema.default({ build: true }),
    cpuArchitecture: z.enum(['X86_64', 'ARM64']).default('X86_64'),
    desiredCount: z.number().int().min(1).max(20).default(2),
    /** Fargate task size. Default 512 CPU units and 1024 MiB. */
    cpu: z.union([z.literal(256), z.literal(512), z.literal(1024), z.literal(2048), z.literal(4096)]).default(512),
    memoryMiB: z.number().int().min(512).max(30720).default(1024),
    sellerName: z.string().min(1).max(200),
    supportEmail: z.email(),
    supportUrl: z.url({ protocol: /^https$/ }).optional(),
    productUrl: z.url({ protocol: /^https$/ }).optional(),
    loginUrl: z.url({ protocol: /^https$/ }).optional(),
    /** The products sold (README "Products"), inline … */
    products: z.unknown().optional(),
    /** … or in a JSON file, relative to the settings file. */
    productsFile: z.string().min(1).optional(),
    /** An existing Secrets Manager secret whose value is `API_KEYS` (`name=key,…`). Default: a generated key. */
    apiKeysSecretArn: z
      .string()
      .regex(/^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]+-[A-Za-z0-9]{6}$/, 'a complete secret ARN')
      .optional(),
    database: z
      .strictObject({
        instanceType: z
          .string()
          .regex(/^[a-z0-9]+\.[a-z0-9]+$/, 'an instance class without "db.", such as t4g.micro')
          .default('t4g.micro'),
        multiAz: z.boolean().default(true),
        deletionProtection: z.boolean().default(true),
        allocatedStorageGiB: z.number().int().min(20).max(65536).default(20),
        maxAllocatedStorageGiB: z.number().int().min(20).max(65536).default(100),
        backupRetentionDays: z.number().int().min(1).max(35).default(7),
        /** Path of the RDS CA bundle inside your image: the certificate is then verified. Default: encrypted, not verified. */
        caBundlePath: z
          .string()
          .regex(/^\/[A-Za-z0-9._/-]+\.pem$/, 'an absolute path to a .pem file in the image')
          .optional(),
      })
      .prefault({}),
    /** NAT gateways for the tasks' calls to AWS APIs. Default 1 (2 survives the loss of an AZ). */
    natGateways: z.number().int().min(1).max(2).default(1),
    /** CloudWatch Logs retention of the service, flow and database logs, days. Default 90. */
    logRetentionDays: z
      .union([z.literal(7), z.literal(14), z.literal(30), z.literal(60), z.literal(90), z.literal(180), z.literal(365), z.literal(731)])
      .default(90),
    /** Further non-secret variables (README "Configuration"), e.g. METERING_EMITTER_MINUTE. */
    environment: z.record(z.string().regex(/^[A-Z][A-Z0-9_]*$/, 'an upper-case variable name'), z.string()).default({}),
  })
  .superRefine((service, ctx) => {
    for (const name of Object.keys(service.environment)) {
      if ((STACK_MANAGED_VARIABLES as readonly string[]).includes(name))
        ctx.addIssue({ code: 'custom', path: ['environment', name], message: `${name} is set by the stack (see deploy/README.md)` });
    }
    if ((service.products === undefined) === (service.productsFile === undefined))
      ctx.addIssue({ code: 'custom', path: ['products'], message: 'set one of products or productsFile' });
    // An Application Load Balancer takes certificates from ACM in its own region only.
    const certificateRegion = service.certificateArn.split(':')[3];
    if (certificateRegion !== service.region)
      ctx.addIssue({
        code: 'custom',
        path: ['certificateArn'],
        message: `the certificate is in ${certificateRegion}; the load balancer needs one in ${service.region}`,
      });
    if (service.hostedZone && !`.${service.domainName}`.endsWith(`.${service.hostedZone.name.replace(/\.$/, '')}`))
      ctx.addIssue({
        code: 'custom',
        path: ['hostedZone', 'name'],
        message: `${service.domainName} is not in the zone ${service.hostedZone.name}`,
      });
    if (service.database.maxAllocatedStorageGiB < service.database.allocatedStorageGiB)
      ctx.addIssue({ code: 'custom', path: ['database', 'maxAllocatedStorageGiB'], message: 'must be at least allocatedStorageGiB' });
  });

const settingsSchema = z.strictObject({
  /** Prefix of every resource name (queues, role, policy, stacks). Default `marketplace-bridge`. */
  prefix: z
    .string()
    .regex(/^[a-z][a-z0-9-]{1,30}[a-z0-9]$/, 'lower-case letters, digits and -, 3 to 32 characters')
    .default('marketplace-bridge'),
  integration: integrationSchema.prefault({}),
  /** Omit to deploy the integration stack only and run the container elsewhere. */
  service: serviceSchema.optional(),
});

type RawService = z.infer<typeof serviceSchema>;
export type IntegrationSettings = z.infer<typeof integrationSchema>;
export type ServiceSettings = Omit<RawService, 'products' | 'productsFile'> & {
  /** The products as the seller wrote them, checked with the service's own schema. */
  readonly products: unknown[];
};
export interface DeploySettings {
  readonly prefix: string;
  readonly integration: IntegrationSettings;
  readonly service?: ServiceSettings;
}

export class SettingsError extends Error {
  constructor(
    readonly source: string,
    readonly problems: string[],
  ) {
    super(`Invalid deployment settings in ${source}:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'SettingsError';
  }
}

/**
 * Checks raw settings (parsed JSON). `baseDir` resolves `productsFile`. Throws {@link SettingsError}
 * listing every problem, including the products' own, as the service would report them.
 */
export function parseSettings(raw: unknown, options: { source?: string; baseDir?: string } = {}): DeploySettings {
  const source = options.source ?? 'settings';
  const parsed = settingsSchema.safeParse(raw);
  if (!parsed.success) throw new SettingsError(source, parsed.error.issues.map(describeIssue));
  const { prefix, integration, service } = parsed.data;
  if (!service) return { prefix, integration };

  const problems: string[] = [];
  let products: unknown = service.products;
  if (service.productsFile !== undefined) {
    const file = resolve(options.baseDir ?? '.', service.productsFile);
    try {
      products = JSON.parse(readFileSync(file, 'utf8'));
    } catch (error) {
      problems.push(`service.productsFile: cannot read ${file} as JSON (${(error as Error).message})`);
    }
  }
  const checked = products === undefined ? undefined : productsSchema.safeParse(products);
  if (checked && !checked.success) {
    for (const issue of checked.error.issues) problems.push(`service.products: ${describeIssue(issue)}`);
  }
  if (checked?.success) {
    // MeterUsage runs from the buyer's account (facts §1.7); the policy grants it only when asked.
    const meterUsage = checked.data.filter((p) => p.meteringApi === 'meter-usage').map((p) => p.code);
    if (meterUsage.length > 0 && !integration.allowMeterUsage)
      problems.push(`service.products: ${meterUsage.join(', ')} use meteringApi meter-usage: set integration.allowMeterUsage to true`);
  }
  if (problems.length > 0) throw new SettingsError(source, problems);
  const { products: _inline, productsFile: _file, ...rest } = service;
  return { prefix, integration, service: { ...rest, products: products as unknown[] } };
}

/** The queues the integration creates: one per SNS topic kind with topics, and the EventBridge one when enabled. */
export function queueKinds(integration: IntegrationSettings): QueueKind[] {
  return [
    ...(integration.subscriptionTopicArns.length > 0 ? (['subscription'] as const) : []),
    ...(integration.entitlementTopicArns.length > 0 ? (['entitlement'] as const) : []),
    ...(integration.eventBridge.enabled ? (['eventbridge'] as const) : []),
  ];
}

/** Reads and checks a settings file (JSON). */
export function loadSettingsFile(path: string): DeploySettings {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new SettingsError(path, [`cannot read it as JSON (${(error as Error).message})`]);
  }
  return parseSettings(raw, { source: path, baseDir: dirname(path) });
}

function describeIssue(issue: z.core.$ZodIssue): string {
  return `${issue.path.length > 0 ? issue.path.join('.') : '(top)'}: ${issue.message}`;
}
