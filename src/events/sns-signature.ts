/**
 * SNS message signature verification (facts §4.3) and the SubscribeURL guard (facts §4.2).
 *
 * Implemented with node:crypto rather than sns-payload-validator: that library fetches certificates
 * itself over https (no injection point, so no simulator and no offline tests) and keeps its key
 * list in module state shared by concurrent validations.
 */
import { createVerify, X509Certificate } from 'node:crypto';

/** The AWS SigningCertURL pattern (sns-payload-validator 2.1, facts §4.3). */
export const AWS_SNS_CERT_URL_PATTERN = /^https:\/\/sns\.[a-zA-Z0-9-]{3,}\.amazonaws\.com(\.cn)?\/SimpleNotificationService-[a-zA-Z0-9]{32}\.pem$/;

/** AWS SNS hosts (sns-validator's host pattern, facts §4.3), for SubscribeURL checks. */
const AWS_SNS_HOST = /^sns\.[a-zA-Z0-9-]{3,}\.amazonaws\.com(\.cn)?$/;

const portPattern = (port?: number): string => (port === undefined ? '\\d{1,5}' : String(port));

/** The local simulator's certificate URL: `http://127.0.0.1:PORT/simulator/SimpleNotificationService-<32hex>.pem`. Tests and dev only. */
export function simulatorCertUrlPattern(port?: number): RegExp {
  return new RegExp(`^http://127\\.0\\.0\\.1:${portPattern(port)}/simulator/SimpleNotificationService-[a-fA-F0-9]{32}\\.pem$`);
}

/** The local simulator's SubscribeURL: `http://127.0.0.1:PORT/simulator/…`. Tests and dev only. */
export function simulatorSubscribeUrlPattern(port?: number): RegExp {
  return new RegExp(`^http://127\\.0\\.0\\.1:${portPattern(port)}/simulator/[^\\s#]*$`);
}

/** Options of {@link SnsSignatureVerifier}. */
export interface SnsVerifierOptions {
  /** Allowed SigningCertURL patterns, tested against the whole URL. Empty or absent: {@link AWS_SNS_CERT_URL_PATTERN} only. */
  allowedCertUrl: RegExp[];
  /** Fetches the PEM certificate at a URL that passed the allow-list. Errors are reported as retryable failures. */
  fetchCertificate: (url: string) => Promise<string>;
  /** TopicArns accepted (AWS: "reject messages with an unexpected TopicArn"). Empty or absent: any. */
  allowedTopicArns?: string[];
  /** Certificates kept in memory, least recently used evicted. Default 100. */
  cacheSize?: number;
  /** When given, certificates outside their validity period are refused. Default: no date check. */
  clock?: { now(): Date };
}

export type SnsVerifyResult = { ok: true } | { ok: false; reason: string; retryable?: boolean };

// Fields signed, per message type, in byte-sort order (facts §4.3). Subject only when present.
const NOTIFICATION_KEYS = ['Message', 'MessageId', 'Subject', 'Timestamp', 'TopicArn', 'Type'] as const;
const CONFIRMATION_KEYS = ['Message', 'MessageId', 'SubscribeURL', 'Timestamp', 'Token', 'TopicArn', 'Type'] as const;

/** Digest per SignatureVersion: "1" is SHA1withRSA, "2" is SHA256withRSA (facts §4.3). */
const ALGORITHMS: Readonly<Record<string, string>> = { '1': 'RSA-SHA1', '2': 'RSA-SHA256' };

/**
 * The string SNS signs: for each signed key in byte order, `Key\nValue\n` (facts §4.3).
 * Returns a reason instead when a signed field is missing or not a string.
 */
export function buildSnsStringToSign(message: Record<string, unknown>): { ok: true; text: string } | { ok: false; reason: string } {
  const type = message['Type'];
  const keys =
    type === 'Notification' ? NOTIFICATION_KEYS : type === 'SubscriptionConfirmation' || type === 'UnsubscribeConfirmation' ? CONFIRMATION_KEYS : null;
  if (keys === null) return { ok: false, reason: `unknown SNS message Type ${JSON.stringify(type)?.slice(0, 40) ?? 'undefined'}` };
  let text = '';
  for (const key of keys) {
    const value = message[key];
    // Lambda sets an absent Subject to null; it is not signed then.
    if (key === 'Subject' && (value === undefined || value === null)) continue;
    if (typeof value !== 'string') return { ok: false, reason: `signed field ${key} is missing or not a string` };
    text += `${key}\n${value}\n`;
  }
  return { ok: true, text };
}

/** Verifies SNS message signatures. Never throws; every refusal carries a reason. */
export class SnsSignatureVerifier {
  private readonly certUrlPatterns: RegExp[];
  private readonly topics: ReadonlySet<string> | null;
  private readonly cacheSize: number;
  private readonly cache = new Map<string, Promise<X509Certificate>>();

  constructor(private readonly opts: SnsVerifierOptions) {
    this.certUrlPatterns = opts.allowedCertUrl && opts.allowedCertUrl.length > 0 ? [...opts.allowedCertUrl] : [AWS_SNS_CERT_URL_PATTERN];
    this.topics = opts.allowedTopicArns && opts.allowedTopicArns.length > 0 ? new Set(opts.allowedTopicArns) : null;
    this.cacheSize = Math.max(1, Math.floor(opts.cacheSize ?? 100));
  }

  async verify(message: Record<string, unknown>): Promise<SnsVerifyResult> {
    try {
      return await this.verifyUnsafe(message);
    } catch (err) {
      return { ok: false, reason: `verification error: ${err instanceof Error ? err.message : 'unknown'}` };
    }
  }

  private async verifyUnsafe(message: Record<string, unknown>): Promise<SnsVerifyResult> {
    if (typeof message !== 'object' || message === null) return { ok: false, reason: 'message is not an object' };
    const version = message['SignatureVersion'];
    const algorithm = typeof version === 'string' ? ALGORITHMS[version] : undefined;
    if (algorithm === undefined) return { ok: false, reason: `unsupported SignatureVersion ${JSON.stringify(version) ?? 'undefined'}` };
    const signature = message['Signature'];
    if (typeof signature !== 'string' || signature === '') return { ok: false, reason: 'Signature is missing' };
    const toSign = buildSnsStringToSign(message);
    if (!toSign.ok) return toSign;
    // Lambda spells it SigningCertUrl.
    const certUrl = message['SigningCertURL'] ?? message['SigningCertUrl'];
    if (typeof certUrl !== 'string') return { ok: false, reason: 'SigningCertURL is missing' };
    // Checked before any fetch: never download a certificate from a host we do not trust.
    if (!this.certUrlPatterns.some((p) => testRegExp(p, certUrl))) return { ok: false, reason: `SigningCertURL not allowed: ${certUrl.slice(0, 200)}` };
    const topicArn = message['TopicArn'] as string; // a string: checked by buildSnsStringToSign
    if (this.topics && !this.topics.has(topicArn)) return { ok: false, reason: `TopicArn not allowed: ${topicArn.slice(0, 200)}` };

    let cert: X509Certificate;
    try {
      cert = await this.certificate(certUrl);
    } catch (err) {
      const invalid = err instanceof InvalidCertificateError;
      return { ok: false, reason: `${invalid ? 'invalid' : 'could not fetch'} signing certificate: ${err instanceof Error ? err.message : 'error'}`, ...(invalid ? {} : { retryable: true }) };
    }
    if (this.opts.clock) {
      const now = this.opts.clock.now().getTime();
      if (now < Date.parse(cert.validFrom) || now > Date.parse(cert.validTo)) return { ok: false, reason: 'signing certificate is outside its validity period' };
    }
    const verifier = createVerify(algorithm);
    verifier.update(toSign.text, 'utf8');
    verifier.end();
    const valid = verifier.verify(cert.publicKey, signature, 'base64');
    return valid ? { ok: true } : { ok: false, reason: 'signature does not match' };
  }

  /** Cached certificate (LRU). A failed fetch or an unparsable certificate is not cached. */
  private certificate(url: string): Promise<X509Certificate> {
    const hit = this.cache.get(url);
    if (hit) {
      this.cache.delete(url);
      this.cache.set(url, hit);
      return hit;
    }
    const pending = this.opts.fetchCertificate(url).then((pem) => {
      try {
        return new X509Certificate(pem);
      } catch (err) {
        throw new InvalidCertificateError(err instanceof Error ? err.message : 'not an X.509 certificate');
      }
    });
    this.cache.set(url, pending);
    pending.catch(() => {
      if (this.cache.get(url) === pending) this.cache.delete(url);
    });
    while (this.cache.size > this.cacheSize) {
      const oldest = this.cache.keys().next().value as string;
      this.cache.delete(oldest);
    }
    return pending;
  }
}

class InvalidCertificateError extends Error {}

/** `RegExp.test` without the `lastIndex` surprise of global/sticky patterns. */
function testRegExp(pattern: RegExp, value: string): boolean {
  pattern.lastIndex = 0;
  return pattern.test(value);
}

/**
 * May we confirm a subscription by fetching this SubscribeURL? Only an https URL on an AWS SNS host
 * (`sns.<region>.amazonaws.com[.cn]`, default port, no credentials), or one matching an explicitly
 * configured extra pattern such as {@link simulatorSubscribeUrlPattern} (facts §4.2, design §4).
 */
export function isAllowedSubscribeUrl(url: string, extra: RegExp[] = []): boolean {
  if (typeof url !== 'string') return false;
  if (extra.some((p) => testRegExp(p, url))) return true;
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return false;
  }
  return u.protocol === 'https:' && u.username === '' && u.password === '' && u.port === '' && AWS_SNS_HOST.test(u.hostname);
}
