import { createHash, timingSafeEqual } from 'node:crypto';
import type { RequestHandler } from 'express';
import { AppError } from '../../src/platform/errors';

/**
 * `Authorization: Bearer <key>` for machine routes. Keys are compared as SHA-256 digests in
 * constant time, against every configured key, so timing reveals neither key nor match index.
 */
export function requireApiKey(keys: ReadonlyArray<{ name: string; sha256: Buffer }>): RequestHandler {
  return (req, res, next) => {
    res.setHeader('WWW-Authenticate', 'Bearer'); // RFC 6750 §3: a 401 names the scheme
    const header = req.headers.authorization;
    const match = typeof header === 'string' ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
    if (!match?.[1]) {
      next(new AppError('An API key is required: Authorization: Bearer <key>.', { code: 'unauthorized', httpStatus: 401 }));
      return;
    }
    const digest = createHash('sha256').update(match[1]).digest();
    let found: string | undefined;
    for (const key of keys) {
      if (timingSafeEqual(digest, key.sha256) && found === undefined) found = key.name;
    }
    if (!found) {
      next(new AppError('The API key is not valid.', { code: 'unauthorized', httpStatus: 401 }));
      return;
    }
    res.removeHeader('WWW-Authenticate');
    res.locals.apiKeyName = found;
    next();
  };
}
