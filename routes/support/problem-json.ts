import type { ErrorRequestHandler, RequestHandler } from 'express';
import type { Logger } from '../../src/platform/logger';
import { AppError, isAppError, UnavailableError } from '../../src/platform/errors';
import { isTransientDbError } from '../../src/store/dialect';

/** An RFC 9457 problem document. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  code: string;
  detail?: string;
  errors?: Array<{ path: string; message: string }>;
  [extra: string]: unknown;
}

/**
 * Infrastructure failures that reach a route untranslated become typed errors here: a database
 * that is unreachable or busy is a 503 the caller may retry, not a 500.
 */
export function translateError(error: unknown): unknown {
  if (!isAppError(error) && isTransientDbError(error)) {
    return new UnavailableError('The database is not reachable just now; try again shortly.', { code: 'store_unavailable', cause: error });
  }
  return error;
}

/** The problem document for an error already passed through {@link translateError}. */
function problemFor(error: unknown): Problem {
  if (isAppError(error)) {
    return {
      type: `about:blank`,
      title: titleFor(error.httpStatus),
      status: error.httpStatus,
      code: error.code,
      detail: error.message,
      ...(error.details ?? {}),
    };
  }
  const e = error as {
    status?: number;
    statusCode?: number;
    errors?: Array<{ path?: string; message?: string }>;
    message?: string;
    type?: string;
  };
  const status = e?.status ?? e?.statusCode;
  // Request validation (express-openapi-validator) and body-parser errors carry a 4xx status.
  if (typeof status === 'number' && status >= 400 && status < 500) {
    return {
      type: 'about:blank',
      title: titleFor(status),
      status,
      code:
        status === 404
          ? 'not_found'
          : status === 405
            ? 'method_not_allowed'
            : status === 413
              ? 'payload_too_large'
              : status === 415
                ? 'unsupported_media_type'
                : 'validation_failed',
      detail: e.message ?? titleFor(status),
      ...(Array.isArray(e.errors)
        ? { errors: e.errors.map((x) => ({ path: String(x.path ?? ''), message: String(x.message ?? '') })) }
        : {}),
    };
  }
  return { type: 'about:blank', title: titleFor(500), status: 500, code: 'internal', detail: 'An unexpected error occurred.' };
}

function titleFor(status: number): string {
  const titles: Record<number, string> = {
    400: 'Bad Request',
    401: 'Unauthorized',
    403: 'Forbidden',
    404: 'Not Found',
    405: 'Method Not Allowed',
    409: 'Conflict',
    413: 'Payload Too Large',
    415: 'Unsupported Media Type',
    422: 'Unprocessable Content',
    429: 'Too Many Requests',
    500: 'Internal Server Error',
    502: 'Bad Gateway',
    503: 'Service Unavailable',
  };
  return titles[status] ?? 'Error';
}

/** Renders a problem as a page for a buyer's browser. */
export type HtmlProblemRenderer = (problem: Problem) => string;

/**
 * The one error middleware: problem+json for machines, a plain-words page on buyer routes
 * (`/marketplace/...`), a Retry-After for retryable errors, 5xx logged.
 */
export function problemHandler(logger: Logger, renderHtml?: HtmlProblemRenderer, buyerPaths: readonly string[] = []): ErrorRequestHandler {
  // The buyer's browser reaches `/marketplace/...` and the registration URL, wherever it is
  // configured; SNS (a machine) reaches `/marketplace/sns`.
  const isBuyerPath = (path: string) => (path.startsWith('/marketplace/') && path !== '/marketplace/sns') || buyerPaths.includes(path);
  return (raw, req, res, _next) => {
    const error = translateError(raw);
    const problem = problemFor(error);
    if (problem.status >= 500) logger.error({ err: error, path: req.path }, 'request failed');
    if (isAppError(error) && error.retryable) res.setHeader('Retry-After', '30');
    if (res.headersSent) return;
    if (renderHtml && isBuyerPath(req.path)) {
      res.status(problem.status).type('html').send(renderHtml(problem));
      return;
    }
    res.status(problem.status).type('application/problem+json').send(JSON.stringify(problem));
  };
}

export const notFoundHandler: RequestHandler = (req, _res, next) => {
  next(new AppError(`No route for ${req.method} ${req.path}.`, { code: 'not_found', httpStatus: 404 }));
};
