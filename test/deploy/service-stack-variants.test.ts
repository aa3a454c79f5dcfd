import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Template } from 'aws-cdk-lib/assertions';
import { buildApp } from '../../deploy/lib/app';
import { describeFindings, unacknowledgedNagFindings } from '../../deploy/lib/nag';
import { outdir, rawIntegration, rawService, settings } from './fixtures';

const repositoryRoot = resolve(__dirname, '../..');
const US_EAST_1_CERTIFICATE = 'arn:aws:acm:us-east-1:111122223333:certificate/66666666-7777-8888-9999-000000000000';

function sizeOf(path: string): number {
  const stat = statSync(path);
  return stat.isDirectory() ? readdirSync(path).reduce((n, entry) => n + sizeOf(join(path, entry)), 0) : stat.size;
}

function acknowledgedIds(scope: {
  node: { findAll(): Array<{ node: { path: string; metadata: Array<{ type: string; data: unknown }> } }> };
}) {
  return scope.node
    .findAll()
    .flatMap((c) =>
      c.node.metadata
        .filter((m) => m.type === 'aws:cdk:acknowledged-rules')
        .flatMap((m) => Object.keys(m.data as object).map((id) => id.replace(/^annotation::/i, ''))),
    )
    .filter((id) => id.startsWith('AwsSolutions-'));
}

describe('service stack built from this repository’s Dockerfile (an image asset)', () => {
  const dir = outdir();
  const built = buildApp(
    settings({
      integration: rawIntegration(),
      service: rawService({ image: { build: true }, region: 'us-east-1', certificateArn: US_EAST_1_CERTIFICATE }),
    }),
    {
      outdir: dir,
    },
  );
  const template = Template.fromStack(built.service!);
  const assembly = built.app.synth();
  const manifest = assembly.getStackArtifact(built.service!.artifactId);

  it('stages only what the Dockerfile copies (the .dockerignore allow-list), small', () => {
    const assets = readdirSync(dir).filter((name) => name.startsWith('asset.'));
    expect(assets).toHaveLength(1);
    const staged = join(dir, assets[0]!);
    expect(readdirSync(staged).sort()).toEqual(
      [
        '.dockerignore',
        'Dockerfile',
        'handlers',
        'openapi.yaml',
        'package-lock.json',
        'package.json',
        'routes',
        'src',
        'tsconfig.build.json',
        'tsconfig.json',
      ].sort(),
    );
    // The sources and the lock file; node_modules, dist, data, deploy/cdk.out and .git stay out.
    expect(sizeOf(staged)).toBeLessThan(5 * 1024 * 1024);
    expect(sizeOf(staged)).toBeLessThan(
      sizeOf(join(repositoryRoot, 'src')) + sizeOf(join(repositoryRoot, 'package-lock.json')) + 1024 * 1024,
    );
  });

  it('is published to the bootstrap repository for linux/amd64 and needs a bootstrapped account', () => {
    const assetsFile = assembly.artifacts.find((a) => a.id === `${built.service!.artifactId}.assets`);
    expect(assetsFile).toBeDefined();
    const container = Object.values(template.findResources('AWS::ECS::TaskDefinition'))[0]!.Properties.ContainerDefinitions[0];
    expect(JSON.stringify(container.Image)).toContain('cdk-hnb659fds-container-assets-');
    expect(template.toJSON().Parameters?.BootstrapVersion).toBeDefined();
    expect(manifest.requiresBootstrapStackVersion).toBeGreaterThan(0);
    const assets = JSON.parse(readFileSync(join(dir, `${built.service!.artifactId}.assets.json`), 'utf8'));
    expect(Object.values(assets.dockerImages).map((image) => (image as { source: unknown }).source)).toEqual([
      { directory: expect.stringMatching(/^asset\./), platform: 'linux/amd64' },
    ]);
  });

  it('acknowledges ECR’s GetAuthorizationToken wildcard, and cdk-nag finds nothing else', () => {
    expect(acknowledgedIds(built.service!)).toContain('AwsSolutions-IAM5[Resource::*]');
    expect(describeFindings(unacknowledgedNagFindings(built.service!))).toEqual([]);
  });
});

describe('service stack: public image, ARM64, DNS record, existing API key secret, single-AZ test database', () => {
  const built = buildApp(
    settings({
      integration: rawIntegration({ subscriptionTopicArns: [], entitlementTopicArns: [] }),
      service: rawService({
        region: 'us-east-1',
        certificateArn: US_EAST_1_CERTIFICATE,
        image: { uri: 'ghcr.io/example/marketplace-bridge:2.0.0' },
        cpuArchitecture: 'ARM64',
        desiredCount: 1,
        hostedZone: { id: 'Z0123456789ABCDEFGHIJ', name: 'example.com' },
        apiKeysSecretArn: 'arn:aws:secretsmanager:us-east-1:111122223333:secret:bridge/api-keys-AbCdEf',
        database: { multiAz: false, deletionProtection: false, instanceType: 't4g.small', caBundlePath: '/app/rds-global-bundle.pem' },
        environment: { REGISTRATION_PATH: '/aws/signup' },
      }),
    }),
    { outdir: outdir() },
  );
  const template = Template.fromStack(built.service!);
  const resources = template.toJSON().Resources as Record<string, { Type: string; Properties: Record<string, any> }>;
  const taskDefinition = Object.values(template.findResources('AWS::ECS::TaskDefinition'))[0]!;
  const container = taskDefinition.Properties.ContainerDefinitions[0];

  it('runs the given image on ARM64 without ECR permissions (and without the wildcard they need)', () => {
    expect(container.Image).toBe('ghcr.io/example/marketplace-bridge:2.0.0');
    expect(taskDefinition.Properties.RuntimePlatform).toEqual({ CpuArchitecture: 'ARM64', OperatingSystemFamily: 'LINUX' });
    const statements = Object.values(resources)
      .filter((r) => r.Type === 'AWS::IAM::Policy')
      .flatMap((r) => r.Properties.PolicyDocument.Statement);
    expect(JSON.stringify(statements)).not.toContain('ecr:');
    expect(acknowledgedIds(built.service!)).not.toContain('AwsSolutions-IAM5[Resource::*]');
    expect(template.toJSON().Parameters).toBeUndefined();
  });

  it('verifies the database certificate with the CA bundle of the image', () => {
    const url = container.Environment.find((e: { Name: string }) => e.Name === 'DATABASE_URL').Value;
    expect(url).toBe('postgres:///marketplace_bridge?sslmode=verify-full&sslrootcert=%2Fapp%2Frds-global-bundle.pem');
  });

  it('only the EventBridge queue is wired when no SNS topic is configured', () => {
    const names = container.Environment.map((e: { Name: string }) => e.Name);
    expect(names).toContain('EVENTBRIDGE_QUEUE_URL');
    expect(names).not.toContain('SUBSCRIPTION_QUEUE_URL');
    expect(names).not.toContain('ENTITLEMENT_QUEUE_URL');
  });

  it('reads API_KEYS from the existing secret and generates only the session secret', () => {
    template.resourceCountIs('AWS::SecretsManager::Secret', 2);
    expect(container.Secrets.find((s: { Name: string }) => s.Name === 'API_KEYS').ValueFrom).toBe(
      'arn:aws:secretsmanager:us-east-1:111122223333:secret:bridge/api-keys-AbCdEf',
    );
  });

  it('creates the alias record of the domain in the hosted zone; the fulfillment URL follows REGISTRATION_PATH', () => {
    const [albId] = Object.keys(template.findResources('AWS::ElasticLoadBalancingV2::LoadBalancer'));
    template.hasResourceProperties('AWS::Route53::RecordSet', {
      HostedZoneId: 'Z0123456789ABCDEFGHIJ',
      Name: 'marketplace.example.com.',
      Type: 'A',
      AliasTarget: {
        DNSName: { 'Fn::Join': ['', ['dualstack.', { 'Fn::GetAtt': [albId, 'DNSName'] }]] },
        HostedZoneId: { 'Fn::GetAtt': [albId, 'CanonicalHostedZoneID'] },
      },
    });
    expect(template.toJSON().Outputs.FulfillmentUrl.Value).toBe('https://marketplace.example.com/aws/signup');
  });

  it('a single-AZ database without deletion protection is acknowledged as the settings’ choice; nothing else is found', () => {
    template.hasResourceProperties('AWS::RDS::DBInstance', { MultiAZ: false, DeletionProtection: false, DBInstanceClass: 'db.t4g.small' });
    expect(acknowledgedIds(built.service!)).toEqual(expect.arrayContaining(['AwsSolutions-RDS3', 'AwsSolutions-RDS10']));
    expect(describeFindings(unacknowledgedNagFindings(built.service!))).toEqual([]);
  });
});
