import { createHash, timingSafeEqual } from 'node:crypto';
import type { RequestHandler } from 'express';
import { isApiScope, type ApiKey, type ApiScope } from '../../src/platform/api-keys';
import { AppError } from '../../src/platform/errors';

/** The scope each machine operation needs, read from `x-scope` in openapi.yaml. */
export interface ScopeTable {
  /** The scope of (method, path), or undefined for a path the spec does not route (a 404 follows). */
  scopeFor(method: string, path: string): ApiScope | undefined;
  /** Every operation with its scope, e.g. `GET /v1/access` → `access:read`. */
  readonly operations: ReadonlyArray<{ method: string; path: string; scope: ApiScope }>;
}

/**
 * Builds the scope table of every operation under `prefixes` in the spec. An operation there
 * without a known `x-scope` is a programming error: the service refuses to start, so no machine
 * route can exist without a scope.
 */
export function scopeTableFromSpec(spec: { paths: Record<string, unknown> }, prefixes: readonly string[]): ScopeTable {
  const operations: Array<{ method: string; path: string; scope: ApiScope; pattern: RegExp }> = [];
  for (const [path, item] of Object.entries(spec.paths)) {
    if (!prefixes.some((p) => path === p || path.startsWith(`${p}/`))) continue;
    for (const [method, op] of Object.entries(item as Record<string, { 'x-scope'?: unknown }>)) {
      if (!['get', 'post', 'put', 'patch', 'delete'].includes(method)) continue;
      const scope = op['x-scope'];
      if (typeof scope !== 'string' || !isApiScope(scope)) {
        throw new Error(`openapi.yaml: ${method.toUpperCase()} ${path} has no valid x-scope (got ${JSON.stringify(scope)})`);
      }
      const pattern = new RegExp(`^${path.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{[^}]+\}/g, '[^/]+')}/?$`);
      operations.push({ method: method.toUpperCase(), path, scope, pattern });
    }
  }
  return {
    operations: operations.map(({ method, path, scope }) => ({ method, path, scope })),
    scopeFor(method, path) {
      // HEAD is answered by the GET route.
      const m = method === 'HEAD' ? 'GET' : method;
      return operations.find((o) => o.method === m && o.pattern.test(path))?.scope;
    },
  };
}

/**
 * `Authorization: Bearer <key>` for machine routes, then the operation's scope. Keys are compared
 * as SHA-256 digests in constant time, against every configured key, so timing reveals neither key
 * nor match index. 401 without a valid key; 403 `insufficient_scope` when the key lacks the scope.
 * The key's name (never the key) goes into `res.locals.apiKeyName` for the request log.
 */
export function requireApiKey(keys: readonly ApiKey[], scopes: ScopeTable, mountPath = ''): RequestHandler {
  return (req, res, next) => {
    res.setHeader('WWW-Authenticate', 'Bearer'); // RFC 6750 §3: a 401 names the scheme
    const header = req.headers.authorization;
    const match = typeof header === 'string' ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
    if (!match?.[1]) {
      next(new AppError('An API key is required: Authorization: Bearer <key>.', { code: 'unauthorized', httpStatus: 401 }));
      return;
    }
    const digest = createHash('sha256').update(match[1]).digest();
    let found: ApiKey | undefined;
    for (const key of keys) {
      if (timingSafeEqual(digest, key.sha256) && found === undefined) found = key;
    }
    if (!found) {
      next(new AppError('The API key is not valid.', { code: 'unauthorized', httpStatus: 401 }));
      return;
    }
    res.locals.apiKeyName = found.name;
    const needed = scopes.scopeFor(req.method, `${mountPath}${req.path}`);
    if (needed !== undefined && !found.scopes.has(needed)) {
      res.setHeader('WWW-Authenticate', `Bearer error="insufficient_scope", scope="${needed}"`);
      next(
        new AppError(`The API key "${found.name}" does not have the scope ${needed}.`, {
          code: 'insufficient_scope',
          httpStatus: 403,
          details: { scope: needed },
        }),
      );
      return;
    }
    res.removeHeader('WWW-Authenticate');
    next();
  };
}
