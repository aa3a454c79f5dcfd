/**
 * API keys and their scopes (pure). A key is kept only as its SHA-256 digest; what a key may do is
 * the set of scopes configured beside it. Each machine operation in `openapi.yaml` names the one
 * scope it needs (`x-scope`), and a request whose key lacks it is refused with 403.
 */
import { createHash } from 'node:crypto';

/** Every scope, with what it allows. Part of the public API: never rename one. */
export const API_SCOPES = {
  'registrations:write': 'redeem registration tokens (POST /v1/registrations)',
  'usage:write': 'report usage (POST /v1/usage)',
  'access:read': 'ask whether a customer may use something (GET /v1/access)',
  'metering:read': 'list metering records (GET /v1/metering/records)',
  'metering:write': 'retry metering records (POST /v1/metering/records/{id}/retry)',
  'customers:read': 'read customers and their changes',
  'customers:write': "set a customer's external id, erase a buyer's personal data",
  'webhooks:manage': 'manage webhook endpoints and deliveries',
  metrics: 'read Prometheus metrics (GET /metrics)',
  admin: 'sign in to the seller console',
} as const;

export type ApiScope = keyof typeof API_SCOPES;

export const ALL_SCOPES = Object.keys(API_SCOPES) as ApiScope[];

/**
 * Scopes of a key configured without any: what a SaaS app's back end needs to onboard, meter and
 * check access. Reading customers, managing webhooks, metrics and the console must be granted.
 */
export const DEFAULT_SCOPES: readonly ApiScope[] = ['registrations:write', 'usage:write', 'access:read', 'metering:read'];

export function isApiScope(value: string): value is ApiScope {
  return Object.prototype.hasOwnProperty.call(API_SCOPES, value);
}

/** A configured key: its name (logged with each request), digest and scopes. */
export interface ApiKey {
  readonly name: string;
  readonly sha256: Buffer;
  readonly scopes: ReadonlySet<ApiScope>;
}

/**
 * Parses `API_KEYS` (`name(scope scope)=key`, comma-separated; `name=key` takes
 * {@link DEFAULT_SCOPES}) or `API_KEY_SHA256` (the same with the key's SHA-256 in hex). Returns
 * the keys and a problem per bad entry; a problem never contains the key.
 */
export function parseApiKeys(text: string | undefined, variable: 'API_KEYS' | 'API_KEY_SHA256'): { keys: ApiKey[]; problems: string[] } {
  const keys: ApiKey[] = [];
  const problems: string[] = [];
  const entries = (text ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const [index, entry] of entries.entries()) {
    const at = `${variable}: entry ${index + 1}`;
    // A bare key (no `=`) is named after its position, as before scopes existed.
    const m = entry.includes('=')
      ? /^([A-Za-z0-9_.-]{1,64})(?:\(([^)]*)\))?=(.*)$/.exec(entry)
      : [entry, `key${index + 1}`, undefined, entry];
    if (!m) {
      problems.push(`${at} is not name=key or name(scope scope)=key`);
      continue;
    }
    const [, name, scopeText, secret] = m as unknown as [string, string, string | undefined, string];
    const scopes = new Set<ApiScope>();
    const unknown: string[] = [];
    for (const s of scopeText === undefined ? DEFAULT_SCOPES : scopeText.split(/[\s+]+/).filter(Boolean)) {
      if (isApiScope(s)) scopes.add(s);
      else unknown.push(s);
    }
    if (unknown.length > 0)
      problems.push(
        `${at} ("${name}") has unknown scope(s) ${unknown.map((u) => JSON.stringify(u.slice(0, 30))).join(', ')} (known: ${ALL_SCOPES.join(', ')})`,
      );
    if (scopeText !== undefined && scopes.size === 0 && unknown.length === 0) problems.push(`${at} ("${name}") grants no scope`);
    let sha256: Buffer;
    if (variable === 'API_KEYS') {
      if (secret.length < 20) {
        problems.push(`${at} ("${name}") is too short (expected a key of at least 20 characters)`);
        continue;
      }
      sha256 = createHash('sha256').update(secret).digest();
    } else {
      if (!/^[0-9a-fA-F]{64}$/.test(secret)) {
        problems.push(`${at} ("${name}") is not a SHA-256 in hex (64 hexadecimal characters)`);
        continue;
      }
      sha256 = Buffer.from(secret, 'hex');
    }
    if (keys.some((k) => k.name === name)) problems.push(`${at}: the name "${name}" is used twice`);
    keys.push({ name, sha256, scopes });
  }
  return { keys, problems };
}
