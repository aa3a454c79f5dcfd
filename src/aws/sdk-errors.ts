import { isServerError, isThrottlingError, isTransientError } from '@smithy/core/retry';
import { AppError } from '../platform/errors';

/**
 * The one table of AWS errors (facts §1.3, §1.4). Everything the SDK, or the network under it,
 * throws is read here once, into a `kind` every caller decides on: retry or not, and what it means
 * for the records of a metering call. The SDK's own classifiers (`@smithy/core/retry`, the ones its
 * retry strategy uses) decide throttling and transience; the AWS Marketplace codes they do not know
 * are listed below.
 */
export type AwsErrorKind =
  /** Slow down and retry (the SDK's throttling codes, HTTP 429). */
  | 'throttled'
  /** Retry: a 5xx, a timeout, a dropped connection, no answer at all. */
  | 'transient'
  /** Retry once credentials are rotated; the record's AWS window bounds the retries. */
  | 'credentials'
  /** The request as a whole is wrong for this account, product or region: splitting cannot help. */
  | 'configuration'
  /** `TimestampOutOfBoundsException`: a record is outside its window (the whole batch is refused). */
  | 'timestamp'
  /** MeterUsage `DuplicateRequestException`: AWS already holds a record for this hour. */
  | 'duplicate'
  /** MeterUsage `CustomerNotEntitledException`. */
  | 'not_entitled'
  /** MeterUsage `DryRunOperation`: the dry run would have succeeded. */
  | 'dry_run_permitted'
  /** Any other 4xx: something in the request (a record) is refused. */
  | 'rejected';

/** The facts of an AWS SDK v3 error that decisions are made on. */
export interface AwsErrorFacts {
  /** The AWS error code, e.g. `ThrottlingException`; `NetworkError` when no answer came back. */
  readonly code: string;
  readonly kind: AwsErrorKind;
  readonly httpStatus?: number | undefined;
  readonly requestId?: string | undefined;
  readonly message: string;
}

/** Credential problems: fixed by rotating credentials, not by changing the request. */
const CREDENTIALS = new Set([
  'ExpiredTokenException',
  'UnrecognizedClientException',
  'InvalidSignatureException',
  'SignatureDoesNotMatch',
  'InvalidClientTokenId',
  'MissingAuthenticationToken',
  'AccessDeniedException',
  'CredentialsProviderError',
  'TokenProviderError',
]);

/** Request-level configuration errors of the Marketplace Metering API: every record fails the same way. */
const CONFIGURATION = new Set([
  'DisabledApiException',
  'InvalidProductCodeException',
  'InvalidEndpointRegionException',
  'InvalidRegionException',
  'PlatformNotSupportedException',
  'InvalidPublicKeyVersionException',
  'IdempotencyConflictException',
  'InvalidTokenException',
]);

/** Codes with a meaning of their own (facts §1.6, §1.7). */
const SPECIFIC: Record<string, AwsErrorKind> = {
  TimestampOutOfBoundsException: 'timestamp',
  DuplicateRequestException: 'duplicate',
  CustomerNotEntitledException: 'not_entitled',
  DryRunOperation: 'dry_run_permitted',
};

/**
 * Our own timeouts and aborts, and Node network errors the SDK may leave undecorated: the call
 * may not have reached AWS, and a resend is safe (AWS dedupes identical records, facts §1.6).
 */
const NO_ANSWER = new Set([
  'AbortError',
  'TimeoutError',
  'RequestTimeout',
  'RequestTimeoutException',
  'ECONNABORTED',
  'EHOSTUNREACH',
  'ENETUNREACH',
]);

interface SdkShape {
  name: string;
  message: string;
  code?: string;
  $fault?: 'client' | 'server';
  $metadata: { httpStatusCode?: number; requestId?: string };
  $retryable?: { throttling?: boolean };
  cause?: Error;
}

function shapeOf(error: unknown): SdkShape {
  const e = (typeof error === 'object' && error !== null ? error : {}) as Record<string, unknown>;
  const meta = (typeof e.$metadata === 'object' && e.$metadata !== null ? e.$metadata : {}) as Record<string, unknown>;
  const str = (v: unknown) => (typeof v === 'string' ? v : undefined);
  return {
    name: str(e.name) ?? (error instanceof Error ? error.name : 'UnknownError'),
    message: str(e.message) ?? String(error),
    code: str(e.code),
    $fault: e.$fault === 'client' || e.$fault === 'server' ? e.$fault : undefined,
    $metadata: {
      httpStatusCode: typeof meta.httpStatusCode === 'number' ? meta.httpStatusCode : undefined,
      requestId: str(meta.requestId),
    },
    $retryable: typeof e.$retryable === 'object' && e.$retryable !== null ? (e.$retryable as { throttling?: boolean }) : undefined,
    cause: e.cause instanceof Error ? e.cause : undefined,
  };
}

function kindOf(e: SdkShape): AwsErrorKind {
  if (isThrottlingError(e)) return 'throttled';
  const specific = SPECIFIC[e.name];
  if (specific) return specific;
  if (CREDENTIALS.has(e.name)) return 'credentials';
  if (CONFIGURATION.has(e.name)) return 'configuration';
  if (NO_ANSWER.has(e.name) || (e.code !== undefined && NO_ANSWER.has(e.code))) return 'transient';
  if (isTransientError(e) || isServerError(e) || e.$fault === 'server') return 'transient';
  const status = e.$metadata.httpStatusCode;
  if (status !== undefined && status >= 500) return 'transient';
  if (e.$fault === 'client' || (status !== undefined && status >= 400) || e.name.startsWith('Invalid')) return 'rejected';
  // No HTTP answer at all (socket, DNS): resending is safe.
  return 'transient';
}

/** Reads the code, kind and status from anything the SDK (or the network under it) throws. */
export function awsErrorFacts(error: unknown): AwsErrorFacts {
  const e = shapeOf(error);
  const kind = kindOf(e);
  const answered = e.$metadata.httpStatusCode !== undefined || e.$fault !== undefined;
  const code = answered || e.name !== 'Error' ? e.name : (e.code ?? 'NetworkError');
  return { code, kind, httpStatus: e.$metadata.httpStatusCode, requestId: e.$metadata.requestId, message: e.message };
}

/** Throttled, a 5xx, or no answer at all: the same call may succeed later. */
export function isRetryableAwsError(facts: Pick<AwsErrorFacts, 'kind'>): boolean {
  return facts.kind === 'throttled' || facts.kind === 'transient';
}

/**
 * An AWS call failed. Carries the AWS code so callers can decide per code, and maps to 503
 * (retry later) or 502 (our configuration or AWS refused) when it reaches a route.
 */
export class AwsCallError extends AppError {
  constructor(
    readonly operation: string,
    readonly aws: AwsErrorFacts,
  ) {
    const retryable = isRetryableAwsError(aws);
    super(`${operation} failed: ${aws.code}${aws.requestId ? ` (request ${aws.requestId})` : ''}: ${aws.message}`, {
      code: retryable ? 'marketplace_unavailable' : 'marketplace_error',
      httpStatus: retryable ? 503 : 502,
      retryable,
      details: { operation, awsCode: aws.code, requestId: aws.requestId },
    });
    this.name = 'AwsCallError';
  }
}

export function toAwsCallError(operation: string, error: unknown): AwsCallError {
  return new AwsCallError(operation, awsErrorFacts(error));
}
