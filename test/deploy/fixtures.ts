import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseSettings, type DeploySettings } from '../../deploy/lib/settings';

/** Two products, so that "several topic ARNs" is exercised. */
export const PRODUCT_CODES = ['abcd1234firstproduct', 'efgh5678secondproduct'] as const;
/** The topics' owner in these fixtures (the real one comes from the Management Portal). */
export const MARKETPLACE_ACCOUNT = '123456789012';

export const subscriptionTopic = (code: string) => `arn:aws:sns:us-east-1:${MARKETPLACE_ACCOUNT}:aws-mp-subscription-notification-${code}`;
export const entitlementTopic = (code: string) => `arn:aws:sns:us-east-1:${MARKETPLACE_ACCOUNT}:aws-mp-entitlement-notification-${code}`;

export const products = [
  {
    code: PRODUCT_CODES[0],
    name: 'First',
    pricingModel: 'contract-with-consumption',
    dimensions: [
      { name: 'seats', aggregation: 'overage', overageBasis: 'max' },
      { name: 'api_calls', aggregation: 'sum' },
    ],
  },
  { code: PRODUCT_CODES[1], name: 'Second', pricingModel: 'subscription', dimensions: [{ name: 'api_calls' }] },
];

export const CERTIFICATE_ARN = 'arn:aws:acm:eu-west-1:111122223333:certificate/11111111-2222-3333-4444-555555555555';
export const ECR_IMAGE = '111122223333.dkr.ecr.eu-west-1.amazonaws.com/marketplace-bridge:1.4.0';

/** Raw integration settings: both SNS topics for both products, EventBridge without a product filter. */
export function rawIntegration(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    subscriptionTopicArns: PRODUCT_CODES.map(subscriptionTopic),
    entitlementTopicArns: [entitlementTopic(PRODUCT_CODES[0])],
    ...overrides,
  };
}

/** Raw service settings: a pushed ECR image (no asset to stage), in another region than the queues. */
export function rawService(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    region: 'eu-west-1',
    domainName: 'marketplace.example.com',
    certificateArn: CERTIFICATE_ARN,
    image: { uri: ECR_IMAGE },
    sellerName: 'Example SaaS',
    supportEmail: 'support@example.com',
    supportUrl: 'https://example.com/support',
    products,
    ...overrides,
  };
}

export function settings(raw: Record<string, unknown>): DeploySettings {
  return parseSettings(raw, { source: 'test settings' });
}

/** A fresh cloud-assembly directory per synthesis. */
export function outdir(): string {
  return mkdtempSync(join(tmpdir(), 'mb-cdk-'));
}
