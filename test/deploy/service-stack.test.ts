import { Match } from 'aws-cdk-lib/assertions';
import { describeFindings, unacknowledgedNagFindings } from '../../deploy/lib/nag';
import { products } from './fixtures';
import { arnOf, groupIdOf, synthesizeService, tags, type ServiceTemplate } from './service-template';

const queueUrl = (name: string) => ({ 'Fn::Join': ['', ['https://sqs.us-east-1.amazonaws.com/', { Ref: 'AWS::AccountId' }, `/${name}`]] });

describe('service stack: Fargate behind HTTPS, PostgreSQL on RDS, secrets, logs', () => {
  let t: ServiceTemplate;
  beforeAll(() => {
    t = synthesizeService();
  });
  const one: ServiceTemplate['one'] = (type, props) => t.one(type, props);

  it('lives in the configured region and holds exactly these resources; no asset, so no bootstrap parameter', () => {
    expect(t.stack.region).toBe('eu-west-1');
    expect(t.stack.stackName).toBe('marketplace-bridge-service');
    const counts: Record<string, number> = {};
    for (const r of Object.values(t.resources)) counts[r.Type] = (counts[r.Type] ?? 0) + 1;
    expect(counts).toEqual({
      'AWS::EC2::VPC': 1,
      'AWS::EC2::Subnet': 6,
      'AWS::EC2::RouteTable': 6,
      'AWS::EC2::SubnetRouteTableAssociation': 6,
      'AWS::EC2::Route': 4,
      'AWS::EC2::EIP': 1,
      'AWS::EC2::NatGateway': 1,
      'AWS::EC2::InternetGateway': 1,
      'AWS::EC2::VPCGatewayAttachment': 1,
      'AWS::EC2::FlowLog': 1,
      'AWS::EC2::SecurityGroup': 3,
      'AWS::EC2::SecurityGroupIngress': 2,
      'AWS::EC2::SecurityGroupEgress': 2,
      'AWS::IAM::Role': 2,
      'AWS::IAM::Policy': 2,
      'AWS::Logs::LogGroup': 3,
      'AWS::RDS::DBParameterGroup': 1,
      'AWS::RDS::DBSubnetGroup': 1,
      'AWS::RDS::DBInstance': 1,
      'AWS::SecretsManager::Secret': 3,
      'AWS::SecretsManager::SecretTargetAttachment': 1,
      'AWS::ECS::Cluster': 1,
      'AWS::ECS::TaskDefinition': 1,
      'AWS::ECS::Service': 1,
      'AWS::S3::Bucket': 1,
      'AWS::S3::BucketPolicy': 1,
      'AWS::ElasticLoadBalancingV2::LoadBalancer': 1,
      'AWS::ElasticLoadBalancingV2::Listener': 2,
      'AWS::ElasticLoadBalancingV2::TargetGroup': 1,
    });
    expect(t.template.toJSON().Parameters).toBeUndefined();
  });

  it('the container: plain configuration in the environment, queue URLs of the integration stack, products as JSON', () => {
    const container = one('AWS::ECS::TaskDefinition')[1].Properties.ContainerDefinitions[0];
    const env = Object.fromEntries(container.Environment.map((e: { Name: string; Value: unknown }) => [e.Name, e.Value]));
    expect(env).toEqual({
      NODE_ENV: 'production',
      MARKETPLACE_MODE: 'aws',
      HOST: '0.0.0.0',
      PORT: '3000',
      PUBLIC_URL: 'https://marketplace.example.com',
      TRUST_PROXY: '1',
      HTTP_KEEP_ALIVE_TIMEOUT_SECONDS: '65',
      AWS_REGION: 'us-east-1',
      DATABASE_URL: 'postgres:///marketplace_bridge?sslmode=no-verify',
      SUBSCRIPTION_QUEUE_URL: queueUrl('marketplace-bridge-subscription'),
      ENTITLEMENT_QUEUE_URL: queueUrl('marketplace-bridge-entitlement'),
      EVENTBRIDGE_QUEUE_URL: queueUrl('marketplace-bridge-eventbridge'),
      SELLER_NAME: 'Example SaaS',
      SUPPORT_EMAIL: 'support@example.com',
      SUPPORT_URL: 'https://example.com/support',
      MARKETPLACE_PRODUCTS: JSON.stringify(products),
      METERING_EMITTER_MINUTE: '15',
    });
    expect(container).toMatchObject({
      Name: 'marketplace-bridge',
      Essential: true,
      PortMappings: [{ ContainerPort: 3000, Name: 'http', Protocol: 'tcp' }],
      StopTimeout: 30,
      Image: {
        'Fn::Join': ['', ['111122223333.dkr.ecr.eu-west-1.', { Ref: 'AWS::URLSuffix' }, '/marketplace-bridge:1.4.0']],
      },
    });
  });

  it('secrets from Secrets Manager: SESSION_SECRET, API_KEYS, and PG* from the keys of the RDS secret', () => {
    const container = one('AWS::ECS::TaskDefinition')[1].Properties.ContainerDefinitions[0];
    const [sessionId, session] = one('AWS::SecretsManager::Secret', { Name: 'marketplace-bridge/session-secret' });
    const [apiKeysId, apiKeys] = one('AWS::SecretsManager::Secret', { Name: 'marketplace-bridge/api-keys' });
    const [attachmentId] = one('AWS::SecretsManager::SecretTargetAttachment');
    const key = (k: string) => ({ 'Fn::Join': ['', [{ Ref: attachmentId }, `:${k}::`]] });
    expect(container.Secrets).toEqual([
      { Name: 'SESSION_SECRET', ValueFrom: { Ref: sessionId } },
      { Name: 'API_KEYS', ValueFrom: { Ref: apiKeysId } },
      { Name: 'PGHOST', ValueFrom: key('host') },
      { Name: 'PGPORT', ValueFrom: key('port') },
      { Name: 'PGUSER', ValueFrom: key('username') },
      { Name: 'PGPASSWORD', ValueFrom: key('password') },
    ]);
    // config.ts: SESSION_SECRET at least 32 characters; an API key at least 20, without "=" or ",".
    expect(session.Properties.GenerateSecretString).toEqual({ PasswordLength: 64, ExcludePunctuation: true, IncludeSpace: false });
    expect(apiKeys.Properties.GenerateSecretString).toEqual({ PasswordLength: 48, ExcludePunctuation: true, IncludeSpace: false });
    const [, dbSecret] = one('AWS::SecretsManager::Secret', { Name: 'marketplace-bridge/database' });
    expect(dbSecret.Properties.GenerateSecretString).toMatchObject({
      GenerateStringKey: 'password',
      SecretStringTemplate: '{"username":"mbadmin"}',
    });
  });

  it('liveness in the container (/healthz), logs to CloudWatch with a retention', () => {
    const container = one('AWS::ECS::TaskDefinition')[1].Properties.ContainerDefinitions[0];
    expect(container.HealthCheck).toEqual({
      Command: ['CMD', 'node', '-e', "fetch('http://127.0.0.1:3000/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"],
      Interval: 30,
      Timeout: 5,
      Retries: 3,
      StartPeriod: 30,
    });
    expect(container.LogConfiguration).toEqual({
      LogDriver: 'awslogs',
      Options: {
        'awslogs-group': { Ref: expect.any(String) },
        'awslogs-stream-prefix': 'service',
        'awslogs-region': 'eu-west-1',
        mode: 'non-blocking',
        'max-buffer-size': '26214400b',
      },
    });
    const serviceLogs = container.LogConfiguration.Options['awslogs-group'].Ref;
    expect(t.resources[serviceLogs]).toMatchObject({
      Type: 'AWS::Logs::LogGroup',
      Properties: { RetentionInDays: 90, Tags: tags },
      DeletionPolicy: 'Retain',
    });
  });

  it('the task runs with the integration role by name; the execution role may pull the image, write its logs and read its secrets only', () => {
    const [, taskDefinition] = one('AWS::ECS::TaskDefinition');
    expect(taskDefinition.Properties).toMatchObject({
      Cpu: '512',
      Memory: '1024',
      NetworkMode: 'awsvpc',
      RequiresCompatibilities: ['FARGATE'],
      RuntimePlatform: { CpuArchitecture: 'X86_64', OperatingSystemFamily: 'LINUX' },
      TaskRoleArn: {
        'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':iam::', { Ref: 'AWS::AccountId' }, ':role/marketplace-bridge-service']],
      },
    });
    const executionRoleId = taskDefinition.Properties.ExecutionRoleArn['Fn::GetAtt'][0];
    expect(t.resources[executionRoleId]!.Properties.AssumeRolePolicyDocument.Statement).toEqual([
      { Action: 'sts:AssumeRole', Effect: 'Allow', Principal: { Service: 'ecs-tasks.amazonaws.com' } },
    ]);
    expect(t.resources[executionRoleId]!.Properties.ManagedPolicyArns).toBeUndefined();
    const policy = Object.values(t.resources).find((r) => r.Type === 'AWS::IAM::Policy' && r.Properties.Roles[0].Ref === executionRoleId)!;
    const serviceLogs = taskDefinition.Properties.ContainerDefinitions[0].LogConfiguration.Options['awslogs-group'].Ref;
    const secret = (name: string) => one('AWS::SecretsManager::Secret', { Name: name })[0];
    const [attachmentId] = one('AWS::SecretsManager::SecretTargetAttachment');
    const readSecret = (resource: unknown) => ({
      Action: ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'],
      Effect: 'Allow',
      Resource: resource,
    });
    expect(policy.Properties.PolicyDocument.Statement).toEqual([
      {
        Action: ['ecr:BatchCheckLayerAvailability', 'ecr:GetDownloadUrlForLayer', 'ecr:BatchGetImage'],
        Effect: 'Allow',
        Resource: { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':ecr:eu-west-1:111122223333:repository/marketplace-bridge']] },
      },
      { Action: 'ecr:GetAuthorizationToken', Effect: 'Allow', Resource: '*' },
      { Action: ['logs:CreateLogStream', 'logs:PutLogEvents'], Effect: 'Allow', Resource: arnOf(serviceLogs) },
      readSecret({ Ref: secret('marketplace-bridge/session-secret') }),
      readSecret({ Ref: secret('marketplace-bridge/api-keys') }),
      readSecret({ Ref: attachmentId }),
    ]);
  });

  it('ECS: Container Insights, two tasks in the private subnets, rolling deployment with circuit breaker rollback, behind the target group', () => {
    expect(one('AWS::ECS::Cluster')[1].Properties.ClusterSettings).toEqual([{ Name: 'containerInsights', Value: 'enabled' }]);
    const [, service] = one('AWS::ECS::Service');
    const [groupId] = one('AWS::ElasticLoadBalancingV2::TargetGroup');
    const [taskSg] = one('AWS::EC2::SecurityGroup', { GroupDescription: Match.stringLikeRegexp('^marketplace-bridge tasks') });
    const privateSubnets = Object.entries(t.resources)
      .filter(([, r]) => r.Type === 'AWS::EC2::Subnet' && r.Properties.Tags.some((t: { Value: string }) => t.Value === 'service'))
      .map(([id]) => ({ Ref: id }));
    expect(service.Properties).toMatchObject({
      LaunchType: 'FARGATE',
      DesiredCount: 2,
      HealthCheckGracePeriodSeconds: 60,
      DeploymentConfiguration: {
        MaximumPercent: 200,
        MinimumHealthyPercent: 100,
        DeploymentCircuitBreaker: { Enable: true, Rollback: true },
      },
      LoadBalancers: [{ ContainerName: 'marketplace-bridge', ContainerPort: 3000, TargetGroupArn: { Ref: groupId } }],
      NetworkConfiguration: {
        AwsvpcConfiguration: { AssignPublicIp: 'DISABLED', SecurityGroups: [groupIdOf(taskSg)], Subnets: privateSubnets },
      },
    });
    expect(privateSubnets).toHaveLength(2);
  });

  it('RDS PostgreSQL 16: isolated subnets, encrypted, TLS forced, multi-AZ, deletion protection, backups, logs with a retention', () => {
    const [dbId, db] = one('AWS::RDS::DBInstance');
    const [parametersId, parameters] = one('AWS::RDS::DBParameterGroup');
    const [subnetGroupId, subnetGroup] = one('AWS::RDS::DBSubnetGroup');
    const [dbSg] = one('AWS::EC2::SecurityGroup', { GroupDescription: Match.stringLikeRegexp('^marketplace-bridge database') });
    const [secretId] = one('AWS::SecretsManager::Secret', { Name: 'marketplace-bridge/database' });
    const [logId] = one('AWS::Logs::LogGroup', { LogGroupName: '/aws/rds/instance/marketplace-bridge-db/postgresql' });
    expect(db.Properties).toEqual({
      Engine: 'postgres',
      EngineVersion: '16',
      DBInstanceIdentifier: 'marketplace-bridge-db',
      DBInstanceClass: 'db.t4g.micro',
      DBName: 'marketplace_bridge',
      MasterUsername: 'mbadmin',
      MasterUserPassword: { 'Fn::Join': ['', ['{{resolve:secretsmanager:', { Ref: secretId }, ':SecretString:password::}}']] },
      AllocatedStorage: '20',
      MaxAllocatedStorage: 100,
      StorageType: 'gp3',
      StorageEncrypted: true,
      MultiAZ: true,
      DeletionProtection: true,
      BackupRetentionPeriod: 7,
      PubliclyAccessible: false,
      AutoMinorVersionUpgrade: true,
      CopyTagsToSnapshot: true,
      CACertificateIdentifier: 'rds-ca-rsa2048-g1',
      EnableCloudwatchLogsExports: ['postgresql'],
      DBParameterGroupName: { Ref: parametersId },
      DBSubnetGroupName: { Ref: subnetGroupId },
      VPCSecurityGroups: [groupIdOf(dbSg)],
      Tags: tags,
    });
    expect(t.resources[dbId]).toMatchObject({
      DeletionPolicy: 'Snapshot',
      UpdateReplacePolicy: 'Snapshot',
      DependsOn: expect.arrayContaining([logId]),
    });
    expect(parameters.Properties).toMatchObject({ Family: 'postgres16', Parameters: { 'rds.force_ssl': '1' } });
    const isolated = Object.entries(t.resources)
      .filter(([, r]) => r.Type === 'AWS::EC2::Subnet' && r.Properties.Tags.some((t: { Value: string }) => t.Value === 'database'))
      .map(([id]) => ({ Ref: id }));
    expect(subnetGroup.Properties.SubnetIds).toEqual(isolated);
    expect(t.resources[logId]!.Properties.RetentionInDays).toBe(90);
  });

  it('cdk-nag AwsSolutions: no unacknowledged error or warning', () => {
    expect(describeFindings(unacknowledgedNagFindings(t.stack))).toEqual([]);
  });

  it('every acknowledgment carries a specific reason', () => {
    const acknowledged = t.stack.node
      .findAll()
      .flatMap((c) =>
        c.node.metadata
          .filter((m) => m.type === 'aws:cdk:acknowledged-rules')
          .flatMap((m) =>
            Object.entries(m.data as Record<string, string>).map(([id, reason]) => [c.node.path, id.replace(/^annotation::/i, ''), reason]),
          ),
      );
    const nag = acknowledged.filter(([, id]) => id!.startsWith('AwsSolutions-'));
    expect(nag.map(([path, id]) => `${path} ${id}`).sort()).toEqual(
      [
        'MarketplaceBridgeService/Database/Instance AwsSolutions-RDS11',
        'MarketplaceBridgeService/Database/Instance/Secret AwsSolutions-SMG4',
        'MarketplaceBridgeService/SessionSecret AwsSolutions-SMG4',
        'MarketplaceBridgeService/ApiKeys AwsSolutions-SMG4',
        'MarketplaceBridgeService/TaskDefinition AwsSolutions-ECS2',
        'MarketplaceBridgeService/TaskDefinition/ExecutionRole AwsSolutions-IAM5[Resource::*]',
        'MarketplaceBridgeService/Entry/SecurityGroup AwsSolutions-EC23',
        'MarketplaceBridgeService/Entry/AccessLogs AwsSolutions-S1',
      ].sort(),
    );
    for (const [, , reason] of nag) expect(reason!.length).toBeGreaterThan(60);
  });
});
