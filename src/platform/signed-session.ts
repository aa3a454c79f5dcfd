import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Clock } from './clock';

/**
 * Short-lived, opaque, tamper-proof session values: `base64url(iv ‖ ciphertext ‖ gcm tag).base64url(hmac)`.
 * The payload holds only what the server needs back (an internal id, an expiry, a nonce) and is
 * encrypted (AES-256-GCM), so the cookie reveals nothing, not even the customer id; the HMAC over
 * the encrypted value is checked first, so a forged value costs no decryption. Both keys are
 * derived from the configured secret (HKDF-SHA256, separate labels). The payload never holds a
 * Marketplace token.
 */
export interface SessionPayload {
  /** Internal customer id. */
  readonly sub: string;
  /** Expiry, epoch seconds. */
  readonly exp: number;
  /** Random per session; binds the sign-up form's anti-forgery token to this session. */
  readonly nonce: string;
}

export class SessionCodec {
  private readonly encryptionKey: Buffer;

  constructor(
    private readonly secret: Buffer,
    private readonly ttlSeconds: number,
    private readonly clock: Clock,
  ) {
    this.encryptionKey = Buffer.from(hkdfSync('sha256', secret, Buffer.alloc(0), 'marketplace-bridge session encryption', 32));
  }

  issue(subject: string): string {
    const payload: SessionPayload = {
      sub: subject,
      exp: Math.floor(this.clock.now().getTime() / 1000) + this.ttlSeconds,
      nonce: randomBytes(16).toString('base64url'),
    };
    return this.seal('session', payload);
  }

  /**
   * A short-lived value bound to one session (a form's errors carried across a redirect, so that
   * Back never re-posts the form). Encrypted like the session; readable only with that session.
   */
  sealFlash(session: SessionPayload, data: unknown, ttlSeconds = 300): string {
    return this.seal(`flash.${session.nonce}`, { data, exp: Math.floor(this.clock.now().getTime() / 1000) + ttlSeconds });
  }

  /** The flash value, or undefined when absent, forged, expired or from another session. */
  openFlash(session: SessionPayload, value: string | undefined): unknown {
    const opened = this.unseal(`flash.${session.nonce}`, value, 8192) as { data?: unknown; exp?: unknown } | undefined;
    if (!opened || typeof opened.exp !== 'number' || opened.exp * 1000 <= this.clock.now().getTime()) return undefined;
    return opened.data;
  }

  private seal(purpose: string, payload: unknown): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.encryptionKey, iv);
    const sealed = Buffer.concat([iv, cipher.update(JSON.stringify(payload), 'utf8'), cipher.final(), cipher.getAuthTag()]);
    const body = sealed.toString('base64url');
    return `${body}.${this.mac(`${purpose}.${body}`)}`;
  }

  private unseal(purpose: string, value: string | undefined, maxLength: number): unknown {
    if (!value || value.length > maxLength) return undefined;
    const [body, mac, extra] = value.split('.');
    if (!body || !mac || extra !== undefined) return undefined;
    if (!safeEqual(mac, this.mac(`${purpose}.${body}`))) return undefined;
    try {
      const sealed = Buffer.from(body, 'base64url');
      if (sealed.length < 12 + 16 + 2) return undefined;
      const decipher = createDecipheriv('aes-256-gcm', this.encryptionKey, sealed.subarray(0, 12));
      decipher.setAuthTag(sealed.subarray(sealed.length - 16));
      const json = Buffer.concat([decipher.update(sealed.subarray(12, sealed.length - 16)), decipher.final()]).toString('utf8');
      return JSON.parse(json) as unknown;
    } catch {
      return undefined;
    }
  }

  /** The payload, or undefined when the value is forged, malformed or expired. */
  open(value: string | undefined): SessionPayload | undefined {
    const payload = this.unseal('session', value, 1024) as SessionPayload | undefined;
    if (!payload || typeof payload.sub !== 'string' || typeof payload.exp !== 'number' || typeof payload.nonce !== 'string')
      return undefined;
    if (payload.exp * 1000 <= this.clock.now().getTime()) return undefined;
    return payload;
  }

  /** Anti-forgery token for forms rendered within a session. */
  csrfToken(session: SessionPayload): string {
    return this.mac(`csrf.${session.sub}.${session.nonce}`);
  }

  verifyCsrf(session: SessionPayload, token: unknown): boolean {
    return typeof token === 'string' && safeEqual(token, this.csrfToken(session));
  }

  private mac(text: string): string {
    return createHmac('sha256', this.secret).update(text).digest('base64url');
  }
}

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
