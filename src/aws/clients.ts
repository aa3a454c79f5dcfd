import { MarketplaceAgreementClient } from '@aws-sdk/client-marketplace-agreement';
import { MarketplaceEntitlementServiceClient } from '@aws-sdk/client-marketplace-entitlement-service';
import { MarketplaceMeteringClient } from '@aws-sdk/client-marketplace-metering';
import { SQSClient } from '@aws-sdk/client-sqs';

/** Where and how to reach AWS. Endpoints left undefined fall back to the SDK's own resolution (`AWS_ENDPOINT_URL_*`). */
/** The SQS types the queue consumer (handlers/) needs, so that it takes them from here, not from the SDK. */
export type { Message as SqsMessage, SQSClient } from '@aws-sdk/client-sqs';

export interface AwsClientOptions {
  readonly region: string;
  /** Region of the Entitlement Service. Default us-east-1, the only one AWS documents for it (facts §2.1). */
  readonly entitlementRegion?: string;
  readonly endpoints?: { readonly metering?: string; readonly entitlement?: string; readonly sqs?: string; readonly agreement?: string };
  /** Static credentials (the local simulator accepts any); undefined uses the SDK's default chain. */
  readonly credentials?: { readonly accessKeyId: string; readonly secretAccessKey: string };
  /**
   * SDK attempts per call, default 3. Our own retry loops (the emitter, the queues) own the
   * long-term retry policy; the SDK's short retries absorb momentary blips.
   */
  readonly maxAttempts?: number;
}

export interface AwsClients {
  readonly metering: MarketplaceMeteringClient;
  readonly entitlement: MarketplaceEntitlementServiceClient;
  readonly sqs: SQSClient;
  readonly agreement: MarketplaceAgreementClient;
  destroy(): void;
}

export function createAwsClients(options: AwsClientOptions): AwsClients {
  const common = { region: options.region, credentials: options.credentials, maxAttempts: options.maxAttempts ?? 3 };
  const metering = new MarketplaceMeteringClient({
    ...common,
    ...(options.endpoints?.metering ? { endpoint: options.endpoints.metering } : {}),
  });
  // GetEntitlements is documented in us-east-1 only (facts §2.1): the SDK would build a host for
  // any region given, so the entitlement client does not follow AWS_REGION.
  const entitlement = new MarketplaceEntitlementServiceClient({
    ...common,
    region: options.entitlementRegion ?? 'us-east-1',
    ...(options.endpoints?.entitlement ? { endpoint: options.endpoints.entitlement } : {}),
  });
  const sqs = new SQSClient({ ...common, ...(options.endpoints?.sqs ? { endpoint: options.endpoints.sqs } : {}) });
  // The Agreement API is documented in us-east-1 only (facts §5.5), like GetEntitlements.
  const agreement = new MarketplaceAgreementClient({
    ...common,
    region: options.entitlementRegion ?? 'us-east-1',
    ...(options.endpoints?.agreement ? { endpoint: options.endpoints.agreement } : {}),
  });
  return {
    metering,
    entitlement,
    sqs,
    agreement,
    destroy() {
      agreement.destroy();
      metering.destroy();
      entitlement.destroy();
      sqs.destroy();
    },
  };
}
