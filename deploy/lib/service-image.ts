import { IgnoreMode, Stack } from 'aws-cdk-lib';
import * as ecr from 'aws-cdk-lib/aws-ecr';
import { Platform } from 'aws-cdk-lib/aws-ecr-assets';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import type { Construct } from 'constructs';
import type { ServiceSettings } from './settings';

/**
 * Never staged with the image asset, whatever `.dockerignore` says: dependencies are installed in
 * the image, and the cloud assembly must not copy itself (deploy/ holds deploy/cdk.out).
 */
export const IMAGE_ASSET_EXCLUDES = ['node_modules', 'dist', 'data', 'coverage', 'deploy', '.git', 'test', 'bench', 'docs'];

const ECR_URI = /^(\d{12})\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com\/([a-z0-9._/-]+)(?::([A-Za-z0-9._-]+)|@(sha256:[a-f0-9]{64}))$/;

/** True when the image is pulled from ECR (a built asset or an ECR URI): the execution role then needs `ecr:GetAuthorizationToken`. */
export function pullsFromEcr(image: ServiceSettings['image']): boolean {
  return 'build' in image || ECR_URI.test(image.uri);
}

/**
 * The container image. `build`: this repository's Dockerfile, built and pushed by the CDK CLI at
 * deploy time (the asset is staged in cdk.out with `.dockerignore` applied). `uri`: an image the
 * seller pushed; an ECR image gets the execution role's pull permissions, any other registry must
 * be public.
 */
export function serviceImage(
  scope: Construct,
  image: ServiceSettings['image'],
  options: { directory: string; arm64: boolean },
): ecs.ContainerImage {
  if ('build' in image) {
    return ecs.ContainerImage.fromAsset(options.directory, {
      ignoreMode: IgnoreMode.DOCKER,
      exclude: IMAGE_ASSET_EXCLUDES,
      platform: options.arm64 ? Platform.LINUX_ARM64 : Platform.LINUX_AMD64,
    });
  }
  const ecrMatch = ECR_URI.exec(image.uri);
  if (!ecrMatch) return ecs.ContainerImage.fromRegistry(image.uri);
  const [, account, region, name, tag, digest] = ecrMatch;
  const repository = ecr.Repository.fromRepositoryAttributes(scope, 'ImageRepository', {
    repositoryArn: Stack.of(scope).formatArn({ service: 'ecr', account, region, resource: 'repository', resourceName: name }),
    repositoryName: name!,
  });
  return ecs.ContainerImage.fromEcrRepository(repository, digest ?? tag);
}
