import * as iam from 'aws-cdk-lib/aws-iam';

/** Marketplace actions the service calls today (src/aws/), the SaaS set of the Seller Guide's IAM policy. */
export const METERING_AND_ENTITLEMENT_ACTIONS = [
  // Registration URL: redeems the buyer's token (facts §1.5). Required for every SaaS integration.
  'aws-marketplace:ResolveCustomer',
  // The hourly emitter (facts §1.6).
  'aws-marketplace:BatchMeterUsage',
  // Contracts: registration, entitlement-updated, reconciliation (facts §2).
  'aws-marketplace:GetEntitlements',
] as const;

/** Only for products metered from the buyer's account (`meteringApi: meter-usage`, facts §1.7). */
export const METER_USAGE_ACTION = 'aws-marketplace:MeterUsage';

/**
 * Agreement API reads (facts §5.5). The service is about to read agreements itself: an agreement
 * event carries only an agreement id, and DescribeAgreement / GetAgreementTerms tell the product,
 * the free trial and the end behaviour; GetAgreementEntitlements gives the LicenseArn and status of
 * an agreement; SearchAgreements lets reconciliation find the agreements of a product. Granting
 * them now spares sellers a second policy change. Read-only: no Create/Cancel/Accept action.
 */
export const AGREEMENT_READ_ACTIONS = [
  'aws-marketplace:DescribeAgreement',
  'aws-marketplace:GetAgreementTerms',
  'aws-marketplace:GetAgreementEntitlements',
  'aws-marketplace:SearchAgreements',
] as const;

/**
 * What sqs-consumer calls on each queue: ReceiveMessage, DeleteMessage(Batch),
 * ChangeMessageVisibility(Batch) (the batch APIs are authorized by the single actions), plus
 * GetQueueAttributes (queue depth for monitoring; in the Seller Guide's SQS policy). Not
 * GetQueueUrl (the service is given URLs), not SendMessage, not the dead-letter queues (redrive is
 * an operator's act).
 */
export const QUEUE_CONSUMER_ACTIONS = [
  'sqs:ReceiveMessage',
  'sqs:DeleteMessage',
  'sqs:ChangeMessageVisibility',
  'sqs:GetQueueAttributes',
] as const;

export interface ServiceAccessOptions {
  /** ARNs of the notification queues the service consumes (not their DLQs). */
  readonly queueArns: readonly string[];
  readonly allowMeterUsage: boolean;
}

/**
 * The service's permissions, least privilege. The `aws-marketplace:*` metering, entitlement and
 * agreement actions define no resource type in the Service Authorization Reference, so IAM accepts
 * them only with `Resource: "*"` (the Seller Guide's own SaaS policy does the same); the queue
 * actions are limited to the given queues.
 */
export function serviceAccessStatements(options: ServiceAccessOptions): iam.PolicyStatement[] {
  const statements = [
    new iam.PolicyStatement({
      sid: 'MarketplaceMeteringAndEntitlements',
      actions: [...METERING_AND_ENTITLEMENT_ACTIONS, ...(options.allowMeterUsage ? [METER_USAGE_ACTION] : [])],
      resources: ['*'],
    }),
    new iam.PolicyStatement({ sid: 'MarketplaceAgreementReads', actions: [...AGREEMENT_READ_ACTIONS], resources: ['*'] }),
  ];
  if (options.queueArns.length > 0) {
    statements.push(
      new iam.PolicyStatement({
        sid: 'ConsumeNotificationQueues',
        actions: [...QUEUE_CONSUMER_ACTIONS],
        resources: [...options.queueArns],
      }),
    );
  }
  return statements;
}
