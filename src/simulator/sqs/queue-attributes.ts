import { sqsErrors } from './sqs-errors';

/** Settable queue attributes with their defaults and ranges (§3.4). */
const INTEGER_ATTRIBUTES: Record<string, { min: number; max: number; default: number }> = {
  DelaySeconds: { min: 0, max: 900, default: 0 },
  MaximumMessageSize: { min: 1024, max: 1_048_576, default: 1_048_576 },
  MessageRetentionPeriod: { min: 60, max: 1_209_600, default: 345_600 },
  ReceiveMessageWaitTimeSeconds: { min: 0, max: 20, default: 0 },
  VisibilityTimeout: { min: 0, max: 43_200, default: 30 },
  KmsDataKeyReusePeriodSeconds: { min: 60, max: 86_400, default: 300 },
};

/** Accepted and stored, with no behaviour behind them. */
const OPAQUE_ATTRIBUTES = new Set(['Policy', 'KmsMasterKeyId', 'SqsManagedSseEnabled', 'RedriveAllowPolicy']);

/** Read-only attributes computed on GetQueueAttributes. */
export const READ_ONLY_ATTRIBUTES = [
  'ApproximateNumberOfMessages',
  'ApproximateNumberOfMessagesNotVisible',
  'ApproximateNumberOfMessagesDelayed',
  'CreatedTimestamp',
  'LastModifiedTimestamp',
  'QueueArn',
];

export interface RedrivePolicy {
  deadLetterTargetArn: string;
  maxReceiveCount: number;
}

/** Default attribute values of a new queue. */
export function defaultAttributes(): Record<string, string> {
  const out: Record<string, string> = { SqsManagedSseEnabled: 'true' };
  for (const [name, spec] of Object.entries(INTEGER_ATTRIBUTES)) {
    if (name !== 'KmsDataKeyReusePeriodSeconds') out[name] = String(spec.default);
  }
  return out;
}

/**
 * Validates attributes for CreateQueue/SetQueueAttributes and returns the normalized values.
 * `queueExists(arn)` checks a RedrivePolicy's dead-letter target.
 */
export function validateAttributes(input: Record<string, unknown>, queueExists: (arn: string) => boolean): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, raw] of Object.entries(input)) {
    if (typeof raw !== 'string') throw sqsErrors.invalidAttributeValue(name, 'Attribute values must be strings.');
    const spec = INTEGER_ATTRIBUTES[name];
    if (spec) {
      const n = Number(raw);
      if (!/^-?\d+$/.test(raw.trim()) || n < spec.min || n > spec.max) {
        throw sqsErrors.invalidAttributeValue(name, `Must be an integer from ${spec.min} to ${spec.max}.`);
      }
      out[name] = String(n);
    } else if (name === 'RedrivePolicy') {
      if (raw === '') {
        out[name] = '';
        continue;
      }
      const policy = parseRedrivePolicy(raw);
      if (!policy)
        throw sqsErrors.invalidAttributeValue(
          name,
          'Redrive policy is not a valid JSON map of deadLetterTargetArn and maxReceiveCount (1 to 1000).',
        );
      if (!queueExists(policy.deadLetterTargetArn)) throw sqsErrors.invalidAttributeValue(name, 'Dead letter target does not exist.');
      out[name] = JSON.stringify(policy);
    } else if (
      name === 'FifoQueue' ||
      name === 'ContentBasedDeduplication' ||
      name === 'DeduplicationScope' ||
      name === 'FifoThroughputLimit'
    ) {
      throw sqsErrors.unsupported('FIFO queues are not supported by the simulator.');
    } else if (OPAQUE_ATTRIBUTES.has(name)) {
      out[name] = raw;
    } else {
      throw sqsErrors.invalidAttributeName(name);
    }
  }
  return out;
}

/** Parses a RedrivePolicy JSON string (maxReceiveCount may be a number or a numeric string, as AWS accepts). */
export function parseRedrivePolicy(raw: string | undefined): RedrivePolicy | undefined {
  if (!raw) return undefined;
  try {
    const p = JSON.parse(raw) as Record<string, unknown>;
    const count = Number(p.maxReceiveCount);
    if (typeof p.deadLetterTargetArn !== 'string' || !Number.isInteger(count) || count < 1 || count > 1000) return undefined;
    return { deadLetterTargetArn: p.deadLetterTargetArn, maxReceiveCount: count };
  } catch {
    return undefined;
  }
}
