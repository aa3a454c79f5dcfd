import { createHash } from 'node:crypto';
import { AwsError } from '../aws-error';

type Obj = Record<string, unknown>;

/**
 * Errors of the Agreement API as the SDK models them (statuses from its schema: ValidationException
 * 400, AccessDeniedException 403, ResourceNotFoundException 404, ConflictException 409,
 * ThrottlingException 429, InternalServerException 500). Every error body carries `message` and
 * `requestId` (added when answered); ValidationException carries `reason` (a ValidationExceptionReason)
 * and `fields`.
 */
export const agreementErrors = {
  validation(reason: string, message: string, field?: string): AwsError {
    return new AwsError('ValidationException', message, 400, undefined, {
      reason,
      ...(field ? { fields: [{ name: field, message }] } : {}),
    });
  },
  notFound(resourceId: string, resourceType: string): AwsError {
    return new AwsError('ResourceNotFoundException', `${resourceType} ${resourceId} was not found.`, 404, undefined, {
      resourceId,
      resourceType,
    });
  },
  accessDenied(message: string): AwsError {
    return new AwsError('AccessDeniedException', message, 403, undefined, { reason: 'INVALID_ACCESS' });
  },
  conflict(message: string, resourceId: string, resourceType: string): AwsError {
    return new AwsError('ConflictException', message, 409, undefined, { resourceId, resourceType });
  },
  throttling(): AwsError {
    return new AwsError('ThrottlingException', 'Rate exceeded', 429);
  },
  internal(): AwsError {
    return new AwsError('InternalServerException', 'An internal error has occurred. Retry your request.', 500);
  },
};

export interface StringRule {
  required?: boolean;
  min?: number;
  max?: number;
  pattern?: RegExp;
  /** Reason when the member is missing (e.g. `MISSING_AGREEMENT_ID`); default `OTHER`. */
  missing?: string;
  /** Reason when it is present but wrong (e.g. `INVALID_AGREEMENT_ID`); default `OTHER`. */
  invalid?: string;
  /** Allowed values (an enum). */
  oneOf?: readonly string[];
}

/** Reads one string member with the service model's constraints (the SDK checks none of them, §0.1). */
export function readString(body: Obj, key: string, rule: StringRule): string | undefined {
  const v = body[key];
  if (v === undefined || v === null) {
    if (rule.required) throw agreementErrors.validation(rule.missing ?? 'OTHER', `${key} is required.`, key);
    return undefined;
  }
  const bad = (why: string) => agreementErrors.validation(rule.invalid ?? 'OTHER', `${key} ${why}.`, key);
  if (typeof v !== 'string') throw bad(`must be a string, not ${Array.isArray(v) ? 'a list' : typeof v}`);
  if (rule.min !== undefined && v.length < rule.min) throw bad(`must have at least ${rule.min} characters`);
  if (rule.max !== undefined && v.length > rule.max) throw bad(`must have at most ${rule.max} characters`);
  if (rule.pattern && !rule.pattern.test(v)) throw bad(`must match ${rule.pattern.source}`);
  if (rule.oneOf && !rule.oneOf.includes(v)) throw bad(`must be one of ${rule.oneOf.join(', ')}`);
  return v;
}

/** `maxResults` 1–50 (the model's MaxResults). */
export function readMaxResults(body: Obj, fallback: number): number {
  const v = body.maxResults;
  if (v === undefined || v === null) return fallback;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > 50)
    throw agreementErrors.validation('INVALID_MAX_RESULTS', 'maxResults must be a whole number from 1 to 50.', 'maxResults');
  return v;
}

/** Epoch seconds (AWS JSON timestamps) → epoch ms. */
export function readTimestamp(body: Obj, key: string): number | undefined {
  const v = body[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v))
    throw agreementErrors.validation('OTHER', `${key} must be a timestamp (epoch seconds).`, key);
  return Math.round(v * 1000);
}

/** The model's ResourceId / AgreementId: 1–64 of `[A-Za-z0-9_/-]`. */
export const AGREEMENT_ID: StringRule = {
  required: true,
  min: 1,
  max: 64,
  pattern: /^[A-Za-z0-9_/-]+$/,
  missing: 'MISSING_AGREEMENT_ID',
  invalid: 'INVALID_AGREEMENT_ID',
};

/** The model's ClientToken: 1–64 of `[a-zA-Z0-9-]`. */
export const CLIENT_TOKEN: StringRule = { min: 1, max: 64, pattern: /^[a-zA-Z0-9-]+$/, invalid: 'INVALID_CLIENT_TOKEN' };

const NEXT_TOKEN = /^[a-zA-Z0-9+/=_-]+$/;

/**
 * One page of `rows`. The `nextToken` is opaque and bound to the query (`query` is any JSON-able
 * description of it): a token from another query, or a forged one, is INVALID_NEXT_TOKEN.
 */
export function paginate<T>(rows: T[], body: Obj, query: unknown, fallbackMax: number): { page: T[]; nextToken?: string } {
  const max = readMaxResults(body, fallbackMax);
  const token = readString(body, 'nextToken', { max: 8192, invalid: 'INVALID_NEXT_TOKEN' });
  const fingerprint = createHash('sha256').update(JSON.stringify(query)).digest('hex').slice(0, 16);
  let start = 0;
  if (token !== undefined) {
    const decoded = NEXT_TOKEN.test(token) ? decode(token) : undefined;
    if (!decoded || decoded.f !== fingerprint || decoded.o > rows.length)
      throw agreementErrors.validation('INVALID_NEXT_TOKEN', 'The nextToken is invalid for this request.', 'nextToken');
    start = decoded.o;
  }
  const page = rows.slice(start, start + max);
  if (start + max >= rows.length) return { page };
  return { page, nextToken: Buffer.from(JSON.stringify({ o: start + max, f: fingerprint })).toString('base64url') };
}

function decode(token: string): { o: number; f: string } | undefined {
  try {
    const v = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as { o?: unknown; f?: unknown };
    if (typeof v.o === 'number' && Number.isInteger(v.o) && v.o >= 0 && typeof v.f === 'string') return { o: v.o, f: v.f };
  } catch {
    /* not one of ours */
  }
  return undefined;
}

/** AWS JSON 1.0 timestamps: epoch seconds. */
export const seconds = (ms: number): number => ms / 1000;

/** Who calls the Agreement API: the seller (proposer), or a buyer account (acceptor). */
export type Caller = { party: 'Proposer' } | { party: 'Acceptor'; accountId: string };
