/**
 * Names shared by the two stacks. The integration stack lives in us-east-1 and the service stack
 * may live elsewhere; CloudFormation cannot reference across regions, so the service stack rebuilds
 * the queue URLs and the role ARN from these names instead of importing them.
 */

/** Marketplace SNS topics, EventBridge events and the Entitlement Service are in us-east-1 (facts §2.1, §5.1, §5.4). */
export const INTEGRATION_REGION = 'us-east-1';

/** The service's notification queues, by the environment variable that carries each URL. */
export const QUEUE_KINDS = {
  subscription: 'SUBSCRIPTION_QUEUE_URL',
  entitlement: 'ENTITLEMENT_QUEUE_URL',
  eventbridge: 'EVENTBRIDGE_QUEUE_URL',
} as const;
export type QueueKind = keyof typeof QUEUE_KINDS;

export interface ResourceNames {
  readonly integrationStack: string;
  readonly serviceStack: string;
  queue(kind: QueueKind): string;
  deadLetterQueue(kind: QueueKind): string;
  readonly serviceRole: string;
  readonly servicePolicy: string;
  readonly databaseInstance: string;
}

export function resourceNames(prefix: string): ResourceNames {
  return {
    integrationStack: `${prefix}-integration`,
    serviceStack: `${prefix}-service`,
    queue: (kind) => `${prefix}-${kind}`,
    deadLetterQueue: (kind) => `${prefix}-${kind}-dlq`,
    serviceRole: `${prefix}-service`,
    servicePolicy: `${prefix}-marketplace-access`,
    databaseInstance: `${prefix}-db`,
  };
}

/** The queue URL SQS gives a standard queue of `account` in us-east-1. */
export function queueUrl(account: string, name: string): string {
  return `https://sqs.${INTEGRATION_REGION}.amazonaws.com/${account}/${name}`;
}
