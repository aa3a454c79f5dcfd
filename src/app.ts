import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import express, { type Express, type RequestHandler, type Router } from 'express';
import * as OpenApiValidator from 'express-openapi-validator';
import helmet from 'helmet';
import type { Logger } from './platform/logger';
import type { ApiKey } from './platform/api-keys';
import { parse as parseYaml } from 'yaml';
import { requireApiKey, scopeTableFromSpec } from '../routes/support/api-key-auth';
import { apiRateLimit, registrationRateLimit, snsRateLimit, type RateLimitSettings } from '../routes/support/rate-limits';
import { notFoundHandler, problemHandler, type HtmlProblemRenderer } from '../routes/support/problem-json';
import { requestLog } from '../routes/support/request-log';
import { responseConformance, type SpecViolation } from '../routes/support/response-conformance';
import type { ServiceMetrics } from './metrics/service-metrics';

/** The spec path of the registration URL; the configured path replaces it at start-up. */
export const SPEC_REGISTRATION_PATH = '/marketplace/register';

export interface AppOptions {
  readonly logger: Logger;
  readonly apiKeys: readonly ApiKey[];
  readonly registrationPath: string;
  readonly trustProxy: boolean | number | readonly string[];
  /** Requests per minute before 429; 0 turns a limit off. Default: none. */
  readonly rateLimits?: RateLimitSettings;
  /** Origins besides this one that forms may submit to, redirects included (LOGIN_URL for the hand-off). Default none. */
  readonly formActionOrigins?: readonly string[];
  /**
   * Liveness and readiness probes: they take no input, so they are answered before request
   * logging, rate limits, body parsing and request validation, and a probe costs next to nothing.
   */
  readonly probeRouters?: readonly Router[];
  /** Routers for buyer pages and other routes without an API key. */
  readonly publicRouters: readonly Router[];
  /** Routers for `/v1/...` (API key required). */
  readonly apiRouters: readonly Router[];
  /** Error pages for buyer routes (`/marketplace/...`); machine routes always get problem+json. */
  readonly renderHtmlProblem?: HtmlProblemRenderer;
  /**
   * Check every response against openapi.yaml (tests turn it on). Default false. JSON bodies are
   * validated against their schema (a mismatch is a 500); every status and media type, errors and
   * pages included, is checked against the operation and a mismatch is appended here.
   */
  readonly validateResponses?: boolean;
  readonly specViolations?: SpecViolation[];
  /**
   * Checks run before any body is parsed or validated, by path prefix (the console's session gate
   * and sign-in rate limit): an anonymous request is refused whatever its body. Default none.
   */
  readonly guards?: ReadonlyArray<{ readonly path: string; readonly handlers: readonly RequestHandler[] }>;
  /** Request metrics, and `GET /metrics` (API key with the `metrics` scope). Default: none. */
  readonly metrics?: ServiceMetrics;
}

/** Loads openapi.yaml with the registration path as configured. */
export function loadApiSpec(registrationPath = SPEC_REGISTRATION_PATH): Record<string, unknown> & { paths: Record<string, unknown> } {
  // From src/ when run from source, from dist/src/ when compiled.
  const file =
    [join(__dirname, '..', 'openapi.yaml'), join(__dirname, '..', '..', 'openapi.yaml')].find((f) => existsSync(f)) ?? 'openapi.yaml';
  const spec = parseYaml(readFileSync(file, 'utf8')) as Record<string, unknown> & { paths: Record<string, unknown> };
  if (registrationPath !== SPEC_REGISTRATION_PATH) {
    const paths: Record<string, unknown> = {};
    for (const [path, item] of Object.entries(spec.paths)) paths[path === SPEC_REGISTRATION_PATH ? registrationPath : path] = item;
    spec.paths = paths;
  }
  return spec;
}

export function createApp(options: AppOptions): Express {
  const app = express();
  app.disable('x-powered-by');
  // No ETags: openapi.yaml declares no 304 anywhere. API answers are decisions and records as of
  // now, pages carry a fresh nonce each time, and the console's two assets are cached for an hour.
  // (Hashing every JSON answer also cost its share of a request, and made the body a buffer written
  // apart from the headers.)
  app.set('etag', false);
  // Nor is anything ever "not modified": Express's freshness check takes `If-None-Match: *` (or an
  // `If-Modified-Since` of a file) as a match and answers an empty 304, which would hand a client
  // no access decision at all. Conditional requests are answered in full.
  app.use((req, _res, next) => {
    delete req.headers['if-none-match'];
    delete req.headers['if-modified-since'];
    next();
  });
  app.set('trust proxy', Array.isArray(options.trustProxy) ? [...(options.trustProxy as string[])] : options.trustProxy);
  const spec = loadApiSpec(options.registrationPath);
  if (options.validateResponses) app.use(responseConformance(spec, options.specViolations ?? []));
  if (options.metrics) app.use(requestMetrics(options.metrics, options.registrationPath));
  // Pages (buyer pages, the console, the start page): helmet with a fresh nonce per response, the
  // only inline script a page may run being one carrying it. Machine routes answer JSON or text
  // to programs: the same protections as fixed headers computed once, with a CSP that allows
  // nothing, so their requests do not pay for a nonce and a policy built per response.
  const pageSecurity = helmet({
    contentSecurityPolicy: {
      directives: {
        // The onboarding form posts to this origin, which may redirect to the seller's sign-in (the hand-off).
        'form-action': ["'self'", ...(options.formActionOrigins ?? [])],
        'frame-ancestors': ["'none'"],
        'script-src': ["'self'", (_req, res) => `'nonce-${String((res as unknown as { locals: { cspNonce?: string } }).locals.cspNonce)}'`],
      },
    },
    referrerPolicy: { policy: 'no-referrer' },
  });
  const machineHeaders = fixedSecurityHeaders();
  app.use((req, res, next) => {
    if (isMachinePath(req.path)) {
      for (const [name, value] of machineHeaders) res.setHeader(name, value);
      next();
      return;
    }
    res.locals.cspNonce = randomBytes(16).toString('base64');
    pageSecurity(req, res, next);
  });
  for (const router of options.probeRouters ?? []) app.use(router);
  app.use(requestLog(options.logger));
  if (options.metrics) {
    const metrics = options.metrics;
    app.use('/metrics', requireApiKey(options.apiKeys, scopeTableFromSpec(spec, ['/metrics']), '/metrics'));
    app.get('/metrics', (_req, res, next) => {
      metrics
        .exposition()
        .then(({ contentType, body }) => res.type(contentType).send(body))
        .catch(next);
    });
  }
  const limits = options.rateLimits ?? { registrationPerMinute: 0, snsPerMinute: 0, apiPerMinute: 0 };
  const validator = (paths: (path: string) => boolean) =>
    OpenApiValidator.middleware({
      apiSpec: specWithPaths(spec, paths) as never,
      validateRequests: { allowUnknownQueryParameters: false },
      validateResponses: options.validateResponses
        ? {
            onError: (error) => {
              throw error;
            },
          }
        : false,
      validateSecurity: false,
      validateFormats: true,
    });
  // `/v1`: a chain of its own, before the page routes, guards and body parsers it never uses. The
  // API key (and its scope) is checked before any body is parsed or validated: without one,
  // nothing about the request is examined and the answer is 401, whatever the body or path. Then
  // the key's rate limit, the JSON body, validation against the `/v1` operations of the spec, the
  // routes, and a 404 for any other `/v1` path.
  const api = express.Router();
  api.use((req, _res, next) => next(isApiPath(req.path) ? undefined : 'router'));
  api.use(requireApiKey(options.apiKeys, scopeTableFromSpec(spec, ['/v1'])), apiRateLimit(limits.apiPerMinute));
  api.use(express.json({ limit: '2mb' }));
  api.use(validator(isApiPath));
  for (const router of options.apiRouters) api.use(router);
  api.use(notFoundHandler);
  app.use(api);
  for (const guard of options.guards ?? []) app.use(guard.path, ...guard.handlers);
  app.post(options.registrationPath, registrationRateLimit(limits.registrationPerMinute, options.renderHtmlProblem));
  app.use('/marketplace/sns', snsRateLimit(limits.snsPerMinute));
  // SNS posts JSON with Content-Type text/plain (facts §4.2): keep this path's body as raw text.
  app.use('/marketplace/sns', express.text({ type: () => true, limit: '256kb' }));
  app.use(express.urlencoded({ extended: false, limit: '16kb', parameterLimit: 50 }));
  app.use(express.json({ limit: '2mb' }));
  app.use(validator((path) => !isApiPath(path)));
  for (const router of options.publicRouters) app.use(router);
  app.use(notFoundHandler);
  app.use(problemHandler(options.logger, options.renderHtmlProblem, [options.registrationPath]));
  return app;
}

/**
 * Times every request by its route template (never the raw path: ids would make one series per
 * customer) and counts the 429s of the rate limits.
 */
function requestMetrics(metrics: ServiceMetrics, registrationPath: string): express.RequestHandler {
  return (req, res, next) => {
    const stop = metrics.httpDuration.startTimer();
    res.on('finish', () => {
      const template = (req.route as { path?: unknown } | undefined)?.path;
      const route = typeof template === 'string' ? `${req.baseUrl}${template}` : 'unmatched';
      stop({ method: req.method, route, status: String(res.statusCode) });
      if (res.statusCode === 429) {
        const path = req.originalUrl.split('?')[0] ?? '';
        const limit = path.startsWith('/v1/')
          ? 'api'
          : path.startsWith('/marketplace/sns')
            ? 'sns'
            : path === registrationPath
              ? 'registration'
              : 'other';
        metrics.rateLimitRefusals.inc({ limit });
      }
    });
    next();
  };
}

/** `/v1` and below: the API, with its own middleware chain (see {@link createApp}). */
function isApiPath(path: string): boolean {
  return path === '/v1' || path.startsWith('/v1/');
}

/** The spec with only the paths `keep` selects (one validator per middleware chain). */
function specWithPaths<S extends { paths: Record<string, unknown> }>(spec: S, keep: (path: string) => boolean): S {
  return { ...spec, paths: Object.fromEntries(Object.entries(spec.paths).filter(([path]) => keep(path))) };
}

/** Routes that answer programs, never a browser page (see {@link fixedSecurityHeaders}). */
const MACHINE_ROOTS = ['/v1', '/marketplace/sns', '/metrics', '/healthz', '/readyz', '/.well-known', '/openapi.yaml'];

export function isMachinePath(path: string): boolean {
  return MACHINE_ROOTS.some((root) => path === root || path.startsWith(`${root}/`));
}

/**
 * The headers helmet sets, computed once, for responses no browser renders as a page: its
 * defaults (HSTS, nosniff, frame and opener policies, …) with `no-referrer` and a policy that
 * allows nothing (`default-src 'none'; frame-ancestors 'none'`).
 */
export function fixedSecurityHeaders(): ReadonlyArray<readonly [string, string]> {
  const headers = new Map<string, string>();
  const res = {
    setHeader: (name: string, value: unknown) => headers.set(name, String(value)),
    removeHeader: (name: string) => headers.delete(name),
    getHeader: (name: string) => headers.get(name),
  };
  let done = false;
  helmet({
    contentSecurityPolicy: { useDefaults: false, directives: { 'default-src': ["'none'"], 'frame-ancestors': ["'none'"] } },
    referrerPolicy: { policy: 'no-referrer' },
  })({} as never, res as never, () => (done = true));
  if (!done) throw new Error('helmet did not finish synchronously: the fixed security headers cannot be computed once');
  return [...headers];
}
