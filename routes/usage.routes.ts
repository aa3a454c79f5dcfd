import { Router } from 'express';
import type { UsageLedger } from '../src/metering/ledger';

/**
 * `POST /v1/usage`: a batch of 1–1,000 usage records. Answers 200 with one result per record, in
 * request order: `accepted` (durably recorded — or recorded earlier under the same idempotency
 * key, `replayed: true`) or `rejected` with a stable code and message. A record is either fully
 * recorded or not at all. If any record reuses an idempotency key with a different body, the
 * whole request is refused with 409 and nothing is recorded.
 */
export function usageRoutes(deps: { ledger: UsageLedger }): Router {
  const router = Router();
  router.post('/v1/usage', async (req, res) => {
    const { records } = req.body as { records: unknown[] };
    const results = await deps.ledger.record(records);
    const accepted = results.filter((r) => r.status === 'accepted').length;
    res.status(200).json({ accepted, rejected: results.length - accepted, results });
  });
  return router;
}
