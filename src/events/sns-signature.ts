/**
 * SNS message signature verification (facts §4.3).
 *
 * Implemented with node:crypto rather than sns-payload-validator: that library fetches certificates
 * itself over https (no injection point, so no simulator, no offline tests, no bound on fetches)
 * and accepts any `sns.<anything>.amazonaws.com` host, S3 bucket hosts included.
 */
import { createVerify } from 'node:crypto';
import type { SnsCertificateStore } from './sns-certificate-store';
import { certificateOrigin, type SnsTrust } from './sns-trust';

/** Options of {@link SnsSignatureVerifier}. */
export interface SnsVerifierOptions {
  /** Which certificate URLs are trusted (AWS SNS hosts, and the embedded simulator when given). */
  readonly trust: SnsTrust;
  /** Fetches, checks and caches certificates for URLs that passed the allow-list. */
  readonly certificates: SnsCertificateStore;
  /** TopicArns accepted (AWS: "reject messages with an unexpected TopicArn"). Empty or absent: any. */
  readonly allowedTopicArns?: readonly string[];
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
    type === 'Notification'
      ? NOTIFICATION_KEYS
      : type === 'SubscriptionConfirmation' || type === 'UnsubscribeConfirmation'
        ? CONFIRMATION_KEYS
        : null;
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
  private readonly topics: ReadonlySet<string> | null;

  constructor(private readonly opts: SnsVerifierOptions) {
    this.topics = opts.allowedTopicArns && opts.allowedTopicArns.length > 0 ? new Set(opts.allowedTopicArns) : null;
  }

  async verify(message: Record<string, unknown>): Promise<SnsVerifyResult> {
    try {
      return await this.verifyUnsafe(message);
    } catch (err) {
      return { ok: false, reason: `verification error: ${err instanceof Error ? err.message : 'unknown'}` };
    }
  }

  private async verifyUnsafe(message: Record<string, unknown>): Promise<SnsVerifyResult> {
    if (typeof message !== 'object' || message === null || Array.isArray(message)) return { ok: false, reason: 'message is not an object' };
    const version = message['SignatureVersion'];
    const algorithm = typeof version === 'string' ? ALGORITHMS[version] : undefined;
    if (algorithm === undefined)
      return { ok: false, reason: `unsupported SignatureVersion ${String(JSON.stringify(version)).slice(0, 20)}` };
    const signature = message['Signature'];
    if (typeof signature !== 'string' || signature === '') return { ok: false, reason: 'Signature is missing' };
    const toSign = buildSnsStringToSign(message);
    if (!toSign.ok) return toSign;
    // Lambda spells it SigningCertUrl.
    const certUrl = message['SigningCertURL'] ?? message['SigningCertUrl'];
    if (typeof certUrl !== 'string') return { ok: false, reason: 'SigningCertURL is missing' };
    // Checked before any fetch: never download a certificate from a host we do not trust.
    const origin = certificateOrigin(certUrl, this.opts.trust);
    if (origin === null) return { ok: false, reason: `SigningCertURL not allowed: ${certUrl.slice(0, 120)}` };
    const topicArn = message['TopicArn'] as string; // a string: checked by buildSnsStringToSign
    if (this.topics && !this.topics.has(topicArn)) return { ok: false, reason: `TopicArn not allowed: ${topicArn.slice(0, 120)}` };

    const cert = await this.opts.certificates.get(certUrl, origin);
    if (!cert.ok) return { ok: false, reason: cert.reason, ...(cert.retryable ? { retryable: true } : {}) };
    const verifier = createVerify(algorithm);
    verifier.update(toSign.text, 'utf8');
    verifier.end();
    const valid = verifier.verify(cert.certificate.publicKey, signature, 'base64');
    return valid ? { ok: true } : { ok: false, reason: 'signature does not match' };
  }
}
