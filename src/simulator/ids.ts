import { randomBytes, randomUUID } from 'node:crypto';

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** Random string over [A-Za-z0-9]. */
export function randomAlnum(length: number): string {
  const bytes = randomBytes(length);
  let out = '';
  for (const b of bytes) out += ALNUM[b % ALNUM.length];
  return out;
}

/** Random lowercase hex of `length` characters. */
export function randomHex(length: number): string {
  return randomBytes(Math.ceil(length / 2))
    .toString('hex')
    .slice(0, length);
}

/** A random 12-digit AWS account id (never starting with 0). */
export function randomAccountId(): string {
  let out = String(1 + (randomBytes(1)[0]! % 9));
  for (const b of randomBytes(11)) out += String(b % 10);
  return out;
}

export const uuid = randomUUID;

/** A Marketplace customer identifier: opaque, not the account id (§1.5). Shaped like `X01EXAMPLEX`. */
export function customerIdentifier(): string {
  return randomAlnum(11);
}

/** `arn:aws:license-manager::<account>:license:l-<32 hex>` (shape from §5.4). */
export function licenseArn(accountId: string): string {
  return `arn:aws:license-manager::${accountId}:license:l-${randomHex(32)}`;
}

export function agreementId(): string {
  return `agmt-${randomAlnum(25).toLowerCase()}`;
}

export function offerId(): string {
  return `offer-${randomAlnum(13).toLowerCase()}`;
}

export function productId(): string {
  return `prod-${randomAlnum(13).toLowerCase()}`;
}
