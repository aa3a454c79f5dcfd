import { Router } from 'express';
import type { CustomerRepository } from '../src/customers/customer.repository';
import { customerJson } from '../src/customers/customer-view';
import type { HandoffService } from '../src/handoff/handoff.service';
import type { Clock } from '../src/platform/clock';
import { NotFoundError } from '../src/platform/errors';

/** `GET /.well-known/jwks.json`: the public keys that verify sign-in hand-off tokens (no key needed). */
export function jwksRoutes(deps: { handoff: HandoffService }): Router {
  const router = Router();
  router.get('/.well-known/jwks.json', async (_req, res) => {
    // Apps cache it; a rotation keeps the retiring key listed for longer than a token lives.
    res.setHeader('Cache-Control', 'public, max-age=300');
    res.json(await deps.handoff.jwks());
  });
  return router;
}

/**
 * `POST /v1/handoffs/redeem {token}`: verifies a hand-off token and spends it (single use), then
 * answers the customer it names, read now.
 */
export function handoffApiRoutes(deps: { handoff: HandoffService; customers: CustomerRepository; clock: Clock }): Router {
  const router = Router();
  router.post('/v1/handoffs/redeem', async (req, res) => {
    const { token } = req.body as { token: string };
    const { customerId, claims } = await deps.handoff.redeem(token);
    const customer = await deps.customers.findById(customerId);
    if (!customer) throw new NotFoundError(`No customer ${customerId}.`);
    res.json({
      jti: claims.jti,
      redeemedAt: deps.clock.now().toISOString(),
      customer: customerJson(customer, await deps.customers.listEntitlements(customer.id)),
    });
  });
  return router;
}
