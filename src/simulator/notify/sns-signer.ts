import { generateKeyPair, randomBytes, sign, type KeyObject } from 'node:crypto';
import { promisify } from 'node:util';
import { randomHex } from '../ids';
import { selfSignedCertificate } from './x509';

/** Fields that take part in an SNS signature (§4.3). */
export type SnsSignedFields = Record<string, string | undefined>;

const NOTIFICATION_KEYS = ['Message', 'MessageId', 'Subject', 'Timestamp', 'TopicArn', 'Type'];
const CONFIRMATION_KEYS = ['Message', 'MessageId', 'SubscribeURL', 'Timestamp', 'Token', 'TopicArn', 'Type'];

/**
 * The string to sign (§4.3): for each key in byte-sort order, `Key\nValue\n`, trailing newline
 * included. Notifications sign Message, MessageId, Subject (only if present), Timestamp,
 * TopicArn, Type; SubscriptionConfirmation and UnsubscribeConfirmation sign Message, MessageId,
 * SubscribeURL, Timestamp, Token, TopicArn, Type.
 */
export function stringToSign(message: SnsSignedFields): string {
  const keys = message.Type === 'Notification' ? NOTIFICATION_KEYS : CONFIRMATION_KEYS;
  let out = '';
  for (const key of keys) {
    const value = message[key];
    if (value === undefined) continue;
    out += `${key}\n${value}\n`;
  }
  return out;
}

/** The simulator's SNS signing identity: an RSA key and its self-signed certificate. */
export class SnsSigner {
  /** File name `SimpleNotificationService-<32 hex>.pem`, as AWS names its certificates. */
  readonly certFileName = `SimpleNotificationService-${randomHex(32)}.pem`;

  private constructor(
    private readonly privateKey: KeyObject,
    readonly certificatePem: string,
  ) {}

  static async create(region: string, nowMs: number): Promise<SnsSigner> {
    const { privateKey } = await promisify(generateKeyPair)('rsa', { modulusLength: 2048 });
    const pem = selfSignedCertificate(privateKey, `sns.${region}.amazonaws.com`, nowMs, randomBytes(12));
    return new SnsSigner(privateKey, pem);
  }

  /** Base64 signature: SignatureVersion 1 is SHA1withRSA, 2 is SHA256withRSA. */
  sign(message: SnsSignedFields, version: '1' | '2'): string {
    const algorithm = version === '1' ? 'sha1' : 'sha256';
    return sign(algorithm, Buffer.from(stringToSign(message), 'utf8'), this.privateKey).toString('base64');
  }

  /** RS256 JWT (RegisterUsage `Signature`). */
  jwt(payload: Record<string, unknown>): string {
    const enc = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
    const head = `${enc({ alg: 'RS256', typ: 'JWT' })}.${enc(payload)}`;
    return `${head}.${sign('sha256', Buffer.from(head), this.privateKey).toString('base64url')}`;
  }
}
