import { Match } from 'aws-cdk-lib/assertions';
import { CERTIFICATE_ARN } from './fixtures';
import { arnOf, groupIdOf, synthesizeService, tags, type ServiceTemplate } from './service-template';

describe('service stack: network, security groups, load balancer, outputs', () => {
  let t: ServiceTemplate;
  beforeAll(() => {
    t = synthesizeService();
  });
  const one: ServiceTemplate['one'] = (type, props) => t.one(type, props);

  it('network: two AZs, public / private-with-NAT / isolated subnets, every flow logged to CloudWatch', () => {
    t.template.resourcePropertiesCountIs('AWS::EC2::Subnet', { MapPublicIpOnLaunch: true }, 2);
    const subnetsOf = (name: string) =>
      Object.values(t.resources).filter(
        (r) =>
          r.Type === 'AWS::EC2::Subnet' &&
          r.Properties.Tags.some((t: { Key: string; Value: string }) => t.Key === 'aws-cdk:subnet-name' && t.Value === name),
      );
    expect(subnetsOf('public')).toHaveLength(2);
    expect(subnetsOf('service')).toHaveLength(2);
    expect(subnetsOf('database')).toHaveLength(2);
    const [vpcId] = one('AWS::EC2::VPC');
    const [, flowLog] = one('AWS::EC2::FlowLog');
    const flowLogsId: string = flowLog.Properties.LogGroupName.Ref;
    expect(t.resources[flowLogsId]!.Properties).toEqual({ RetentionInDays: 90, Tags: tags });
    expect(flowLog.Properties).toMatchObject({
      ResourceId: { Ref: vpcId },
      ResourceType: 'VPC',
      TrafficType: 'ALL',
      LogDestinationType: 'cloud-watch-logs',
      LogGroupName: { Ref: flowLogsId },
    });
    const [flowRoleId] = Object.entries(t.resources).find(
      ([, r]) => r.Type === 'AWS::IAM::Role' && JSON.stringify(r).includes('vpc-flow-logs'),
    )!;
    const flowPolicy = Object.values(t.resources).find((r) => r.Type === 'AWS::IAM::Policy' && r.Properties.Roles[0].Ref === flowRoleId)!;
    expect(flowPolicy.Properties.PolicyDocument.Statement).toEqual([
      { Action: ['logs:CreateLogStream', 'logs:PutLogEvents', 'logs:DescribeLogStreams'], Effect: 'Allow', Resource: arnOf(flowLogsId) },
    ]);
  });

  it('security groups: 443/80 open on the load balancer only; tasks take 3000 from it; the database 5432 from the tasks', () => {
    const [albSg, alb] = one('AWS::EC2::SecurityGroup', { GroupDescription: Match.stringLikeRegexp('^marketplace-bridge load balancer') });
    const [taskSg, task] = one('AWS::EC2::SecurityGroup', { GroupDescription: Match.stringLikeRegexp('^marketplace-bridge tasks') });
    const [dbSg, db] = one('AWS::EC2::SecurityGroup', { GroupDescription: Match.stringLikeRegexp('^marketplace-bridge database') });
    const [dbId] = one('AWS::RDS::DBInstance');
    const noEgress = [{ CidrIp: '255.255.255.255/32', Description: 'Disallow all traffic', FromPort: 252, IpProtocol: 'icmp', ToPort: 86 }];
    expect(alb.Properties.SecurityGroupIngress).toEqual([
      { CidrIp: '0.0.0.0/0', Description: expect.stringMatching(/HTTPS/), FromPort: 443, IpProtocol: 'tcp', ToPort: 443 },
      { CidrIp: '0.0.0.0/0', Description: expect.stringMatching(/redirect/), FromPort: 80, IpProtocol: 'tcp', ToPort: 80 },
    ]);
    // Its one egress rule (to the tasks) is a separate resource; CloudFormation then drops the default allow-all.
    expect(alb.Properties.SecurityGroupEgress).toBeUndefined();
    expect(task.Properties.SecurityGroupIngress).toBeUndefined();
    expect(task.Properties.SecurityGroupEgress).toEqual([
      { CidrIp: '0.0.0.0/0', Description: expect.any(String), FromPort: 443, IpProtocol: 'tcp', ToPort: 443 },
    ]);
    expect(db.Properties.SecurityGroupIngress).toBeUndefined();
    expect(db.Properties.SecurityGroupEgress).toEqual(noEgress);
    const dbPort = { 'Fn::GetAtt': [dbId, 'Endpoint.Port'] };
    const rules = (type: string) =>
      Object.values(t.resources)
        .filter((r) => r.Type === type)
        .map(({ Properties: { Description: _d, ...p } }) => p);
    expect(rules('AWS::EC2::SecurityGroupIngress')).toEqual(
      expect.arrayContaining([
        { GroupId: groupIdOf(taskSg), SourceSecurityGroupId: groupIdOf(albSg), IpProtocol: 'tcp', FromPort: 3000, ToPort: 3000 },
        { GroupId: groupIdOf(dbSg), SourceSecurityGroupId: groupIdOf(taskSg), IpProtocol: 'tcp', FromPort: dbPort, ToPort: dbPort },
      ]),
    );
    expect(rules('AWS::EC2::SecurityGroupEgress')).toEqual(
      expect.arrayContaining([
        { GroupId: groupIdOf(albSg), DestinationSecurityGroupId: groupIdOf(taskSg), IpProtocol: 'tcp', FromPort: 3000, ToPort: 3000 },
        { GroupId: groupIdOf(taskSg), DestinationSecurityGroupId: groupIdOf(dbSg), IpProtocol: 'tcp', FromPort: dbPort, ToPort: dbPort },
      ]),
    );
  });

  it('load balancer: internet-facing, HTTPS with the certificate and a TLS 1.2+ policy, HTTP redirected, access logs to S3', () => {
    const [albId, alb] = one('AWS::ElasticLoadBalancingV2::LoadBalancer');
    const [bucketId, bucket] = one('AWS::S3::Bucket');
    expect(alb.Properties).toMatchObject({ Scheme: 'internet-facing', Type: 'application' });
    expect(alb.Properties.LoadBalancerAttributes).toEqual(
      expect.arrayContaining([
        { Key: 'routing.http.drop_invalid_header_fields.enabled', Value: 'true' },
        { Key: 'access_logs.s3.enabled', Value: 'true' },
        { Key: 'access_logs.s3.bucket', Value: { Ref: bucketId } },
      ]),
    );
    const [, https] = one('AWS::ElasticLoadBalancingV2::Listener', { Port: 443 });
    const [groupId] = one('AWS::ElasticLoadBalancingV2::TargetGroup');
    expect(https.Properties).toEqual({
      LoadBalancerArn: { Ref: albId },
      Port: 443,
      Protocol: 'HTTPS',
      Certificates: [{ CertificateArn: CERTIFICATE_ARN }],
      SslPolicy: 'ELBSecurityPolicy-TLS13-1-2-2021-06',
      DefaultActions: [{ Type: 'forward', TargetGroupArn: { Ref: groupId } }],
      Tags: tags,
    });
    const [, http] = one('AWS::ElasticLoadBalancingV2::Listener', { Port: 80 });
    expect(http.Properties.DefaultActions).toEqual([
      { Type: 'redirect', RedirectConfig: { Port: '443', Protocol: 'HTTPS', StatusCode: 'HTTP_301' } },
    ]);
    expect(bucket.Properties).toEqual({
      BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
      OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] },
      LifecycleConfiguration: { Rules: [{ ExpirationInDays: 90, Status: 'Enabled' }] },
      Tags: tags,
    });
    const statements = one('AWS::S3::BucketPolicy')[1].Properties.PolicyDocument.Statement;
    expect(statements[0]).toMatchObject({ Effect: 'Deny', Action: 's3:*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } });
    // eu-west-1's load balancer log-delivery account, then the log delivery service.
    expect(JSON.stringify(statements[1].Principal)).toContain(':iam::156460612806:root');
    expect(statements.slice(1).map((s: { Action: string }) => s.Action)).toEqual(['s3:PutObject', 's3:PutObject', 's3:GetBucketAcl']);
  });

  it('the target group checks readiness on /readyz (HTTP 200) on port 3000', () => {
    const [, group] = one('AWS::ElasticLoadBalancingV2::TargetGroup');
    expect(group.Properties).toMatchObject({
      Port: 3000,
      Protocol: 'HTTP',
      TargetType: 'ip',
      HealthCheckPath: '/readyz',
      Matcher: { HttpCode: '200' },
      HealthCheckIntervalSeconds: 15,
      HealthCheckTimeoutSeconds: 5,
      HealthyThresholdCount: 2,
      UnhealthyThresholdCount: 3,
    });
    expect(group.Properties.TargetGroupAttributes).toEqual(
      expect.arrayContaining([{ Key: 'deregistration_delay.timeout_seconds', Value: '30' }]),
    );
  });

  it('outputs: the load balancer DNS name, PUBLIC_URL, the fulfillment URL, the secrets and the log group', () => {
    const outputs = t.template.toJSON().Outputs;
    const [albId] = one('AWS::ElasticLoadBalancingV2::LoadBalancer');
    expect(Object.keys(outputs).sort()).toEqual(
      [
        'LoadBalancerDnsName',
        'PublicUrl',
        'FulfillmentUrl',
        'ApiKeysSecretArn',
        'SessionSecretArn',
        'DatabaseSecretArn',
        'LogGroupName',
      ].sort(),
    );
    expect(outputs.LoadBalancerDnsName.Value).toEqual({ 'Fn::GetAtt': [albId, 'DNSName'] });
    expect(outputs.PublicUrl.Value).toBe('https://marketplace.example.com');
    expect(outputs.FulfillmentUrl.Value).toBe('https://marketplace.example.com/marketplace/register');
    expect(outputs.ApiKeysSecretArn.Value).toEqual({ Ref: one('AWS::SecretsManager::Secret', { Name: 'marketplace-bridge/api-keys' })[0] });
  });
});
