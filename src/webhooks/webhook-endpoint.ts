/**
 * Webhook endpoints (pure): what one is, and whether a URL may be one. The address check here is
 * the early, syntactic one (scheme, credentials, a literal IP); the transport checks the resolved
 * address again on every attempt.
 */
import { isIpLiteral, refusalOf, type AddressPolicy } from './address-policy';
import type { WebhookEventType } from './event-types';

/** `standard`: Standard Webhooks JSON, signed. `slack`: a Slack incoming webhook (`{"text": …}`), unsigned. */
export const ENDPOINT_KINDS = ['standard', 'slack'] as const;
export type EndpointKind = (typeof ENDPOINT_KINDS)[number];

export interface WebhookEndpoint {
  readonly id: string;
  /** `api`: managed by `/v1/webhook-endpoints`; `config`: from WEBHOOK_ENDPOINTS (only `enabled` may change by API). */
  readonly source: 'api' | 'config';
  readonly name: string | null;
  readonly kind: EndpointKind;
  readonly url: string;
  readonly description: string | null;
  /** Null: every event type. */
  readonly eventTypes: readonly WebhookEventType[] | null;
  readonly enabled: boolean;
  readonly secret: string | null;
  readonly previousSecret: string | null;
  /** The previous secret signs too until then (null with a previous secret: until the configuration drops it). */
  readonly previousSecretExpiresAt: Date | null;
  /** The first failure of the current run of failures (null: the last attempt succeeded, or none yet). */
  readonly failingSince: Date | null;
  readonly lastSuccessAt: Date | null;
  readonly disabledAt: Date | null;
  readonly disabledReason: string | null;
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

/** The secrets that sign a message at `now`: the current one, and the previous one during its overlap. */
export function signingSecrets(endpoint: WebhookEndpoint, now: Date): string[] {
  if (!endpoint.secret) return [];
  const previous =
    endpoint.previousSecret && (endpoint.previousSecretExpiresAt === null || endpoint.previousSecretExpiresAt.getTime() > now.getTime())
      ? [endpoint.previousSecret]
      : [];
  return [endpoint.secret, ...previous];
}

/** Longest URL accepted. */
export const MAX_URL_LENGTH = 2048;

/** Why `text` cannot be a webhook URL under `policy`, or null. */
export function endpointUrlProblem(text: string, policy: AddressPolicy): string | null {
  if (text.length > MAX_URL_LENGTH) return `longer than ${MAX_URL_LENGTH} characters`;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return 'not an absolute URL';
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && policy.allowHttp)) {
    return policy.allowHttp ? 'must be an http: or https: URL' : 'must be an https: URL';
  }
  if (url.username || url.password) return 'must not carry a user name or password';
  if (url.hash) return 'must not have a #fragment';
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (!host) return 'has no host';
  if (isIpLiteral(host)) {
    const why = refusalOf(host, policy);
    if (why) return `names ${host}, ${why}`;
  } else if (!policy.allowLoopback && (host === 'localhost' || host.endsWith('.localhost'))) {
    return 'names localhost';
  }
  return null;
}
