import { Router } from 'express';

export interface ReadinessCheck {
  readonly name: string;
  /** True when ready; false, or a reason in words, when not. */
  check(): Promise<boolean | string>;
}

/** `/healthz`: the process answers. `/readyz`: every dependency check passes (store reachable, migrated, …). */
export function opsRoutes(deps: { readiness: readonly ReadinessCheck[] }): Router {
  const router = Router();
  router.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  router.get('/readyz', async (_req, res) => {
    const checks: Record<string, 'ok' | 'failing'> = {};
    const reasons: Record<string, string> = {};
    for (const c of deps.readiness) {
      let result: boolean | string;
      try {
        result = await c.check();
      } catch {
        result = false;
      }
      checks[c.name] = result === true ? 'ok' : 'failing';
      if (typeof result === 'string') reasons[c.name] = result;
    }
    const ready = Object.values(checks).every((v) => v === 'ok');
    res
      .status(ready ? 200 : 503)
      .json({ status: ready ? 'ready' : 'not_ready', checks, ...(Object.keys(reasons).length ? { reasons } : {}) });
  });
  return router;
}
