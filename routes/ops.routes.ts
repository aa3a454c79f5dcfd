import { Router } from 'express';

export interface ReadinessCheck {
  readonly name: string;
  check(): Promise<boolean>;
}

/** `/healthz`: the process answers. `/readyz`: every dependency check passes (store reachable, migrated, …). */
export function opsRoutes(deps: { readiness: readonly ReadinessCheck[] }): Router {
  const router = Router();
  router.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  router.get('/readyz', async (_req, res) => {
    const checks: Record<string, 'ok' | 'failing'> = {};
    for (const c of deps.readiness) {
      let ok = false;
      try {
        ok = await c.check();
      } catch {
        ok = false;
      }
      checks[c.name] = ok ? 'ok' : 'failing';
    }
    const ready = Object.values(checks).every((v) => v === 'ok');
    res.status(ready ? 200 : 503).json({ status: ready ? 'ready' : 'not_ready', checks });
  });
  return router;
}
