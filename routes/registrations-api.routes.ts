import { Router } from 'express';
import type { RegistrationService } from '../src/customers/registration.service';
import { customerJson } from '../src/customers/customer-view';

/**
 * `POST /v1/registrations`: the registration URL's work for sellers with their own landing page.
 * Their page receives the browser POST, then hands us the token at once (it expires quickly).
 */
export function registrationsApiRoutes(deps: { registration: RegistrationService }): Router {
  const router = Router();
  router.post('/v1/registrations', async (req, res) => {
    const { token, offerType } = req.body as { token: string; offerType?: string };
    const result = await deps.registration.register(token, { freeTrialOffer: offerType === 'free-trial' });
    res.status(200).json({ customer: customerJson(result.customer, result.entitlements), entitlementsStatus: result.entitlementsStatus });
  });
  return router;
}
