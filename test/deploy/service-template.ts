import { Match, Template } from 'aws-cdk-lib/assertions';
import { buildApp } from '../../deploy/lib/app';
import type { ServiceStack } from '../../deploy/lib/service-stack';
import { outdir, rawIntegration, rawService, settings } from './fixtures';

export type Resources = Record<string, { Type: string; Properties: Record<string, any>; DependsOn?: string[] }>;

export const tags = [{ Key: 'application', Value: 'marketplace-bridge' }];
export const arnOf = (id: string) => ({ 'Fn::GetAtt': [id, 'Arn'] });
export const groupIdOf = (id: string) => ({ 'Fn::GetAtt': [id, 'GroupId'] });

export interface ServiceTemplate {
  readonly stack: ServiceStack;
  readonly template: Template;
  readonly resources: Resources;
  /** The one resource of a type (optionally with these properties), as [logical id, resource]. */
  one(type: string, props?: Record<string, unknown>): [string, Resources[string]];
}

/** The fixtures' service stack (a pushed ECR image in eu-west-1), synthesized once by the caller. */
export function synthesizeService(): ServiceTemplate {
  const built = buildApp(
    settings({ integration: rawIntegration(), service: rawService({ environment: { METERING_EMITTER_MINUTE: '15' } }) }),
    {
      outdir: outdir(),
    },
  );
  const stack = built.service!;
  const template = Template.fromStack(stack);
  return {
    stack,
    template,
    resources: template.toJSON().Resources,
    one(type, props) {
      const found = Object.entries(template.findResources(type, props ? { Properties: Match.objectLike(props) } : undefined));
      expect(found.map(([id]) => id)).toHaveLength(1);
      return found[0] as [string, Resources[string]];
    },
  };
}
