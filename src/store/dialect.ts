import { AppError } from '../platform/errors';

/**
 * Every difference between SQLite and PostgreSQL that the repositories need, in one place.
 */
export type DialectName = 'sqlite' | 'postgres';

/** The value to bind for a time column (both engines accept ISO-8601 UTC text). */
export function toDbTime(date: Date): string {
  return date.toISOString();
}

export function toDbTimeOrNull(date: Date | null | undefined): string | null {
  return date ? date.toISOString() : null;
}

/** PostgreSQL returns `Date` objects, SQLite returns the stored text. */
export function fromDbTime(value: string | Date): Date {
  return value instanceof Date ? value : new Date(value);
}

export function fromDbTimeOrNull(value: string | Date | null | undefined): Date | null {
  return value === null || value === undefined ? null : fromDbTime(value);
}

/** True when the error is a unique-constraint violation on either engine. */
export function isUniqueViolation(error: unknown): boolean {
  const e = error as { code?: unknown; message?: unknown } | null;
  if (!e) return false;
  return e.code === '23505' || e.code === 'SQLITE_CONSTRAINT_UNIQUE' || e.code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}

/** True when the error means the database itself is unreachable or failing (retry later). */
export function isTransientDbError(error: unknown): boolean {
  const e = error as { code?: unknown; message?: unknown } | null;
  const code = typeof e?.code === 'string' ? e.code : '';
  const message = typeof e?.message === 'string' ? e.message : '';
  return (
    [
      'ECONNREFUSED',
      'ECONNRESET',
      'ETIMEDOUT',
      'EPIPE',
      'SQLITE_BUSY',
      'SQLITE_LOCKED',
      '57P01',
      '57P03',
      '53300',
      '40001',
      '40P01',
    ].includes(code) ||
    code.startsWith('08') ||
    // node-postgres reports a dropped connection and a pool connect timeout without a code, and a
    // statement (or the rollback Kysely raises in place of the first error) on a client whose
    // connection was lost inside a transaction as "… is not queryable".
    /^Connection terminated|timeout exceeded when trying to connect|^Client (has encountered a connection error|was closed) and is not queryable/.test(
      message,
    )
  );
}

/**
 * The one answer to "may this write simply be done again?": a typed error that says so (a lost
 * race, see `ConcurrentWriteError`), a unique key another writer took first, or the database
 * failing for now (a dropped connection, a serialization failure, a busy SQLite file).
 */
export function isRetryableWrite(error: unknown): boolean {
  if (error instanceof AppError) return error.retryable;
  return isUniqueViolation(error) || isTransientDbError(error);
}

/** Column type for times. */
export function timeColumnType(dialect: DialectName): 'text' | 'timestamptz' {
  return dialect === 'postgres' ? 'timestamptz' : 'text';
}
