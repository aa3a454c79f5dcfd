import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as rds from 'aws-cdk-lib/aws-rds';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import type { ServiceSettings } from './settings';

export const DATABASE_NAME = 'marketplace_bridge';
export const DATABASE_USER = 'mbadmin';

/**
 * `DATABASE_URL` of the service. The service reads one URL (src/config.ts accepts any
 * `postgres://` URL) and hands it to node-postgres, which takes every part the URL leaves out from
 * the `PGHOST`, `PGPORT`, `PGUSER` and `PGPASSWORD` variables (pg/lib/connection-parameters.js).
 * ECS sets those from the keys of the RDS-generated secret, so the password never appears in the
 * task definition, needs no URL escaping, and no second secret has to be kept in step with it.
 *
 * RDS refuses clear-text connections (`rds.force_ssl`), so the connection is always encrypted.
 * Without a CA bundle (the default: the image does not carry the RDS certificates) the server's
 * certificate is not verified (`sslmode=no-verify`); with `caBundlePath`, the path of the RDS CA
 * bundle inside the image, it is, host name included (`sslmode=verify-full`).
 */
export function databaseUrl(caBundlePath?: string): string {
  const tls = caBundlePath ? `sslmode=verify-full&sslrootcert=${encodeURIComponent(caBundlePath)}` : 'sslmode=no-verify';
  return `postgres:///${DATABASE_NAME}?${tls}`;
}

export interface ServiceDatabaseProps {
  readonly vpc: ec2.IVpc;
  readonly instanceIdentifier: string;
  readonly secretName: string;
  readonly settings: ServiceSettings['database'];
  readonly logRetention: logs.RetentionDays;
}

/** PostgreSQL on RDS in the isolated subnets, reachable only from the security groups allowed in. */
export class ServiceDatabase extends Construct {
  readonly instance: rds.DatabaseInstance;
  readonly secret: secretsmanager.ISecret;

  constructor(scope: Construct, id: string, props: ServiceDatabaseProps) {
    super(scope, id);
    const engine = rds.DatabaseInstanceEngine.postgres({ version: rds.PostgresEngineVersion.VER_16 });
    const securityGroup = new ec2.SecurityGroup(this, 'SecurityGroup', {
      vpc: props.vpc,
      description: 'marketplace-bridge database: PostgreSQL from the service tasks only',
      allowAllOutbound: false,
    });
    // RDS creates this log group on its first export with no expiry; creating it first sets the retention.
    const logGroup = new logs.LogGroup(this, 'PostgresLog', {
      logGroupName: `/aws/rds/instance/${props.instanceIdentifier}/postgresql`,
      retention: props.logRetention,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.instance = new rds.DatabaseInstance(this, 'Instance', {
      engine,
      instanceIdentifier: props.instanceIdentifier,
      instanceType: new ec2.InstanceType(props.settings.instanceType),
      vpc: props.vpc,
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
      securityGroups: [securityGroup],
      publiclyAccessible: false,
      credentials: rds.Credentials.fromGeneratedSecret(DATABASE_USER, { secretName: props.secretName }),
      databaseName: DATABASE_NAME,
      multiAz: props.settings.multiAz,
      storageEncrypted: true,
      storageType: rds.StorageType.GP3,
      allocatedStorage: props.settings.allocatedStorageGiB,
      maxAllocatedStorage: props.settings.maxAllocatedStorageGiB,
      backupRetention: Duration.days(props.settings.backupRetentionDays),
      deletionProtection: props.settings.deletionProtection,
      // Deleting the stack keeps a final snapshot: the database holds the metering ledger.
      removalPolicy: RemovalPolicy.SNAPSHOT,
      parameterGroup: new rds.ParameterGroup(this, 'Parameters', {
        engine,
        description: 'marketplace-bridge: TLS required',
        parameters: { 'rds.force_ssl': '1' },
      }),
      caCertificate: rds.CaCertificate.RDS_CA_RSA2048_G1,
      cloudwatchLogsExports: ['postgresql'],
      autoMinorVersionUpgrade: true,
    });
    this.instance.node.addDependency(logGroup);
    this.secret = this.instance.secret!;

    Validations.of(this.instance).acknowledge(
      {
        id: 'AwsSolutions-RDS11',
        reason:
          'The port is not an access control: the security group admits only the service tasks, in private subnets; 5432 keeps psql and drivers on their defaults.',
      },
      ...(props.settings.multiAz
        ? []
        : [
            {
              id: 'AwsSolutions-RDS3',
              reason: 'service.database.multiAz is false in the deployment settings (a single-AZ database, chosen for cost).',
            },
          ]),
      ...(props.settings.deletionProtection
        ? []
        : [
            {
              id: 'AwsSolutions-RDS10',
              reason: 'service.database.deletionProtection is false in the deployment settings (a test deployment).',
            },
          ]),
    );
    // The generated secret itself (instance.secret is its attachment to the instance).
    Validations.of(this.instance.node.findChild('Secret')).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        "Not rotated automatically: ECS reads PGPASSWORD from this secret when a task starts, so a rotation would fail the running tasks' new connections until they are replaced. Rotate by updating the secret, then forcing a new deployment.",
    });
  }

  /** The PG* variables node-postgres falls back to, from the keys of the RDS secret (see {@link databaseUrl}). */
  connectionSecrets(): Record<string, ecs.Secret> {
    return {
      PGHOST: ecs.Secret.fromSecretsManager(this.secret, 'host'),
      PGPORT: ecs.Secret.fromSecretsManager(this.secret, 'port'),
      PGUSER: ecs.Secret.fromSecretsManager(this.secret, 'username'),
      PGPASSWORD: ecs.Secret.fromSecretsManager(this.secret, 'password'),
    };
  }
}
