import { Router } from 'express';
import { decodeChangeCursor, encodeChangeCursor, type CustomerChangeFeed } from '../src/customers/customer-changes.repository';
import { ValidationError } from '../src/platform/errors';
import { parseLimit } from './support/limits';

/**
 * `GET /v1/changes?after=&limit=`: the change feed, oldest first. Keep `nextCursor` and pass it as
 * `after` next time; keep the highest `version` per customer; a `deleted` row (tombstone) means the
 * buyer's personal data was erased: drop what earlier versions held.
 */
export function changesRoutes(deps: { feed: CustomerChangeFeed }): Router {
  const router = Router();
  router.get('/v1/changes', async (req, res) => {
    const q = req.query as Record<string, string | undefined>;
    const limit = parseLimit(q.limit, 100, 500);
    const after = q.after === undefined ? null : decodeChangeCursor(q.after);
    if (after === undefined) {
      throw new ValidationError('after is not a cursor this API returned', {
        errors: [{ path: '/query/after', message: 'not a cursor from this API' }],
      });
    }
    const page = await deps.feed.read(after, limit);
    const last = page.changes[page.changes.length - 1];
    res.json({
      changes: page.changes.map((c) => ({
        cursor: encodeChangeCursor(c.cursor),
        customerId: c.customerId,
        change: c.change,
        deleted: c.deleted,
        version: c.version,
        changedAt: c.changedAt.toISOString(),
        customer: c.customer,
      })),
      // Where to continue: after the last row returned, or where the caller already was.
      nextCursor: last ? encodeChangeCursor(last.cursor) : (q.after ?? null),
      hasMore: page.hasMore,
    });
  });
  return router;
}
