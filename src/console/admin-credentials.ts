import { createHash, scryptSync, timingSafeEqual } from 'node:crypto';
import type { ApiKey } from '../platform/api-keys';

/**
 * The console's sign-in credentials (README "Console"): a password checked against
 * `ADMIN_PASSWORD_HASH`, or an API key with the `admin` scope.
 *
 * `ADMIN_PASSWORD_HASH` format: `scrypt$N$r$p$<salt base64>$<key base64>` (node:crypto scrypt,
 * key length = the decoded key's length). Produce one with:
 *
 *   node -e 'const c=require("crypto"),s=c.randomBytes(16),p=process.argv[1];console.log(["scrypt",16384,8,1,s.toString("base64"),c.scryptSync(p,s,32,{N:16384,r:8,p:1}).toString("base64")].join("$"))' 'your password'
 */
export interface PasswordHash {
  readonly N: number;
  readonly r: number;
  readonly p: number;
  readonly salt: Buffer;
  readonly key: Buffer;
}

/** Parses the stored hash; a string saying what is wrong when it is not one. */
export function parsePasswordHash(text: string): PasswordHash | string {
  const parts = text.trim().split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return 'expected scrypt$N$r$p$<salt base64>$<key base64> (README "Console")';
  const [N, r, p] = parts.slice(1, 4).map(Number) as [number, number, number];
  if (!Number.isInteger(N) || N < 1024 || N > 2 ** 20 || (N & (N - 1)) !== 0) return 'N must be a power of two from 1024 to 1048576';
  if (!Number.isInteger(r) || r < 1 || r > 32) return 'r must be an integer from 1 to 32';
  if (!Number.isInteger(p) || p < 1 || p > 16) return 'p must be an integer from 1 to 16';
  const salt = Buffer.from(parts[4]!, 'base64');
  const key = Buffer.from(parts[5]!, 'base64');
  if (salt.length < 8) return 'the salt must be at least 8 bytes';
  if (key.length < 16 || key.length > 128) return 'the key must be 16 to 128 bytes';
  return { N, r, p, salt, key };
}

/** True when `password` matches (constant-time comparison of the derived keys). */
export function verifyPassword(hash: PasswordHash, password: string): boolean {
  if (password.length === 0 || password.length > 1024) return false;
  const derived = scryptSync(password, hash.salt, hash.key.length, {
    N: hash.N,
    r: hash.r,
    p: hash.p,
    maxmem: 256 * hash.N * hash.r + 1024 * 1024,
  });
  return timingSafeEqual(derived, hash.key);
}

/** The configured key with the `admin` scope that `presented` is, if any (digests compared in constant time, against every key). */
export function adminKeyFor(keys: readonly ApiKey[], presented: string): ApiKey | undefined {
  if (presented.length === 0 || presented.length > 1024) return undefined;
  const digest = createHash('sha256').update(presented).digest();
  let found: ApiKey | undefined;
  for (const key of keys) if (timingSafeEqual(digest, key.sha256) && found === undefined) found = key;
  return found?.scopes.has('admin') ? found : undefined;
}
