/**
 * Typed errors with a stable machine code. Every boundary (HTTP, queue, AWS SDK, database)
 * translates what it catches into one of these, and one error middleware turns them into
 * `application/problem+json` answers.
 */
export interface AppErrorOptions {
  /** Stable code, e.g. `invalid_token`. Part of the public API: never rename. */
  code: string;
  /** HTTP status the error maps to when it reaches a route. */
  httpStatus: number;
  /** True when the same operation may succeed if simply tried again later. */
  retryable?: boolean;
  /** Extra machine-readable detail, safe to show to API clients. */
  details?: Record<string, unknown>;
  cause?: unknown;
}

export class AppError extends Error {
  readonly code: string;
  readonly httpStatus: number;
  readonly retryable: boolean;
  readonly details: Record<string, unknown> | undefined;

  constructor(message: string, options: AppErrorOptions) {
    super(message, { cause: options.cause });
    this.name = 'AppError';
    this.code = options.code;
    this.httpStatus = options.httpStatus;
    this.retryable = options.retryable ?? false;
    this.details = options.details;
  }
}

export class ValidationError extends AppError {
  constructor(message: string, details?: Record<string, unknown>) {
    super(message, { code: 'validation_failed', httpStatus: 400, details });
    this.name = 'ValidationError';
  }
}

export class NotFoundError extends AppError {
  constructor(message: string, details?: Record<string, unknown>) {
    super(message, { code: 'not_found', httpStatus: 404, details });
    this.name = 'NotFoundError';
  }
}

export class ConflictError extends AppError {
  constructor(message: string, details?: Record<string, unknown>) {
    super(message, { code: 'conflict', httpStatus: 409, details });
    this.name = 'ConflictError';
  }
}

/** A dependency (database, AWS) is unavailable for now; the caller should retry later. */
export class UnavailableError extends AppError {
  constructor(message: string, options: { code?: string; cause?: unknown; details?: Record<string, unknown> } = {}) {
    super(message, {
      code: options.code ?? 'dependency_unavailable',
      httpStatus: 503,
      retryable: true,
      cause: options.cause,
      details: options.details,
    });
    this.name = 'UnavailableError';
  }
}

/**
 * A conditional write found the row changed by another writer (a usage write racing a seal, two
 * first writes of one MeterUsage slot). Nothing was written; doing the whole operation again is
 * safe and sees the other writer's committed result.
 */
export class ConcurrentWriteError extends AppError {
  constructor(message: string) {
    super(message, { code: 'concurrent_write', httpStatus: 503, retryable: true });
    this.name = 'ConcurrentWriteError';
  }
}

export function isAppError(error: unknown): error is AppError {
  return error instanceof AppError;
}
