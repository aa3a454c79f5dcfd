import { Router, type Request, type Response } from 'express';
import type { Logger } from '../src/platform/logger';
import { z } from 'zod';
import type { Customer } from '../src/customers/customer';
import type { CustomerRepository } from '../src/customers/customer.repository';
import type { RegistrationService } from '../src/customers/registration.service';
import type { HandoffService } from '../src/handoff/handoff.service';
import type { Clock } from '../src/platform/clock';
import { isAppError } from '../src/platform/errors';
import type { SessionCodec, SessionPayload } from '../src/platform/signed-session';
import { hasContract, type ProductCatalog } from '../src/products/product-config';
import { clearCookie, readCookie, sessionCookie } from './support/cookies';
import { translateError } from './support/problem-json';
import type { SellerInfo } from './views/layout';
import { renderMessagePage } from './views/message-page';
import { lockedReason, renderOnboardingPage, statusWords, type SignupForm } from './views/onboarding-page';

export const ONBOARDING_PATH = '/marketplace/onboarding';
export const ONBOARDING_STATUS_PATH = '/marketplace/onboarding/status';
export const CONTINUE_PATH = '/marketplace/continue';
const SESSION_COOKIE = 'mb_session';
/** A failed submission's values and errors, across the redirect (POST-redirect-GET). */
const FLASH_COOKIE = 'mb_flash';

export interface MarketplaceRoutesDeps {
  readonly registrationPath: string;
  readonly registration: RegistrationService;
  readonly customers: CustomerRepository;
  readonly catalog: ProductCatalog;
  readonly sessions: SessionCodec;
  readonly sessionTtlSeconds: number;
  readonly secureCookies: boolean;
  readonly seller: SellerInfo;
  /** False: no sign-up form; the buyer goes straight to LOGIN_URL with a hand-off token. Default true. */
  readonly formEnabled?: boolean;
  /** The sign-in hand-off (LOGIN_URL with a signed token); off without LOGIN_URL. */
  readonly handoff: HandoffService;
  readonly clock: Clock;
  readonly logger: Logger;
}

const signupSchema = z.object({
  email: z
    .string()
    .trim()
    .min(1, 'Enter your work email.')
    .max(200, 'Use at most 200 characters.')
    .pipe(z.email('Enter an email address like name@company.com.')),
  company: z.string().trim().min(1, 'Enter your company name.').max(200, 'Use at most 200 characters.'),
  contactName: z.string().trim().min(1, 'Enter your name.').max(200, 'Use at most 200 characters.'),
});

interface Flash {
  values: Partial<SignupForm>;
  errors: Partial<Record<keyof SignupForm, string>>;
}

/**
 * The buyer-facing pages: the registration URL AWS Marketplace posts the buyer's browser to,
 * the onboarding page it lands on (facts §1.5, seed 6939 and 7114), and the hand-off to the
 * seller's sign-in (LOGIN_URL with a signed, short-lived token).
 */
export function marketplaceRoutes(deps: MarketplaceRoutesDeps): Router {
  const router = Router();
  const { seller } = deps;
  const formEnabled = deps.formEnabled ?? true;
  const cookieOptions = { maxAgeSeconds: deps.sessionTtlSeconds, secure: deps.secureCookies, path: '/marketplace' };

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
      const result = await deps.registration.register(token.trim(), {
        freeTrialOffer: body['x-amzn-marketplace-offer-type'] === 'free-trial',
      });
      res.setHeader('Set-Cookie', sessionCookie(SESSION_COOKIE, deps.sessions.issue(result.customer.id), cookieOptions));
      // No form: straight to the seller's sign-in, with the token (the session still shows the status page later).
      if (!formEnabled && deps.handoff.enabled && !lockedReason(result.customer, '', seller)) {
        res.redirect(303, (await deps.handoff.issue(result.customer)).url);
        return;
      }
      res.redirect(303, ONBOARDING_PATH);
    } catch (error) {
      sendRegistrationError(res, error);
    }
  });

  router.get(ONBOARDING_PATH, async (req, res) => {
    const session = openSession(req);
    if (!session) return sendNoSession(req, res);
    const customer = await deps.customers.findById(session.sub);
    if (!customer) return sendNoSession(req, res);
    const flash = deps.sessions.openFlash(session, readCookie(req.headers.cookie, FLASH_COOKIE)) as Flash | undefined;
    if (readCookie(req.headers.cookie, FLASH_COOKIE) !== undefined) res.append('Set-Cookie', clearCookie(FLASH_COOKIE, cookieOptions));
    await renderOnboarding(res, session, customer, {
      saved: req.query.saved === '1' && !flash,
      ...(flash && typeof flash === 'object' ? { values: flash.values ?? {}, errors: flash.errors ?? {} } : {}),
    });
  });

  router.get(ONBOARDING_STATUS_PATH, async (req, res) => {
    const session = openSession(req);
    const customer = session ? await deps.customers.findById(session.sub) : undefined;
    res.setHeader('Cache-Control', 'no-store');
    if (!customer) {
      res.status(401).json({ code: 'no_session', detail: 'No valid session: open this page from AWS Marketplace again.' });
      return;
    }
    const words = statusWords(customer);
    res.json({ status: customer.subscription.status, css: words.css, text: words.text });
  });

  router.post(ONBOARDING_PATH, async (req, res) => {
    const session = openSession(req);
    if (!session) return sendNoSession(req, res);
    const body = (req.body ?? {}) as Record<string, unknown>;
    if (!deps.sessions.verifyCsrf(session, body.csrf)) {
      sendPage(res, 403, 'Please try again', ['This form expired or was not sent from this page. Reload the page and submit it again.']);
      return;
    }
    const customer = await deps.customers.findById(session.sub);
    if (!customer) return sendNoSession(req, res);
    if (!formEnabled) {
      sendPage(res, 409, 'There is nothing to fill in here', ['Continue to the sign-in page from your subscription page.']);
      return;
    }
    const locked = lockedReason(customer, productNameOf(customer), seller);
    if (locked) {
      sendPage(res, 409, 'This subscription has ended', [statusWords(customer).text, locked]);
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
      // Post-redirect-get: the page with the errors is a GET, so Back and reload never re-post the form.
      res.append(
        'Set-Cookie',
        sessionCookie(FLASH_COOKIE, deps.sessions.sealFlash(session, { values, errors } satisfies Flash), {
          ...cookieOptions,
          maxAgeSeconds: 300,
        }),
      );
      res.redirect(303, ONBOARDING_PATH);
      return;
    }
    const saved = await deps.customers.saveOnboarding(session.sub, parsed.data, deps.clock.now());
    if (!saved) return sendNoSession(req, res);
    deps.logger.info({ customerId: saved.id }, 'buyer completed the sign-up form');
    if (deps.handoff.enabled) {
      res.redirect(303, (await deps.handoff.issue(saved)).url);
      return;
    }
    res.redirect(303, `${ONBOARDING_PATH}?saved=1`);
  });

  router.post(CONTINUE_PATH, async (req, res) => {
    const session = openSession(req);
    if (!session) return sendNoSession(req, res);
    if (!deps.sessions.verifyCsrf(session, (req.body as Record<string, unknown> | undefined)?.csrf)) {
      sendPage(res, 403, 'Please try again', ['This button expired or was not sent from this page. Reload the page and try again.']);
      return;
    }
    const customer = await deps.customers.findById(session.sub);
    if (!customer) return sendNoSession(req, res);
    const locked = lockedReason(customer, productNameOf(customer), seller);
    if (locked || !deps.handoff.enabled) {
      sendPage(res, 409, locked ? 'This subscription has ended' : 'There is no sign-in page to continue to', [
        locked ?? `Contact ${seller.name} support at ${seller.supportEmail}.`,
      ]);
      return;
    }
    // A fresh token at the click: the one minted when the page was shown may have expired (5 minutes).
    res.redirect(303, (await deps.handoff.issue(customer)).url);
  });

  function openSession(req: Request): SessionPayload | undefined {
    return deps.sessions.open(readCookie(req.headers.cookie, SESSION_COOKIE));
  }

  function productNameOf(customer: Customer): string {
    return deps.catalog.find(customer.productCode)?.name ?? customer.productCode;
  }

  async function renderOnboarding(
    res: Response,
    session: SessionPayload,
    customer: Customer,
    extra: { saved?: boolean; values?: Partial<SignupForm>; errors?: Partial<Record<keyof SignupForm, string>> },
  ): Promise<void> {
    const product = deps.catalog.find(customer.productCode);
    const entitlements = await deps.customers.listEntitlements(customer.id);
    const values = extra.values ?? {
      email: customer.onboarding.email ?? '',
      company: customer.onboarding.company ?? '',
      contactName: customer.onboarding.contactName ?? '',
    };
    res.status(200).type('html').setHeader('Cache-Control', 'no-store');
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
        formEnabled,
        ...(deps.handoff.enabled ? { continueAction: CONTINUE_PATH } : {}),
        statusUrl: ONBOARDING_STATUS_PATH,
        nonce: String(res.locals.cspNonce ?? ''),
      }),
    );
  }

  /**
   * No usable session. A browser that never had one (a bookmark, a link shared) is told where the
   * page comes from; one whose session ran out is told it expired.
   */
  function sendNoSession(req: Request, res: Response): void {
    const hadOne = readCookie(req.headers.cookie, SESSION_COOKIE) !== undefined;
    const signIn = seller.loginUrl ? [`If you already have an account, sign in at ${seller.loginUrl}.`] : [];
    if (!hadOne) {
      sendPage(res, 401, 'Open this page from AWS Marketplace', [
        `This page sets up your ${seller.name} account right after you subscribe on AWS Marketplace, and it opens from there.`,
        'On AWS Marketplace, open your subscription (Your Marketplace software) and choose "Set up your account".',
        ...signIn,
      ]);
      return;
    }
    sendPage(res, 401, 'Your session has expired', [
      'For your security, this page is only available for a short time after you arrive from AWS Marketplace.',
      'Go back to AWS Marketplace, open your subscription and choose "Set up your account" again.',
      ...signIn,
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
