import { App, BootstraplessSynthesizer, Tags } from 'aws-cdk-lib';
import { IntegrationStack } from './integration-stack';
import { ServiceStack } from './service-stack';
import type { DeploySettings } from './settings';

export interface BuiltApp {
  readonly app: App;
  readonly integration: IntegrationStack;
  readonly service?: ServiceStack;
}

export interface BuildAppOptions {
  /** Where `app.synth()` writes the cloud assembly. Default: a temporary directory. */
  readonly outdir?: string;
  /** The directory holding the Dockerfile, when the image is built as an asset. Default: the repository root. */
  readonly imageDirectory?: string;
}

/**
 * The CDK app: the integration stack, and the service stack when the settings describe it. No
 * context lookups, no account: synthesis runs offline.
 */
export function buildApp(settings: DeploySettings, options: BuildAppOptions = {}): BuiltApp {
  const app = new App({ outdir: options.outdir, analyticsReporting: false });
  Tags.of(app).add('application', settings.prefix);
  // No assets: the template deploys with plain CloudFormation too, without `cdk bootstrap`.
  const integration = new IntegrationStack(app, 'MarketplaceBridgeIntegration', { settings, synthesizer: new BootstraplessSynthesizer() });
  const service = settings.service
    ? new ServiceStack(app, 'MarketplaceBridgeService', { settings, service: settings.service, imageDirectory: options.imageDirectory })
    : undefined;
  return { app, integration, service };
}
