import { EventBridgeClient, PutEventsCommand, PutRuleCommand, PutTargetsCommand } from '@aws-sdk/client-eventbridge';
import {
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { Template } from 'aws-cdk-lib/assertions';
import { buildApp } from '../../deploy/lib/app';
import { describeFindings, unacknowledgedNagFindings } from '../../deploy/lib/nag';
import { motoAvailable, startMoto, type MotoServer } from '../support/moto';
import { outdir, settings } from './fixtures';

const OURS = 'prod-ours1234';
const OTHER = 'prod-other5678';

/** One synthesis per configuration: EventBridge only, without and with a product filter. */
function rulesOf(productIds: string[]) {
  const built = buildApp(settings({ integration: { eventBridge: { productIds } } }), { outdir: outdir() });
  const template = Template.fromStack(built.integration);
  return { stack: built.integration, template, rules: Object.values(template.findResources('AWS::Events::Rule')).map((r) => r.Properties) };
}

/** Events as EventBridge delivers them to the seller's bus (facts §5.4, §5.6; payload shapes from the facts' capture). */
function event(detailType: string, detail: Record<string, unknown>, source = 'aws.agreement-marketplace') {
  return {
    version: '0',
    id: `e-${detailType.replace(/\W+/g, '-')}-${JSON.stringify(detail).length}`,
    'detail-type': detailType,
    source,
    account: '111122223333',
    time: '2026-08-20T14:23:22Z',
    region: 'us-east-1',
    resources: ['arn:aws:aws-marketplace::aws:agreement:agmt-1'],
    detail,
  };
}
const agreement = { requestId: 'r-1', catalog: 'AWSMarketplace', agreement: { id: 'agmt-1' }, acceptor: { accountId: '444455556666' } };
const licence = (productId: string) => ({
  ...agreement,
  license: { arn: 'arn:aws:license-manager::1:license:l-1' },
  product: { id: productId, code: 'pc' },
});

/** Each sample with where it must go: never (dropped), or to the queue. */
const samples: Array<{ name: string; event: ReturnType<typeof event>; unfiltered: boolean; filtered: boolean }> = [
  ...['Created', 'Amended', 'Ended'].flatMap((verb) =>
    ['Manufacturer', 'Proposer'].map((role) => ({
      name: `Purchase Agreement ${verb} - ${role} (no product in the event)`,
      event: event(`Purchase Agreement ${verb} - ${role}`, agreement),
      unfiltered: true,
      filtered: true,
    })),
  ),
  ...['License Updated', 'License Deprovisioned'].flatMap((stem) =>
    ['Manufacturer', 'Proposer'].flatMap((role) => [
      { name: `${stem} - ${role} of a listed product`, event: event(`${stem} - ${role}`, licence(OURS)), unfiltered: true, filtered: true },
      {
        name: `${stem} - ${role} of another product`,
        event: event(`${stem} - ${role}`, licence(OTHER)),
        unfiltered: true,
        filtered: false,
      },
    ]),
  ),
  {
    name: 'a seller event type added later (cancellation request), which names its product elsewhere',
    event: event('Agreement Cancellation Request Pending Approval - Proposer', {
      ...agreement,
      agreement: { id: 'agmt-1', productId: OTHER },
      agreementCancellationRequest: { id: 'acr-1' },
    }),
    unfiltered: true,
    filtered: true,
  },
  {
    name: 'the buyer copy (Acceptor)',
    event: event('Purchase Agreement Created - Acceptor', agreement),
    unfiltered: false,
    filtered: false,
  },
  {
    name: 'another source',
    event: event('Purchase Agreement Created - Proposer', agreement, 'aws.marketplacecatalog'),
    unfiltered: false,
    filtered: false,
  },
];

describe('EventBridge rules for aws.agreement-marketplace', () => {
  const unfiltered = rulesOf([]);
  const filtered = rulesOf([OURS]);

  it('without a product filter: one rule, source and the Manufacturer/Proposer suffixes', () => {
    expect(unfiltered.rules.map((r) => [r.Name, r.EventPattern])).toEqual([
      [
        'marketplace-bridge-marketplace-events',
        { source: ['aws.agreement-marketplace'], 'detail-type': [{ suffix: ' - Manufacturer' }, { suffix: ' - Proposer' }] },
      ],
    ]);
  });

  it('with a product filter: one rule for events without a product, one for the listed products, both to the queue', () => {
    const base = { source: ['aws.agreement-marketplace'], 'detail-type': [{ suffix: ' - Manufacturer' }, { suffix: ' - Proposer' }] };
    expect(filtered.rules.map((r) => [r.Name, r.EventPattern])).toEqual([
      ['marketplace-bridge-agreement-events', { ...base, detail: { product: { id: [{ exists: false }] } } }],
      ['marketplace-bridge-product-events', { ...base, detail: { product: { id: [OURS] } } }],
    ]);
    const queueId = Object.keys(
      filtered.template.findResources('AWS::SQS::Queue', { Properties: { QueueName: 'marketplace-bridge-eventbridge' } }),
    )[0]!;
    const ruleIds = Object.keys(filtered.template.findResources('AWS::Events::Rule'));
    for (const rule of filtered.rules) expect(rule.Targets).toEqual([{ Arn: { 'Fn::GetAtt': [queueId, 'Arn'] }, Id: 'Target0' }]);
    // The queue policy admits EventBridge from each rule, and from nothing else.
    const policy = Object.values(
      filtered.template.findResources('AWS::SQS::QueuePolicy', { Properties: { Queues: [{ Ref: queueId }] } }),
    )[0]!;
    const allows = policy.Properties.PolicyDocument.Statement.filter((s: { Effect: string }) => s.Effect === 'Allow');
    expect(allows.map((s: { Principal: unknown; Condition: unknown }) => [s.Principal, s.Condition])).toEqual(
      ruleIds.map((id) => [{ Service: 'events.amazonaws.com' }, { ArnEquals: { 'aws:SourceArn': { 'Fn::GetAtt': [id, 'Arn'] } } }]),
    );
  });

  it('EventBridge only: no SNS queue, the policy names the EventBridge queue alone; defaults: no alarm action, ECS trust only', () => {
    const t = filtered.template;
    t.resourceCountIs('AWS::SQS::Queue', 2);
    t.resourceCountIs('AWS::SNS::Subscription', 0);
    const queueId = Object.keys(t.findResources('AWS::SQS::Queue', { Properties: { QueueName: 'marketplace-bridge-eventbridge' } }))[0]!;
    const statements = Object.values(t.findResources('AWS::IAM::ManagedPolicy'))[0]!.Properties.PolicyDocument.Statement;
    expect(statements[2]).toEqual({
      Sid: 'ConsumeNotificationQueues',
      Effect: 'Allow',
      Action: ['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:ChangeMessageVisibility', 'sqs:GetQueueAttributes'],
      Resource: { 'Fn::GetAtt': [queueId, 'Arn'] },
    });
    expect(Object.values(t.findResources('AWS::CloudWatch::Alarm'))[0]!.Properties.AlarmActions).toBeUndefined();
    expect(Object.values(t.findResources('AWS::IAM::Role'))[0]!.Properties.AssumeRolePolicyDocument.Statement).toHaveLength(1);
    expect(Object.keys(t.toJSON().Outputs).sort()).toEqual([
      'EventBridgeDeadLetterQueueUrl',
      'EventBridgeQueueUrl',
      'ServicePolicyArn',
      'ServiceRoleArn',
    ]);
    expect(describeFindings(unacknowledgedNagFindings(filtered.stack))).toEqual([]);
  });

  const run = motoAvailable('EventBridge rule patterns evaluated by moto (rules to an SQS queue)') ? describe : describe.skip;
  run('evaluated by an EventBridge we did not write (moto: PutEvents through the rules into a queue)', () => {
    let moto: MotoServer;
    let events: EventBridgeClient;
    let sqs: SQSClient;

    /**
     * Each configuration's rule patterns target a queue of their own; every sample is put on the bus
     * once; returns, per configuration, how many times each sample reached its queue.
     */
    async function deliveries(configurations: unknown[][]): Promise<number[][]> {
      const queues: string[] = [];
      for (const [c, patterns] of configurations.entries()) {
        const queueUrl = (await sqs.send(new CreateQueueCommand({ QueueName: `rules-${c}` }))).QueueUrl!;
        const queueArn = (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }))).Attributes!
          .QueueArn!;
        for (const [i, pattern] of patterns.entries()) {
          await events.send(new PutRuleCommand({ Name: `rule-${c}-${i}`, EventPattern: JSON.stringify(pattern) }));
          await events.send(new PutTargetsCommand({ Rule: `rule-${c}-${i}`, Targets: [{ Id: 'queue', Arn: queueArn }] }));
        }
        queues.push(queueUrl);
      }
      for (let at = 0; at < samples.length; at += 10) {
        const entries = samples.slice(at, at + 10).map(({ event: e }, k) => ({
          Source: e.source,
          DetailType: e['detail-type'],
          Resources: e.resources,
          Detail: JSON.stringify({ ...e.detail, sample: at + k }),
        }));
        const put = await events.send(new PutEventsCommand({ Entries: entries }));
        expect(put.FailedEntryCount ?? 0).toBe(0);
      }
      const counts = queues.map(() => samples.map(() => 0));
      for (const [c, queueUrl] of queues.entries()) {
        for (;;) {
          const got = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }));
          if (!got.Messages?.length) break;
          for (const m of got.Messages) counts[c]![(JSON.parse(m.Body!) as { detail: { sample: number } }).detail.sample]! += 1;
          await sqs.send(
            new DeleteMessageBatchCommand({
              QueueUrl: queueUrl,
              Entries: got.Messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle! })),
            }),
          );
        }
      }
      return counts;
    }

    let withoutFilter: number[];
    let withFilter: number[];
    /** The naive design: one rule filtering on detail.product.id. */
    let naive: number[];
    beforeAll(async () => {
      moto = await startMoto();
      const config = { region: 'us-east-1', endpoint: moto.url, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } };
      events = new EventBridgeClient(config);
      sqs = new SQSClient(config);
      [withoutFilter, withFilter, naive] = (await deliveries([
        unfiltered.rules.map((r) => r.EventPattern),
        filtered.rules.map((r) => r.EventPattern),
        [filtered.rules[1]!.EventPattern],
      ])) as [number[], number[], number[]];
    }, 60_000);
    afterAll(async () => {
      events?.destroy();
      sqs?.destroy();
      await moto?.stop();
    });

    it.each(samples.map((s, index) => ({ ...s, index })))('without a filter: $name', ({ index, unfiltered: expected }) => {
      expect(withoutFilter[index]).toBe(expected ? 1 : 0);
    });

    // Delivered once when expected, never twice: the two rules' patterns do not overlap.
    it.each(samples.map((s, index) => ({ ...s, index })))('with a filter on one product: $name', ({ index, filtered: expected }) => {
      expect(withFilter[index]).toBe(expected ? 1 : 0);
    });

    it('the product filter does not drop agreement events, and the naive single filtered rule would have', () => {
      const agreementEvents = samples
        .map((s, index) => ({ ...s, index }))
        .filter(
          (s) =>
            s.event.source === 'aws.agreement-marketplace' &&
            /^Purchase Agreement .* - (Manufacturer|Proposer)$/.test(s.event['detail-type']),
        );
      expect(agreementEvents).toHaveLength(6);
      for (const s of agreementEvents) expect(withFilter[s.index]).toBe(1);
      for (const s of agreementEvents) expect(naive[s.index]).toBe(0);
    });
  });
});
