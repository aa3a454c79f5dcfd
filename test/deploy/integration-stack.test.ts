import { Match, Template } from 'aws-cdk-lib/assertions';
import { buildApp } from '../../deploy/lib/app';
import { describeFindings, unacknowledgedNagFindings } from '../../deploy/lib/nag';
import type { IntegrationStack } from '../../deploy/lib/integration-stack';
import { entitlementTopic, outdir, PRODUCT_CODES, rawIntegration, settings, subscriptionTopic } from './fixtures';

const ALARM_TOPIC = 'arn:aws:sns:us-east-1:111122223333:ops-alerts';
const OPERATOR_ROLE = 'arn:aws:iam::111122223333:role/bridge-on-ec2';

/** Resource logical id by CloudFormation type and a property that identifies it. */
function logicalId(template: Template, type: string, props: Record<string, unknown>): string {
  const found = Object.keys(template.findResources(type, { Properties: Match.objectLike(props) }));
  expect(found).toHaveLength(1);
  return found[0]!;
}

const arnOf = (id: string) => ({ 'Fn::GetAtt': [id, 'Arn'] });
const denyInsecureTransport = (queueId: string) => ({
  Action: 'sqs:*',
  Condition: { Bool: { 'aws:SecureTransport': 'false' } },
  Effect: 'Deny',
  Principal: { AWS: '*' },
  Resource: arnOf(queueId),
});
const allowTopic = (queueId: string, topicArn: string) => ({
  Action: 'sqs:SendMessage',
  Condition: { ArnEquals: { 'aws:SourceArn': topicArn } },
  Effect: 'Allow',
  Principal: { Service: 'sns.amazonaws.com' },
  Resource: arnOf(queueId),
});

describe('integration stack (us-east-1): queues, subscriptions, rule, policy, role', () => {
  let stack: IntegrationStack;
  let template: Template;
  const queue: Record<string, string> = {};
  const dlq: Record<string, string> = {};

  beforeAll(() => {
    const built = buildApp(
      settings({ integration: rawIntegration({ alarmTopicArn: ALARM_TOPIC, trustedPrincipalArns: [OPERATOR_ROLE], maxReceiveCount: 8 }) }),
      { outdir: outdir() },
    );
    stack = built.integration;
    template = Template.fromStack(stack);
    for (const kind of ['subscription', 'entitlement', 'eventbridge']) {
      queue[kind] = logicalId(template, 'AWS::SQS::Queue', { QueueName: `marketplace-bridge-${kind}` });
      dlq[kind] = logicalId(template, 'AWS::SQS::Queue', { QueueName: `marketplace-bridge-${kind}-dlq` });
    }
  });

  it('lives in us-east-1 and holds exactly these resources', () => {
    expect(stack.region).toBe('us-east-1');
    expect(stack.stackName).toBe('marketplace-bridge-integration');
    const counts: Record<string, number> = {};
    for (const resource of Object.values(template.toJSON().Resources as Record<string, { Type: string }>)) {
      counts[resource.Type] = (counts[resource.Type] ?? 0) + 1;
    }
    expect(counts).toEqual({
      'AWS::SQS::Queue': 6,
      'AWS::SQS::QueuePolicy': 6,
      'AWS::SNS::Subscription': 3,
      'AWS::CloudWatch::Alarm': 3,
      'AWS::Events::Rule': 1,
      'AWS::IAM::ManagedPolicy': 1,
      'AWS::IAM::Role': 1,
    });
    // No bootstrap parameter or rule: plain CloudFormation can deploy it.
    expect(template.toJSON().Parameters).toBeUndefined();
    expect(template.toJSON().Rules).toBeUndefined();
  });

  it('each queue is SSE-SQS encrypted, keeps messages 7 days and dead-letters after maxReceiveCount to a 14-day DLQ', () => {
    for (const kind of Object.keys(queue)) {
      expect(template.toJSON().Resources[queue[kind]!].Properties).toEqual({
        QueueName: `marketplace-bridge-${kind}`,
        SqsManagedSseEnabled: true,
        MessageRetentionPeriod: 7 * 86_400,
        VisibilityTimeout: 60,
        RedrivePolicy: { deadLetterTargetArn: arnOf(dlq[kind]!), maxReceiveCount: 8 },
        Tags: [{ Key: 'application', Value: 'marketplace-bridge' }],
      });
      expect(template.toJSON().Resources[dlq[kind]!].Properties).toEqual({
        QueueName: `marketplace-bridge-${kind}-dlq`,
        SqsManagedSseEnabled: true,
        MessageRetentionPeriod: 14 * 86_400,
        Tags: [{ Key: 'application', Value: 'marketplace-bridge' }],
      });
    }
    // Never the AWS-managed alias/aws/sqs key, which SNS and EventBridge cannot use.
    template.allResourcesProperties('AWS::SQS::Queue', { KmsMasterKeyId: Match.absent() });
  });

  it('queue policies: TLS only everywhere; SNS may send only from its Marketplace topics, EventBridge only from the rule', () => {
    const policyOf = (queueId: string) => {
      const id = logicalId(template, 'AWS::SQS::QueuePolicy', { Queues: [{ Ref: queueId }] });
      return template.toJSON().Resources[id].Properties.PolicyDocument;
    };
    const ruleId = Object.keys(template.findResources('AWS::Events::Rule'))[0]!;
    expect(policyOf(queue.subscription!)).toEqual({
      Version: '2012-10-17',
      Statement: [
        denyInsecureTransport(queue.subscription!),
        allowTopic(queue.subscription!, subscriptionTopic(PRODUCT_CODES[0])),
        allowTopic(queue.subscription!, subscriptionTopic(PRODUCT_CODES[1])),
      ],
    });
    expect(policyOf(queue.entitlement!)).toEqual({
      Version: '2012-10-17',
      Statement: [denyInsecureTransport(queue.entitlement!), allowTopic(queue.entitlement!, entitlementTopic(PRODUCT_CODES[0]))],
    });
    expect(policyOf(queue.eventbridge!)).toEqual({
      Version: '2012-10-17',
      Statement: [
        denyInsecureTransport(queue.eventbridge!),
        {
          Action: ['sqs:SendMessage', 'sqs:GetQueueAttributes', 'sqs:GetQueueUrl'],
          Condition: { ArnEquals: { 'aws:SourceArn': arnOf(ruleId) } },
          Effect: 'Allow',
          Principal: { Service: 'events.amazonaws.com' },
          Resource: arnOf(queue.eventbridge!),
        },
      ],
    });
    for (const kind of Object.keys(dlq)) {
      expect(policyOf(dlq[kind]!)).toEqual({ Version: '2012-10-17', Statement: [denyInsecureTransport(dlq[kind]!)] });
    }
  });

  it('subscribes the subscription queue to every product topic and the entitlement queue to its topic, after the queue policy exists', () => {
    const subscriptions = Object.values(template.findResources('AWS::SNS::Subscription'));
    const expected = [
      [queue.subscription!, subscriptionTopic(PRODUCT_CODES[0])],
      [queue.subscription!, subscriptionTopic(PRODUCT_CODES[1])],
      [queue.entitlement!, entitlementTopic(PRODUCT_CODES[0])],
    ];
    expect(subscriptions.map((s) => s.Properties)).toEqual(
      expect.arrayContaining(
        expected.map(([q, topic]) => ({ Protocol: 'sqs', Endpoint: arnOf(q!), TopicArn: topic, Region: 'us-east-1' })),
      ),
    );
    expect(subscriptions).toHaveLength(3);
    for (const s of subscriptions) {
      // Raw delivery off: the SNS envelope arrives, which the service parses (facts §4.1).
      expect(s.Properties.RawMessageDelivery).toBeUndefined();
      const policy = logicalId(template, 'AWS::SQS::QueuePolicy', { Queues: [{ Ref: s.Properties.Endpoint['Fn::GetAtt'][0] }] });
      expect(s.DependsOn).toEqual([policy]);
    }
  });

  it('one rule on the default bus takes every seller-side event of aws.agreement-marketplace to the EventBridge queue', () => {
    const rules = template.findResources('AWS::Events::Rule');
    expect(Object.values(rules).map((r) => r.Properties)).toEqual([
      {
        Name: 'marketplace-bridge-marketplace-events',
        Description: expect.any(String),
        State: 'ENABLED',
        EventPattern: { source: ['aws.agreement-marketplace'], 'detail-type': [{ suffix: ' - Manufacturer' }, { suffix: ' - Proposer' }] },
        Targets: [{ Arn: arnOf(queue.eventbridge!), Id: 'Target0' }],
        Tags: [{ Key: 'application', Value: 'marketplace-bridge' }],
      },
    ]);
  });

  it('an alarm on each dead-letter queue, sent to the operations topic', () => {
    for (const kind of Object.keys(dlq)) {
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        AlarmName: `marketplace-bridge-${kind}-dlq-not-empty`,
        Namespace: 'AWS/SQS',
        MetricName: 'ApproximateNumberOfMessagesVisible',
        Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [dlq[kind]!, 'QueueName'] } }],
        Statistic: 'Maximum',
        Period: 300,
        Threshold: 0,
        ComparisonOperator: 'GreaterThanThreshold',
        EvaluationPeriods: 1,
        TreatMissingData: 'notBreaching',
        AlarmActions: [ALARM_TOPIC],
      });
    }
  });

  it('the managed policy grants exactly the calls the service makes, the queue actions on its three queues only', () => {
    const policies = Object.values(template.findResources('AWS::IAM::ManagedPolicy'));
    expect(policies).toHaveLength(1);
    expect(policies[0]!.Properties.ManagedPolicyName).toBe('marketplace-bridge-marketplace-access');
    expect(policies[0]!.Properties.PolicyDocument).toEqual({
      Version: '2012-10-17',
      Statement: [
        {
          Sid: 'MarketplaceMeteringAndEntitlements',
          Effect: 'Allow',
          Action: ['aws-marketplace:ResolveCustomer', 'aws-marketplace:BatchMeterUsage', 'aws-marketplace:GetEntitlements'],
          Resource: '*',
        },
        {
          Sid: 'MarketplaceAgreementReads',
          Effect: 'Allow',
          Action: [
            'aws-marketplace:DescribeAgreement',
            'aws-marketplace:GetAgreementTerms',
            'aws-marketplace:GetAgreementEntitlements',
            'aws-marketplace:SearchAgreements',
          ],
          Resource: '*',
        },
        {
          Sid: 'ConsumeNotificationQueues',
          Effect: 'Allow',
          Action: ['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:ChangeMessageVisibility', 'sqs:GetQueueAttributes'],
          Resource: [arnOf(queue.subscription!), arnOf(queue.entitlement!), arnOf(queue.eventbridge!)],
        },
      ],
    });
  });

  it('the role carries that policy alone; ECS tasks of this account and the listed principal may assume it', () => {
    const roles = Object.values(template.findResources('AWS::IAM::Role'));
    expect(roles).toHaveLength(1);
    const policyId = Object.keys(template.findResources('AWS::IAM::ManagedPolicy'))[0]!;
    expect(roles[0]!.Properties).toEqual({
      RoleName: 'marketplace-bridge-service',
      Description: expect.any(String),
      ManagedPolicyArns: [{ Ref: policyId }],
      AssumeRolePolicyDocument: {
        Version: '2012-10-17',
        Statement: [
          {
            Action: 'sts:AssumeRole',
            Effect: 'Allow',
            Principal: { Service: 'ecs-tasks.amazonaws.com' },
            Condition: { StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } },
          },
          { Action: 'sts:AssumeRole', Effect: 'Allow', Principal: { AWS: OPERATOR_ROLE } },
        ],
      },
      Tags: [{ Key: 'application', Value: 'marketplace-bridge' }],
    });
  });

  it('outputs the queue and DLQ URLs, the role and the policy', () => {
    const outputs = template.toJSON().Outputs;
    expect(Object.keys(outputs).sort()).toEqual(
      [
        'SubscriptionQueueUrl',
        'SubscriptionDeadLetterQueueUrl',
        'EntitlementQueueUrl',
        'EntitlementDeadLetterQueueUrl',
        'EventBridgeQueueUrl',
        'EventBridgeDeadLetterQueueUrl',
        'ServiceRoleArn',
        'ServicePolicyArn',
      ].sort(),
    );
    expect(outputs.SubscriptionQueueUrl.Value).toEqual({ Ref: queue.subscription });
    expect(outputs.SubscriptionQueueUrl.Description).toMatch(/SUBSCRIPTION_QUEUE_URL/);
    expect(outputs.EntitlementQueueUrl.Value).toEqual({ Ref: queue.entitlement });
    expect(outputs.EntitlementQueueUrl.Description).toMatch(/ENTITLEMENT_QUEUE_URL/);
    expect(outputs.EventBridgeQueueUrl.Value).toEqual({ Ref: queue.eventbridge });
    expect(outputs.EventBridgeQueueUrl.Description).toMatch(/EVENTBRIDGE_QUEUE_URL/);
    expect(outputs.EventBridgeDeadLetterQueueUrl.Value).toEqual({ Ref: dlq.eventbridge });
    expect(outputs.ServiceRoleArn.Value).toEqual(arnOf(Object.keys(template.findResources('AWS::IAM::Role'))[0]!));
    expect(outputs.ServicePolicyArn.Value).toEqual({ Ref: Object.keys(template.findResources('AWS::IAM::ManagedPolicy'))[0] });
  });

  it('cdk-nag AwsSolutions: no unacknowledged error or warning', () => {
    expect(describeFindings(unacknowledgedNagFindings(stack))).toEqual([]);
  });

  it('the one acknowledgment (IAM5, Resource "*") names the Marketplace actions and why', () => {
    const acknowledged = stack.node
      .findAll()
      .flatMap((c) =>
        c.node.metadata.filter((m) => m.type === 'aws:cdk:acknowledged-rules').map((m) => ({ path: c.node.path, data: m.data })),
      );
    expect(acknowledged).toHaveLength(1);
    expect(acknowledged[0]!.path).toBe('MarketplaceBridgeIntegration/ServicePolicy');
    const [[id, reason]] = Object.entries(acknowledged[0]!.data as Record<string, string>) as [[string, string]];
    expect(id).toMatch(/AwsSolutions-IAM5\[Resource::\*\]$/);
    expect(reason).toMatch(/aws-marketplace:ResolveCustomer, aws-marketplace:BatchMeterUsage, aws-marketplace:GetEntitlements/);
    expect(reason).toMatch(/no resource type/);
  });
});
