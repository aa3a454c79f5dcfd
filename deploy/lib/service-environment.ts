import { Aws } from 'aws-cdk-lib';
import { INTEGRATION_REGION, QUEUE_KINDS, queueUrl, resourceNames } from './names';
import { CONTAINER_PORT } from './public-load-balancer';
import { databaseUrl } from './service-database';
import { queueKinds, type DeploySettings, type ServiceSettings } from './settings';

/**
 * The container's plain variables (README "Configuration"): configuration only, never a secret;
 * SESSION_SECRET, API_KEYS and the database credentials are the container's `secrets`.
 */
export function serviceEnvironment(settings: DeploySettings, service: ServiceSettings): Record<string, string> {
  const names = resourceNames(settings.prefix);
  const queues = Object.fromEntries(
    queueKinds(settings.integration).map((kind) => [QUEUE_KINDS[kind], queueUrl(Aws.ACCOUNT_ID, names.queue(kind))]),
  );
  return {
    NODE_ENV: 'production',
    MARKETPLACE_MODE: 'aws',
    HOST: '0.0.0.0',
    PORT: String(CONTAINER_PORT),
    PUBLIC_URL: publicUrlOf(service),
    // One proxy hop: the load balancer, the only client that can reach a task (security groups).
    // Its X-Forwarded-For entry is the buyer's address; entries before it are the client's own.
    TRUST_PROXY: '1',
    // Idle connections outlive the load balancer's 60 s idle timeout, so it never reuses one the
    // task has just closed (which answers the buyer with a 502).
    HTTP_KEEP_ALIVE_TIMEOUT_SECONDS: '65',
    // The queues and SaaS metering are in us-east-1, wherever the tasks run (facts §6 "Regions").
    AWS_REGION: INTEGRATION_REGION,
    DATABASE_URL: databaseUrl(service.database.caBundlePath),
    ...queues,
    SELLER_NAME: service.sellerName,
    SUPPORT_EMAIL: service.supportEmail,
    ...(service.supportUrl ? { SUPPORT_URL: service.supportUrl } : {}),
    ...(service.productUrl ? { PRODUCT_URL: service.productUrl } : {}),
    ...(service.loginUrl ? { LOGIN_URL: service.loginUrl } : {}),
    // The products as the seller wrote them, already checked with the service's schema (settings.ts).
    MARKETPLACE_PRODUCTS: JSON.stringify(service.products),
    ...service.environment,
  };
}

export function publicUrlOf(service: ServiceSettings): string {
  return `https://${service.domainName}`;
}

/** The registration (fulfillment) URL given to AWS Marketplace: PUBLIC_URL + REGISTRATION_PATH. */
export function fulfillmentUrlOf(service: ServiceSettings): string {
  return `${publicUrlOf(service)}${service.environment.REGISTRATION_PATH ?? '/marketplace/register'}`;
}
