import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import express, { type Express, type Router } from 'express';
import * as OpenApiValidator from 'express-openapi-validator';
import helmet from 'helmet';
import { pinoHttp } from 'pino-http';
import type { Logger } from 'pino';
import { parse as parseYaml } from 'yaml';
import { requireApiKey } from '../routes/support/api-key-auth';
import { notFoundHandler, problemHandler, type HtmlProblemRenderer } from '../routes/support/problem-json';
import { responseConformance, type SpecViolation } from '../routes/support/response-conformance';

/** The spec path of the registration URL; the configured path replaces it at start-up. */
export const SPEC_REGISTRATION_PATH = '/marketplace/register';

export interface AppOptions {
  readonly logger: Logger;
  readonly apiKeys: ReadonlyArray<{ name: string; sha256: Buffer }>;
  readonly registrationPath: string;
  readonly trustProxy: boolean;
  /** Routers for buyer pages and ops (no API key). */
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
}

/** Loads openapi.yaml with the registration path as configured. */
export function loadApiSpec(registrationPath = SPEC_REGISTRATION_PATH): Record<string, unknown> & { paths: Record<string, unknown> } {
  // From src/ when run from source, from dist/src/ when compiled.
  const file = [join(__dirname, '..', 'openapi.yaml'), join(__dirname, '..', '..', 'openapi.yaml')].find((f) => existsSync(f)) ?? 'openapi.yaml';
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
  app.set('trust proxy', options.trustProxy);
  const spec = loadApiSpec(options.registrationPath);
  if (options.validateResponses) app.use(responseConformance(spec, options.specViolations ?? []));
  app.use(
    helmet({
      contentSecurityPolicy: {
        directives: {
          // The onboarding form posts to this origin only.
          'form-action': ["'self'"],
          'frame-ancestors': ["'none'"],
        },
      },
      referrerPolicy: { policy: 'no-referrer' },
    }),
  );
  app.use(
    pinoHttp({
      logger: options.logger,
      // Never log bodies: the registration form carries the Marketplace token.
      serializers: { req: (req: { method: string; url: string; id: unknown }) => ({ id: req.id, method: req.method, path: String(req.url).split('?')[0] }) },
      autoLogging: { ignore: (req) => req.url === '/healthz' || req.url === '/readyz' },
    }),
  );
  // The API key is checked before any body is parsed or validated: without one, nothing about the
  // request is examined and the answer is 401, whatever the body or path.
  app.use('/v1', requireApiKey(options.apiKeys));
  // SNS posts JSON with Content-Type text/plain (facts §4.2): keep this path's body as raw text.
  app.use('/marketplace/sns', express.text({ type: () => true, limit: '256kb' }));
  app.use(express.urlencoded({ extended: false, limit: '16kb', parameterLimit: 50 }));
  app.use(express.json({ limit: '2mb' }));
  app.use(
    OpenApiValidator.middleware({
      apiSpec: spec as never,
      validateRequests: { allowUnknownQueryParameters: false },
      validateResponses: options.validateResponses ? { onError: (error) => { throw error; } } : false,
      validateSecurity: false,
      validateFormats: true,
    }),
  );
  for (const router of options.publicRouters) app.use(router);
  for (const router of options.apiRouters) app.use(router);
  app.use(notFoundHandler);
  app.use(problemHandler(options.logger, options.renderHtmlProblem, [options.registrationPath]));
  return app;
}
