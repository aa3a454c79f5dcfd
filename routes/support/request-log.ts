import type { RequestHandler } from 'express';
import type { Logger } from '../../src/platform/logger';

/**
 * One line per request, written when the response closes (finished, or the connection lost first):
 * `{ reqId, method, path, statusCode, apiKey?, responseTime, msg }`. The path is logged without its
 * query string; headers (API keys, cookies) and bodies (the registration form carries the
 * Marketplace token) never are. The API key's name (`res.locals.apiKeyName`, set by the key check)
 * is enough to know who called.
 *
 * One logger call per request and nothing else: no child logger per request, no serializers. No
 * handler logs through the request, so nothing else needs the request id.
 */
export function requestLog(logger: Logger, options: { ignore?: (path: string) => boolean } = {}): RequestHandler {
  const ignore = options.ignore ?? (() => false);
  let lastId = 0;
  return (req, res, next) => {
    const url = req.url;
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    if (ignore(path)) {
      next();
      return;
    }
    const reqId = (lastId = (lastId + 1) & 0x7fffffff);
    const started = performance.now();
    const method = req.method;
    // 'close' follows 'finish' on every response, and also comes alone when the client goes away.
    res.once('close', () => {
      const name: unknown = res.locals.apiKeyName;
      const line = {
        reqId,
        method,
        path,
        statusCode: res.statusCode,
        ...(typeof name === 'string' ? { apiKey: name } : {}),
        responseTime: Math.round(performance.now() - started),
      };
      const message = !res.writableFinished ? 'request aborted' : res.statusCode >= 500 ? 'request errored' : 'request completed';
      logger.info(line, message);
    });
    next();
  };
}
