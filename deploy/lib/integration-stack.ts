import { CfnOutput, Stack, Validations, type StackProps } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import type { Construct } from 'constructs';
import { MarketplaceEventRules } from './marketplace-event-rules';
import { INTEGRATION_REGION, QUEUE_KINDS, resourceNames, type QueueKind } from './names';
import { NotificationQueue } from './notification-queue';
import {
  AGREEMENT_READ_ACTIONS,
  METERING_AND_ENTITLEMENT_ACTIONS,
  METER_USAGE_ACTION,
  serviceAccessStatements,
} from './service-access-policy';
import type { DeploySettings } from './settings';

export interface IntegrationStackProps extends Omit<StackProps, 'env' | 'stackName'> {
  readonly settings: DeploySettings;
}

/**
 * The AWS side of the Marketplace integration, in us-east-1 of the account that published the
 * product (only that account may subscribe to the Marketplace topics, facts §4.1, and call
 * ResolveCustomer, facts §1.5): the notification queues, their subscriptions and rules, and the
 * permissions the service runs with.
 */
export class IntegrationStack extends Stack {
  readonly queues: Partial<Record<QueueKind, NotificationQueue>> = {};
  readonly policy: iam.ManagedPolicy;
  readonly role: iam.Role;

  constructor(scope: Construct, id: string, props: IntegrationStackProps) {
    const { settings, ...stackProps } = props;
    const names = resourceNames(settings.prefix);
    super(scope, id, {
      ...stackProps,
      // Account left to the credentials used at deploy time; the region is fixed by AWS Marketplace.
      env: { region: INTEGRATION_REGION },
      stackName: names.integrationStack,
      description: 'marketplace-bridge: AWS Marketplace notification queues, subscriptions, EventBridge rules and the service role',
    });
    const { integration } = settings;
    const alarmTopic = integration.alarmTopicArn ? sns.Topic.fromTopicArn(this, 'AlarmTopic', integration.alarmTopicArn) : undefined;
    const queue = (kind: QueueKind, construct: string) =>
      (this.queues[kind] = new NotificationQueue(this, construct, {
        queueName: names.queue(kind),
        deadLetterQueueName: names.deadLetterQueue(kind),
        maxReceiveCount: integration.maxReceiveCount,
        alarmTopic,
      }));

    // SNS: the seller's account subscribes its queue to each product's Marketplace topic. The SQS
    // subscription adds the queue policy statement that lets sns.amazonaws.com send, with
    // aws:SourceArn equal to the topic; raw delivery stays off (the service reads either shape).
    const snsTopics: Array<[QueueKind, string, readonly string[]]> = [
      ['subscription', 'SubscriptionQueue', integration.subscriptionTopicArns],
      ['entitlement', 'EntitlementQueue', integration.entitlementTopicArns],
    ];
    for (const [kind, construct, topicArns] of snsTopics) {
      if (topicArns.length === 0) continue;
      const target = queue(kind, construct);
      for (const topicArn of topicArns) {
        const topic = sns.Topic.fromTopicArn(this, `${construct}Topic-${topicArn.split('-').pop()}`, topicArn);
        topic.addSubscription(new subscriptions.SqsSubscription(target.queue));
      }
    }
    if (integration.eventBridge.enabled) {
      const target = queue('eventbridge', 'EventBridgeQueue');
      new MarketplaceEventRules(this, 'MarketplaceEventRules', {
        namePrefix: settings.prefix,
        productIds: integration.eventBridge.productIds,
        queue: target.queue,
      });
    }

    const consumed = Object.values(this.queues).map((q) => q.queue.queueArn);
    this.policy = new iam.ManagedPolicy(this, 'ServicePolicy', {
      managedPolicyName: names.servicePolicy,
      description: 'marketplace-bridge: the AWS Marketplace and SQS calls the service makes, nothing else',
      statements: serviceAccessStatements({ queueArns: consumed, allowMeterUsage: integration.allowMeterUsage }),
    });
    Validations.of(this.policy).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        `${[...METERING_AND_ENTITLEMENT_ACTIONS, ...(integration.allowMeterUsage ? [METER_USAGE_ACTION] : []), ...AGREEMENT_READ_ACTIONS].join(', ')} ` +
        'define no resource type in the Service Authorization Reference (AWS Marketplace Metering, Entitlement and Agreement services), ' +
        'so IAM only accepts them with Resource "*"; the Seller Guide\'s SaaS policy grants them the same way. ' +
        'The statements list single actions (no action wildcard), and the SQS statement names the queues.',
    });

    this.role = new iam.Role(this, 'ServiceRole', {
      roleName: names.serviceRole,
      description: 'marketplace-bridge: the role the service runs with',
      assumedBy: trustPolicyPrincipal(this, settings),
      managedPolicies: [this.policy],
    });

    for (const [kind, q] of Object.entries(this.queues) as Array<[QueueKind, NotificationQueue]>) {
      const label = { subscription: 'Subscription', entitlement: 'Entitlement', eventbridge: 'EventBridge' }[kind];
      new CfnOutput(this, `${label}QueueUrl`, { value: q.queue.queueUrl, description: `${QUEUE_KINDS[kind]} of the service` });
      new CfnOutput(this, `${label}DeadLetterQueueUrl`, {
        value: q.deadLetterQueue.queueUrl,
        description: `Dead-letter queue of ${names.queue(kind)}: watch it, redrive it to the source queue`,
      });
    }
    new CfnOutput(this, 'ServiceRoleArn', {
      value: this.role.roleArn,
      description: 'Role the service runs with (ECS task role, or assumed elsewhere)',
    });
    new CfnOutput(this, 'ServicePolicyArn', {
      value: this.policy.managedPolicyArn,
      description: 'Attach to your own role instead, if you run the service elsewhere',
    });
  }
}

/**
 * Who may assume the service role: ECS tasks of this account (aws:SourceAccount guards against a
 * confused deputy, as the ECS guide advises for task roles) and any principal the seller names.
 */
function trustPolicyPrincipal(stack: Stack, settings: DeploySettings): iam.IPrincipal {
  const principals: iam.IPrincipal[] = [];
  if (settings.integration.trustEcsTasks) {
    principals.push(
      new iam.ServicePrincipal('ecs-tasks.amazonaws.com').withConditions({ StringEquals: { 'aws:SourceAccount': stack.account } }),
    );
  }
  for (const arn of settings.integration.trustedPrincipalArns) principals.push(new iam.ArnPrincipal(arn));
  const [first, ...rest] = principals;
  if (!first)
    throw new Error('the service role needs a principal: keep integration.trustEcsTasks or list integration.trustedPrincipalArns');
  return rest.length === 0 ? first : new iam.CompositePrincipal(first, ...rest);
}
