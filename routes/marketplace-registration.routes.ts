import { Router, type Request, type Response } from 'express';
import type { Logger } from 'pino';
import { z } from 'zod';
import type { CustomerRepository } from '../src/customers/customer.repository';
import type { RegistrationService } from '../src/customers/registration.service';
import type { Clock } from '../src/platform/clock';
import { isAppError } from '../src/platform/errors';
import type { SessionCodec, SessionPayload } from '../src/platform/signed-session';
import { hasContract, type ProductCatalog } from '../src/products/product-config';
import { readCookie, sessionCookie } from './support/cookies';
import { translateError } from './support/problem-json';
import type { SellerInfo } from './views/layout';
import { renderMessagePage } from './views/message-page';
import { renderOnboardingPage, type SignupForm } from './views/onboarding-page';

export const ONBOARDING_PATH = '/marketplace/onboarding';
const SESSION_COOKIE = 'mb_session';

export interface MarketplaceRoutesDeps {
  readonly registrationPath: string;
  readonly registration: RegistrationService;
  readonly customers: CustomerRepository;
  readonly catalog: ProductCatalog;
  readonly sessions: SessionCodec;
  readonly sessionTtlSeconds: number;
  readonly secureCookies: boolean;
  readonly seller: SellerInfo;
  readonly clock: Clock;
  readonly logger: Logger;
}

const signupSchema = z.object({
  email: z.string().trim().min(1, 'Enter your work email.').max(200, 'Use at most 200 characters.').pipe(z.email('Enter an email address like name@company.com.')),
  company: z.string().trim().min(1, 'Enter your company name.').max(200, 'Use at most 200 characters.'),
  contactName: z.string().trim().min(1, 'Enter your name.').max(200, 'Use at most 200 characters.'),
});

/**
 * The buyer-facing pages: the registration URL AWS Marketplace posts the buyer's browser to,
 * and the onboarding page it lands on (facts §1.5, seed 6939 and 7114).
 */
export function marketplaceRoutes(deps: MarketplaceRoutesDeps): Router {
  const router = Router();
  const { seller } = deps;

  router.post(deps.registrationPath, async (req, res) => {
    const body = (req.body ?? {}) as Record<string, unknown>;
    const token = body['x-amzn-marketplace-token'];
    if (typeof token !== 'string' || token.trim() === '') {
      sendPage(res, 400, 'We could not find your subscription', [
        'This page is opened by AWS Marketplace after you subscribe, and the request did not carry a registration token.',
        'Go back to AWS Marketplace, open your subscription and choose "Set up your account" again.',
      ]);
      return;
    }
    try {
      const result = await deps.registration.register(token.trim(), { freeTrialOffer: body['x-amzn-marketplace-offer-type'] === 'free-trial' });
      res.setHeader('Set-Cookie', sessionCookie(SESSION_COOKIE, deps.sessions.issue(result.customer.id), { maxAgeSeconds: deps.sessionTtlSeconds, secure: deps.secureCookies, path: '/marketplace' }));
      res.redirect(303, ONBOARDING_PATH);
    } catch (error) {
      sendRegistrationError(res, error);
    }
  });

  router.get(ONBOARDING_PATH, async (req, res) => {
    const session = openSession(req);
    if (!session) return sendSessionExpired(res);
    const customer = await deps.customers.findById(session.sub);
    if (!customer) return sendSessionExpired(res);
    await renderOnboarding(res, 200, session, customer.id, { saved: req.query.saved === '1' });
  });

  router.post(ONBOARDING_PATH, async (req, res) => {
    const session = openSession(req);
    if (!session) return sendSessionExpired(res);
    const body = (req.body ?? {}) as Record<string, unknown>;
    if (!deps.sessions.verifyCsrf(session, body.csrf)) {
      sendPage(res, 403, 'Please try again', ['This form expired or was not sent from this page. Reload the page and submit it again.']);
      return;
    }
    const parsed = signupSchema.safeParse({ email: body.email, company: body.company, contactName: body.contactName });
    if (!parsed.success) {
      const errors: Partial<Record<keyof SignupForm, string>> = {};
      for (const issue of parsed.error.issues) {
        const key = issue.path[0] as keyof SignupForm;
        errors[key] ??= issue.message;
      }
      const values = { email: asText(body.email), company: asText(body.company), contactName: asText(body.contactName) };
      await renderOnboarding(res, 422, session, session.sub, { values, errors });
      return;
    }
    const saved = await deps.customers.saveOnboarding(session.sub, parsed.data, deps.clock.now());
    if (!saved) return sendSessionExpired(res);
    deps.logger.info({ customerId: saved.id }, 'buyer completed the sign-up form');
    res.redirect(303, `${ONBOARDING_PATH}?saved=1`);
  });

  function openSession(req: Request): SessionPayload | undefined {
    return deps.sessions.open(readCookie(req.headers.cookie, SESSION_COOKIE));
  }

  async function renderOnboarding(
    res: Response,
    status: number,
    session: SessionPayload,
    customerId: string,
    extra: { saved?: boolean; values?: Partial<SignupForm>; errors?: Partial<Record<keyof SignupForm, string>> },
  ): Promise<void> {
    const customer = await deps.customers.findById(customerId);
    if (!customer) return sendSessionExpired(res);
    const product = deps.catalog.find(customer.productCode);
    const entitlements = await deps.customers.listEntitlements(customer.id);
    const values = extra.values ?? {
      email: customer.onboarding.email ?? '',
      company: customer.onboarding.company ?? '',
      contactName: customer.onboarding.contactName ?? '',
    };
    res.status(status).type('html').setHeader('Cache-Control', 'no-store');
    res.send(
      renderOnboardingPage({
        seller,
        customer,
        product,
        entitlements,
        contract: product ? hasContract(product.pricingModel) : false,
        formAction: ONBOARDING_PATH,
        csrfToken: deps.sessions.csrfToken(session),
        values,
        errors: extra.errors ?? {},
        saved: extra.saved ?? false,
      }),
    );
  }

  function sendSessionExpired(res: Response): void {
    sendPage(res, 401, 'Your session has expired', [
      'For your security, this page is only available for a short time after you arrive from AWS Marketplace.',
      'Go back to AWS Marketplace, open your subscription and choose "Set up your account" again.',
      ...(seller.loginUrl ? [`If you already have an account, sign in at ${seller.loginUrl}.`] : []),
    ]);
  }

  function sendRegistrationError(res: Response, raw: unknown): void {
    const error = translateError(raw);
    const code = isAppError(error) ? error.code : 'internal';
    if (code === 'invalid_registration_token' || code === 'expired_registration_token') {
      sendPage(res, 400, 'This sign-up link is no longer valid', [
        'The link from AWS Marketplace has expired or was already used in another way.',
        'Go back to AWS Marketplace and choose "Set up your account" again.',
      ]);
      return;
    }
    if (code === 'unknown_product') {
      sendPage(res, 403, 'This subscription is not for this product', [
        `This sign-up page belongs to ${seller.name}, and your subscription is for another product.`,
        'Go back to AWS Marketplace and follow the "Set up your account" link of that product.',
      ]);
      return;
    }
    if (code === 'store_unavailable') {
      deps.logger.error({ err: raw }, 'registration could not be stored');
      res.setHeader('Retry-After', '30');
      sendPage(res, 503, 'We could not set up your account just now', [
        'Our service could not save your subscription for a moment. Your AWS Marketplace subscription is not affected.',
        'Wait a minute, then go back to AWS Marketplace and choose "Set up your account" again.',
      ]);
      return;
    }
    if (isAppError(error) && error.retryable) {
      res.setHeader('Retry-After', '30');
      sendPage(res, 503, 'AWS Marketplace is busy', [
        'We could not confirm your subscription with AWS Marketplace just now. Nothing is lost.',
        'Wait a minute, then go back to AWS Marketplace and choose "Set up your account" again.',
      ]);
      return;
    }
    deps.logger.error({ err: error }, 'registration failed');
    sendPage(res, isAppError(error) ? error.httpStatus : 500, 'We could not set up your account', [
      'Something went wrong on our side while confirming your subscription.',
      `Please try again in a few minutes, or contact ${seller.name} support at ${seller.supportEmail}.`,
    ]);
  }

  function sendPage(res: Response, status: number, title: string, paragraphs: string[]): void {
    res.status(status).type('html').setHeader('Cache-Control', 'no-store');
    res.send(renderMessagePage(seller, title, paragraphs));
  }

  return router;
}

function asText(value: unknown): string {
  return typeof value === 'string' ? value.slice(0, 200) : '';
}

