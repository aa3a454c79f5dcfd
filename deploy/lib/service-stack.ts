import { resolve } from 'node:path';
import { Aws, BootstraplessSynthesizer, CfnOutput, Duration, RemovalPolicy, Size, Stack, Validations, type StackProps } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import type * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';
import { resourceNames } from './names';
import { CONTAINER_PORT, PublicLoadBalancer } from './public-load-balancer';
import { ServiceDatabase } from './service-database';
import { fulfillmentUrlOf, publicUrlOf, serviceEnvironment } from './service-environment';
import { pullsFromEcr, serviceImage } from './service-image';
import type { DeploySettings, ServiceSettings } from './settings';

export interface ServiceStackProps extends Omit<StackProps, 'env' | 'stackName'> {
  readonly settings: DeploySettings;
  readonly service: ServiceSettings;
  /** Directory of the Dockerfile when the image is built. Default: the repository root. */
  readonly imageDirectory?: string;
}

/** Liveness: the process answers. */
export const LIVENESS_PATH = '/healthz';

/**
 * The service on ECS Fargate behind an HTTPS load balancer, with PostgreSQL on RDS. It runs with
 * the integration stack's role and reads its queues; both are found by name (see names.ts), so
 * this stack may live in another region of the same account.
 */
export class ServiceStack extends Stack {
  readonly publicUrl: string;
  readonly containerEnvironment: Record<string, string>;
  readonly taskDefinition: ecs.FargateTaskDefinition;
  readonly loadBalancer: elbv2.ApplicationLoadBalancer;

  constructor(scope: Construct, id: string, props: ServiceStackProps) {
    const { settings, service, imageDirectory, ...stackProps } = props;
    const names = resourceNames(settings.prefix);
    super(scope, id, {
      ...stackProps,
      env: { region: service.region },
      stackName: names.serviceStack,
      description: 'marketplace-bridge: the service on ECS Fargate, its load balancer and database',
      // Only a built image is an asset (and needs `cdk bootstrap`); otherwise plain CloudFormation deploys it.
      synthesizer: 'build' in service.image ? undefined : new BootstraplessSynthesizer(),
    });
    const retention = service.logRetentionDays as logs.RetentionDays;
    this.publicUrl = publicUrlOf(service);

    const flowLogs = new logs.LogGroup(this, 'FlowLogs', { retention, removalPolicy: RemovalPolicy.RETAIN });
    const vpc = new ec2.Vpc(this, 'Vpc', {
      maxAzs: 2,
      natGateways: service.natGateways,
      subnetConfiguration: [
        { name: 'public', subnetType: ec2.SubnetType.PUBLIC, cidrMask: 24 },
        { name: 'service', subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS, cidrMask: 22 },
        { name: 'database', subnetType: ec2.SubnetType.PRIVATE_ISOLATED, cidrMask: 26 },
      ],
      flowLogs: { all: { destination: ec2.FlowLogDestination.toCloudWatchLogs(flowLogs), trafficType: ec2.FlowLogTrafficType.ALL } },
    });

    const database = new ServiceDatabase(this, 'Database', {
      vpc,
      instanceIdentifier: names.databaseInstance,
      secretName: `${settings.prefix}/database`,
      settings: service.database,
      logRetention: retention,
    });
    const sessionSecret = new secretsmanager.Secret(this, 'SessionSecret', {
      secretName: `${settings.prefix}/session-secret`,
      description: 'SESSION_SECRET: HMAC key of the buyer onboarding sessions',
      generateSecretString: { passwordLength: 64, excludePunctuation: true, includeSpace: false },
    });
    const apiKeys = service.apiKeysSecretArn
      ? secretsmanager.Secret.fromSecretCompleteArn(this, 'ApiKeys', service.apiKeysSecretArn)
      : new secretsmanager.Secret(this, 'ApiKeys', {
          secretName: `${settings.prefix}/api-keys`,
          description: 'API_KEYS: the keys your SaaS application calls the service with (name=key,...; a bare key is named key1)',
          generateSecretString: { passwordLength: 48, excludePunctuation: true, includeSpace: false },
        });
    for (const secret of [sessionSecret, apiKeys].filter((s): s is secretsmanager.Secret => s instanceof secretsmanager.Secret)) {
      Validations.of(secret).acknowledge({
        id: 'AwsSolutions-SMG4',
        reason:
          secret === sessionSecret
            ? 'Read by ECS at task start only; rotating it ends the onboarding sessions in progress, so it is rotated by hand (update the secret, force a new deployment).'
            : "The API keys are shared with the seller's SaaS application, which must switch to a new key together with the service: rotation is a planned, manual change (add the new key, deploy, switch the application, remove the old one).",
      });
    }

    const taskDefinition = new ecs.FargateTaskDefinition(this, 'TaskDefinition', {
      cpu: service.cpu,
      memoryLimitMiB: service.memoryMiB,
      runtimePlatform: {
        operatingSystemFamily: ecs.OperatingSystemFamily.LINUX,
        cpuArchitecture: service.cpuArchitecture === 'ARM64' ? ecs.CpuArchitecture.ARM64 : ecs.CpuArchitecture.X86_64,
      },
      // The integration stack's role, by name: it carries the Marketplace and queue permissions.
      taskRole: iam.Role.fromRoleArn(this, 'ServiceRole', `arn:${Aws.PARTITION}:iam::${Aws.ACCOUNT_ID}:role/${names.serviceRole}`, {
        mutable: false,
      }),
    });
    this.taskDefinition = taskDefinition;
    this.containerEnvironment = serviceEnvironment(settings, service);
    const logGroup = new logs.LogGroup(this, 'ServiceLogs', { retention, removalPolicy: RemovalPolicy.RETAIN });
    taskDefinition.addContainer('Service', {
      containerName: 'marketplace-bridge',
      image: serviceImage(this, service.image, {
        directory: imageDirectory ?? resolve(__dirname, '../..'),
        arm64: service.cpuArchitecture === 'ARM64',
      }),
      portMappings: [{ containerPort: CONTAINER_PORT, name: 'http' }],
      environment: this.containerEnvironment,
      secrets: {
        SESSION_SECRET: ecs.Secret.fromSecretsManager(sessionSecret),
        API_KEYS: ecs.Secret.fromSecretsManager(apiKeys),
        ...database.connectionSecrets(),
      },
      logging: ecs.LogDrivers.awsLogs({
        logGroup,
        streamPrefix: 'service',
        mode: ecs.AwsLogDriverMode.NON_BLOCKING,
        maxBufferSize: Size.mebibytes(25),
      }),
      // Liveness only: a task whose database is down is not ready (the load balancer's check on
      // /readyz takes it out) but restarting it would not help.
      healthCheck: {
        command: [
          'CMD',
          'node',
          '-e',
          `fetch('http://127.0.0.1:${CONTAINER_PORT}${LIVENESS_PATH}').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))`,
        ],
        interval: Duration.seconds(30),
        timeout: Duration.seconds(5),
        retries: 3,
        startPeriod: Duration.seconds(30),
      },
      // SIGTERM: the service stops polling and finishes the batch in flight (25 s) before exiting.
      stopTimeout: Duration.seconds(30),
    });
    Validations.of(taskDefinition).acknowledge({
      id: 'AwsSolutions-ECS2',
      reason:
        "The environment holds non-secret configuration only (mode, public URL, queue URLs, products, support contact, a DATABASE_URL without credentials); SESSION_SECRET, API_KEYS and the PG* credentials come from Secrets Manager through the container's secrets.",
    });

    if (pullsFromEcr(service.image)) {
      Validations.of(taskDefinition.obtainExecutionRole()).acknowledge({
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason:
          'ecr:GetAuthorizationToken, which ECS needs to pull from ECR, supports no resource-level permission (Resource "*" only); the layer and image actions are limited to the repository.',
      });
    }

    const cluster = new ecs.Cluster(this, 'Cluster', { vpc, containerInsightsV2: ecs.ContainerInsights.ENABLED });
    const fargate = new ecs.FargateService(this, 'Service', {
      cluster,
      taskDefinition,
      desiredCount: service.desiredCount,
      minHealthyPercent: 100,
      maxHealthyPercent: 200,
      circuitBreaker: { enable: true, rollback: true },
      healthCheckGracePeriod: Duration.seconds(60),
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
      securityGroups: [
        new ec2.SecurityGroup(this, 'ServiceSecurityGroup', {
          vpc,
          description: 'marketplace-bridge tasks: HTTP from the load balancer; out to AWS APIs (HTTPS) and the database',
          allowAllOutbound: false,
        }),
      ],
      assignPublicIp: false,
      propagateTags: ecs.PropagatedTagSource.SERVICE,
    });
    // Metering, entitlement, SQS, Secrets Manager, ECR and CloudWatch Logs, through the NAT gateway.
    fargate.connections.allowTo(ec2.Peer.anyIpv4(), ec2.Port.tcp(443), 'HTTPS to AWS APIs');
    database.instance.connections.allowDefaultPortFrom(fargate, 'PostgreSQL from the service tasks');

    this.loadBalancer = new PublicLoadBalancer(this, 'Entry', { vpc, service, targets: fargate, logRetention: retention }).loadBalancer;
    this.outputs(service, database, sessionSecret, apiKeys, logGroup);
  }

  private outputs(
    service: ServiceSettings,
    database: ServiceDatabase,
    sessionSecret: secretsmanager.ISecret,
    apiKeys: secretsmanager.ISecret,
    logGroup: logs.ILogGroup,
  ) {
    new CfnOutput(this, 'LoadBalancerDnsName', {
      value: this.loadBalancer.loadBalancerDnsName,
      description: service.hostedZone ? `${service.domainName} points here` : `Point ${service.domainName} here (CNAME or alias)`,
    });
    new CfnOutput(this, 'PublicUrl', { value: this.publicUrl, description: 'PUBLIC_URL of the service' });
    new CfnOutput(this, 'FulfillmentUrl', {
      value: fulfillmentUrlOf(service),
      description: 'The fulfillment URL to register in the AWS Marketplace Management Portal',
    });
    new CfnOutput(this, 'ApiKeysSecretArn', {
      value: apiKeys.secretArn,
      description: 'API_KEYS: read it to configure your SaaS application',
    });
    new CfnOutput(this, 'SessionSecretArn', { value: sessionSecret.secretArn, description: 'SESSION_SECRET' });
    new CfnOutput(this, 'DatabaseSecretArn', {
      value: database.secret.secretArn,
      description: 'RDS master credentials (PGHOST, PGPORT, PGUSER, PGPASSWORD)',
    });
    new CfnOutput(this, 'LogGroupName', { value: logGroup.logGroupName, description: 'The service logs' });
  }
}
