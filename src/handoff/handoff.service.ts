import { randomUUID } from 'node:crypto';
import { calculateJwkThumbprint, createLocalJWKSet, errors as joseErrors, exportJWK, jwtVerify, SignJWT, type JWK } from 'jose';
import type { Customer } from '../customers/customer';
import type { Clock } from '../platform/clock';
import { AppError } from '../platform/errors';
import type { HandoffKey } from './handoff-keys';
import type { HandoffTokenRepository } from './handoff-token.repository';

/** A token's lifetime: long enough for a redirect, short enough that a copied URL is soon worthless. */
export const HANDOFF_TTL_SECONDS = 300;

/** The JWT `typ`: an app checks it, so no other token of ours (or anyone's) passes for a hand-off (RFC 8725 §3.11). */
export const HANDOFF_TOKEN_TYPE = 'marketplace-handoff+jwt';

/** The query parameter that carries the token to LOGIN_URL. */
export const HANDOFF_QUERY_PARAMETER = 'handoff_token';

export interface HandoffSettings {
  /** `iss`: this service's public URL. */
  readonly issuer: string;
  /** `aud`: the seller's app (default LOGIN_URL's origin). */
  readonly audience: string;
  readonly loginUrl: string | undefined;
  readonly key: HandoffKey;
  readonly previousKey?: HandoffKey;
}

/** The claims an app reads (README "Sign-in hand-off"). */
export interface HandoffClaims {
  readonly sub: string;
  readonly jti: string;
  readonly productCode: string;
  readonly status: string;
  readonly freeTrial: boolean;
  readonly identity:
    { readonly customerIdentifier: string } | { readonly customerAWSAccountId: string; readonly licenseArn: string } | null;
  readonly email: string | null;
  readonly company: string | null;
  readonly externalId: string | null;
}

/**
 * Sign-in hand-off: a short-lived JWT (5 minutes, audience the app) with which the buyer's browser
 * reaches the app's LOGIN_URL, so the app creates or links the tenant.
 *
 * Signed asymmetrically (ES256 by default): the app verifies with the JWKS published at
 * `/.well-known/jwks.json` and holds no secret of ours. Single use cannot be known by the issuer
 * from the token alone (it never sees what the app does with it), so it is enforced by redemption:
 * each token's `jti` is stored when issued, and `POST /v1/handoffs/redeem` verifies the token and
 * marks its `jti` used in one conditional write; a second redemption is refused. An app that
 * verifies offline instead must remember each `jti` until its `exp` and refuse it a second time.
 */
export class HandoffService {
  private kids: Promise<{ current: string; previous?: string }> | undefined;

  constructor(
    private readonly settings: HandoffSettings,
    private readonly tokens: HandoffTokenRepository,
    private readonly clock: Clock,
  ) {}

  get enabled(): boolean {
    return this.settings.loginUrl !== undefined;
  }

  /** A token for the customer and the LOGIN_URL that carries it. */
  async issue(customer: Customer): Promise<{ token: string; url: string; jti: string; expiresAt: Date }> {
    const loginUrl = this.settings.loginUrl;
    if (!loginUrl) throw new Error('no LOGIN_URL: the hand-off is off');
    const now = this.clock.now();
    const iat = Math.floor(now.getTime() / 1000);
    const expiresAt = new Date((iat + HANDOFF_TTL_SECONDS) * 1000);
    const jti = randomUUID();
    const { current } = await this.keyIds();
    const identity =
      customer.licenseArn && customer.customerAWSAccountId
        ? { customerAWSAccountId: customer.customerAWSAccountId, licenseArn: customer.licenseArn }
        : customer.customerIdentifier
          ? { customerIdentifier: customer.customerIdentifier }
          : null;
    const token = await new SignJWT({
      productCode: customer.productCode,
      status: customer.subscription.status,
      freeTrial: customer.freeTrial,
      identity,
      email: customer.onboarding.email,
      company: customer.onboarding.company,
      externalId: customer.externalId,
    })
      .setProtectedHeader({ alg: this.settings.key.alg, kid: current, typ: HANDOFF_TOKEN_TYPE })
      .setIssuer(this.settings.issuer)
      .setAudience(this.settings.audience)
      .setSubject(customer.id)
      .setJti(jti)
      .setIssuedAt(iat)
      .setNotBefore(iat)
      .setExpirationTime(iat + HANDOFF_TTL_SECONDS)
      .sign(this.settings.key.privateKey);
    await this.tokens.record(jti, customer.id, now, expiresAt);
    const url = new URL(loginUrl);
    url.searchParams.set(HANDOFF_QUERY_PARAMETER, token);
    return { token, url: url.toString(), jti, expiresAt };
  }

  /**
   * Verifies a token (signature, issuer, audience, type, time) and spends it. Errors: 400
   * `invalid_handoff_token`, 400 `handoff_token_expired`, 409 `handoff_token_used`.
   */
  async redeem(token: string): Promise<{ customerId: string; claims: HandoffClaims }> {
    const now = this.clock.now();
    let claims: HandoffClaims;
    try {
      const { payload } = await jwtVerify(token, createLocalJWKSet(await this.jwks()), {
        issuer: this.settings.issuer,
        audience: this.settings.audience,
        typ: HANDOFF_TOKEN_TYPE,
        algorithms: [this.settings.key.alg, ...(this.settings.previousKey ? [this.settings.previousKey.alg] : [])],
        currentDate: now,
        clockTolerance: 5,
      });
      claims = payload as unknown as HandoffClaims;
    } catch (error) {
      if (error instanceof joseErrors.JWTExpired)
        throw new AppError('The hand-off token has expired (they last 5 minutes).', { code: 'handoff_token_expired', httpStatus: 400 });
      throw new AppError('The hand-off token is not one this service issued for this app.', {
        code: 'invalid_handoff_token',
        httpStatus: 400,
      });
    }
    if (typeof claims.jti !== 'string' || typeof claims.sub !== 'string')
      throw new AppError('The hand-off token has no id.', { code: 'invalid_handoff_token', httpStatus: 400 });
    const outcome = await this.tokens.redeem(claims.jti, now);
    if (outcome.kind === 'used')
      throw new AppError(`The hand-off token was already redeemed at ${outcome.at.toISOString()}; tokens are single use.`, {
        code: 'handoff_token_used',
        httpStatus: 409,
      });
    if (outcome.kind === 'unknown' || outcome.customerId !== claims.sub)
      throw new AppError('The hand-off token is not one this service issued.', { code: 'invalid_handoff_token', httpStatus: 400 });
    return { customerId: outcome.customerId, claims };
  }

  /** The public keys (`/.well-known/jwks.json`): the current one, and one being retired. */
  async jwks(): Promise<{ keys: JWK[] }> {
    const kids = await this.keyIds();
    const jwk = async (key: HandoffKey, kid: string): Promise<JWK> => ({
      ...(await exportJWK(key.publicKey)),
      kid,
      alg: key.alg,
      use: 'sig',
    });
    const keys = [await jwk(this.settings.key, kids.current)];
    if (this.settings.previousKey && kids.previous) keys.push(await jwk(this.settings.previousKey, kids.previous));
    return { keys };
  }

  /** Key ids: RFC 7638 thumbprints, so they follow the key and need no configuration. */
  private keyIds(): Promise<{ current: string; previous?: string }> {
    this.kids ??= (async () => {
      const current = await calculateJwkThumbprint(await exportJWK(this.settings.key.publicKey));
      const previous = this.settings.previousKey
        ? await calculateJwkThumbprint(await exportJWK(this.settings.previousKey.publicKey))
        : undefined;
      return previous ? { current, previous } : { current };
    })();
    return this.kids;
  }
}
