import { Router } from 'express';
import type { Logger } from '../src/platform/logger';
import type { MeterBucket } from '../src/metering/bucket';
import type { BucketRepository } from '../src/metering/bucket.repository';
import type { Clock } from '../src/platform/clock';
import { AppError, NotFoundError, ValidationError } from '../src/platform/errors';

/**
 * `GET /v1/metering/records`: hour buckets and their state, oldest first, with an opaque cursor.
 * `POST /v1/metering/records/{id}/retry`: requeue a `failed` or `not_subscribed` record.
 */
export function meteringRecordsRoutes(deps: { buckets: BucketRepository; clock: Clock; logger: Logger }): Router {
  const router = Router();
  router.get('/v1/metering/records', async (req, res) => {
    const q = req.query as Record<string, string | undefined>;
    const limit = parseLimit(q.limit);
    const records = await deps.buckets.list({
      state: q.state as MeterBucket['state'] | undefined,
      customerId: q.customer,
      from: q.from ? new Date(q.from) : undefined,
      to: q.to ? new Date(q.to) : undefined,
      limit: limit + 1,
      after: q.cursor ? decodeCursor(q.cursor) : undefined,
    });
    const page = records.slice(0, limit);
    const last = page[page.length - 1];
    res.json({ records: page.map(recordJson), nextCursor: records.length > limit && last ? encodeCursor(last) : null });
  });
  router.post('/v1/metering/records/:id/retry', async (req, res) => {
    const id = String(req.params.id);
    const bucket = await deps.buckets.findById(id);
    if (!bucket) throw new NotFoundError(`No metering record ${id}.`);
    const now = deps.clock.now();
    if (!(await deps.buckets.requeue(id, now))) {
      throw new AppError(`Metering record ${id} is ${bucket.state}; only failed and not_subscribed records can be retried.`, {
        code: 'not_retryable',
        httpStatus: 409,
        details: { state: bucket.state },
      });
    }
    deps.logger.info(
      {
        event: 'metering.state',
        bucketId: id,
        customerId: bucket.customerId,
        dimension: bucket.dimension,
        hour: bucket.hour.toISOString(),
        attempt: bucket.attempts,
        from: bucket.state,
        to: 'sealed',
        reason: 'operator retry',
      },
      'metering record requeued',
    );
    res.json(recordJson((await deps.buckets.findById(id))!));
  });
  return router;
}

function encodeCursor(b: MeterBucket): string {
  return Buffer.from(JSON.stringify([b.hour.toISOString(), b.id])).toString('base64url');
}

/**
 * `limit`, strictly: digits only, 1 to 500. The request validator coerces `1e400` and `Infinity`
 * to a number (Infinity), which would reach the query; refuse them here.
 */
function parseLimit(raw: unknown): number {
  if (raw === undefined) return 100;
  const text = String(raw);
  const n = /^\d{1,3}$/.test(text) ? Number(text) : NaN;
  if (!Number.isInteger(n) || n < 1 || n > 500) throw new ValidationError('limit must be an integer from 1 to 500');
  return n;
}

function decodeCursor(cursor: string): [string, string] {
  try {
    const v = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
    if (Array.isArray(v) && v.length === 2 && typeof v[0] === 'string' && typeof v[1] === 'string' && !Number.isNaN(Date.parse(v[0])))
      return [v[0], v[1]];
  } catch {
    // fall through
  }
  throw new ValidationError('cursor is not one this API returned');
}

/** The public JSON of a bucket (openapi.yaml `MeteringRecord`). */
export function recordJson(b: MeterBucket): Record<string, unknown> {
  const identity = b.identity
    ? b.identity.kind === 'license'
      ? { kind: 'license', customerAWSAccountId: b.identity.customerAWSAccountId, licenseArn: b.identity.licenseArn }
      : { kind: 'customer-identifier', customerIdentifier: b.identity.customerIdentifier }
    : null;
  return {
    id: b.id,
    customerId: b.customerId,
    productCode: b.productCode,
    dimension: b.dimension,
    hour: b.hour.toISOString(),
    api: b.api,
    state: b.state,
    quantity: b.quantity,
    ...(b.allocations ? { allocations: b.allocations } : {}),
    heartbeat: b.heartbeat,
    usageCount: b.usageCount,
    identity,
    attempts: b.attempts,
    meteringRecordId: b.meteringRecordId,
    lastError: b.lastError,
    holdReason: b.holdReason,
    awsRequestId: b.awsRequestId,
    nextAttemptAt: b.nextAttemptAt?.toISOString() ?? null,
    sealedAt: b.sealedAt?.toISOString() ?? null,
    completedAt: b.completedAt?.toISOString() ?? null,
    updatedAt: b.updatedAt.toISOString(),
  };
}
