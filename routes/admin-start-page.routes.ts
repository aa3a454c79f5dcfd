import { Router } from 'express';
import type { SellerInfo } from './views/layout';
import { renderStartPage, type StartPageInfo } from './views/admin-start-page';

/** `GET /` (the start page) and `GET /openapi.yaml` (the API specification, as this instance serves it). */
export function startPageRoutes(deps: { seller: SellerInfo; info: StartPageInfo; spec: () => string }): Router {
  const router = Router();
  router.get('/', (_req, res) => {
    res.type('html').send(renderStartPage(deps.seller, deps.info));
  });
  router.get('/openapi.yaml', (_req, res) => {
    res.type('application/yaml').send(deps.spec());
  });
  return router;
}
