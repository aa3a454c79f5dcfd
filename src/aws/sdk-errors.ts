import { AppError, UnavailableError } from '../platform/errors';

/** The facts of an AWS SDK v3 error that decisions are made on (facts §1.3, §1.4). */
export interface AwsErrorFacts {
  /** The AWS error code, e.g. `ThrottlingException`; `NetworkError` when no answer came back. */
  readonly code: string;
  readonly fault: 'client' | 'server' | 'network';
  readonly httpStatus?: number;
  readonly requestId?: string;
  readonly message: string;
}

const THROTTLING_CODES = new Set(['ThrottlingException', 'Throttling', 'TooManyRequestsException', 'RequestThrottled', 'RequestLimitExceeded', 'SlowDown']);
const NETWORK_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'TimeoutError', 'RequestTimeout', 'RequestTimeoutException', 'ENOTFOUND', 'EAI_AGAIN', 'UND_ERR_SOCKET']);

/** Reads the code, fault and status from anything the SDK (or the network under it) throws. */
export function awsErrorFacts(error: unknown): AwsErrorFacts {
  const e = (error ?? {}) as { name?: unknown; code?: unknown; $fault?: unknown; $metadata?: { httpStatusCode?: number; requestId?: string }; message?: unknown };
  const name = typeof e.name === 'string' ? e.name : 'UnknownError';
  const errno = typeof e.code === 'string' ? e.code : undefined;
  const status = e.$metadata?.httpStatusCode;
  const message = typeof e.message === 'string' ? e.message : String(error);
  if ((errno && NETWORK_CODES.has(errno)) || NETWORK_CODES.has(name) || (status === undefined && e.$fault === undefined)) {
    return { code: errno ?? (NETWORK_CODES.has(name) ? name : 'NetworkError'), fault: 'network', message };
  }
  const fault = e.$fault === 'server' || (status !== undefined && status >= 500) ? 'server' : 'client';
  return { code: name, fault, httpStatus: status, requestId: e.$metadata?.requestId, message };
}

/** Throttled, a 5xx, or no answer at all: the same call may succeed later. */
export function isTransientAwsError(facts: AwsErrorFacts): boolean {
  return facts.fault !== 'client' || THROTTLING_CODES.has(facts.code);
}

/**
 * An AWS call failed. Carries the AWS code so callers can decide per code, and maps to 503
 * (retry later) or 502 (our configuration or AWS refused) when it reaches a route.
 */
export class AwsCallError extends AppError {
  constructor(readonly operation: string, readonly aws: AwsErrorFacts) {
    super(`${operation} failed: ${aws.code}${aws.requestId ? ` (request ${aws.requestId})` : ''}: ${aws.message}`, {
      code: isTransientAwsError(aws) ? 'marketplace_unavailable' : 'marketplace_error',
      httpStatus: isTransientAwsError(aws) ? 503 : 502,
      retryable: isTransientAwsError(aws),
      details: { operation, awsCode: aws.code, requestId: aws.requestId },
    });
    this.name = 'AwsCallError';
  }
}

export function toAwsCallError(operation: string, error: unknown): AwsCallError {
  return new AwsCallError(operation, awsErrorFacts(error));
}

export { UnavailableError };
