import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cloudwatchActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';

/** One notification queue with its dead-letter queue and alarm. */
export interface NotificationQueueProps {
  readonly queueName: string;
  readonly deadLetterQueueName: string;
  /** Deliveries before a message is dead-lettered. */
  readonly maxReceiveCount: number;
  /** Where the dead-letter alarm sends its state changes. Default: no action. */
  readonly alarmTopic?: sns.ITopic;
}

/** How long a notification waits in the queue: a week covers a long outage of the service. */
export const QUEUE_RETENTION = Duration.days(7);
/**
 * The dead-letter queue keeps messages 14 days, the SQS maximum. For standard queues a message's
 * expiry counts from its original enqueue time, so the DLQ must keep longer than its source queue
 * (SQS Developer Guide, dead-letter queues); 14 > 7 leaves at least a week to redrive.
 */
export const DEAD_LETTER_RETENTION = Duration.days(14);
/** Matches the service's own ReceiveMessage visibility timeout (handlers/queue-notification.consumer.ts). */
export const VISIBILITY_TIMEOUT = Duration.seconds(60);

/**
 * Encryption is SQS-managed (SSE-SQS). SNS and EventBridge cannot deliver to a queue encrypted with
 * the AWS-managed key `alias/aws/sqs`, whose key policy cannot grant them `kms:GenerateDataKey`; a
 * customer-managed key works only with a key policy for `sns.amazonaws.com` and
 * `events.amazonaws.com` and costs a KMS call per batch. SSE-SQS encrypts at rest with keys SQS
 * owns and needs no key policy, so the Marketplace topics (in an AWS-owned account) and the rule can
 * deliver, and the service needs no `kms:Decrypt`. cdk-nag's SQS2 accepts it.
 */
export class NotificationQueue extends Construct {
  readonly queue: sqs.Queue;
  readonly deadLetterQueue: sqs.Queue;
  readonly deadLetterAlarm: cloudwatch.Alarm;

  constructor(scope: Construct, id: string, props: NotificationQueueProps) {
    super(scope, id);
    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetterQueue', {
      queueName: props.deadLetterQueueName,
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: DEAD_LETTER_RETENTION,
    });
    this.queue = new sqs.Queue(this, 'Queue', {
      queueName: props.queueName,
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: QUEUE_RETENTION,
      visibilityTimeout: VISIBILITY_TIMEOUT,
      // Garbage is recorded and acknowledged by the service (README "Subscription and entitlement
      // events"); only messages that keep failing transiently reach the dead-letter queue.
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: props.maxReceiveCount },
    });
    // A dead-lettered notification is a buyer whose subscription the service has not applied.
    this.deadLetterAlarm = new cloudwatch.Alarm(this, 'DeadLetterAlarm', {
      alarmName: `${props.deadLetterQueueName}-not-empty`,
      alarmDescription: `Notifications are waiting in ${props.deadLetterQueueName}: find the cause in the service logs, then redrive them to ${props.queueName}.`,
      metric: this.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(5), statistic: 'Maximum' }),
      threshold: 0,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    if (props.alarmTopic) this.deadLetterAlarm.addAlarmAction(new cloudwatchActions.SnsAction(props.alarmTopic));
  }
}
