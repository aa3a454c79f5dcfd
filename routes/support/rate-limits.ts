import type { RequestHandler, Response } from 'express';
import { rateLimit } from 'express-rate-limit';
import type { HtmlProblemRenderer, Problem } from './problem-json';

/** Requests per minute before 429 (0 turns a limit off). */
export interface RateLimitSettings {
  readonly registrationPerMinute: number;
  readonly snsPerMinute: number;
  readonly apiPerMinute: number;
}

const WINDOW_MS = 60_000;

function tooMany(detail: string): Problem {
  return { type: 'about:blank', title: 'Too Many Requests', status: 429, code: 'rate_limited', detail };
}

const pass: RequestHandler = (_req, _res, next) => next();

type Options = Parameters<typeof rateLimit>[0];

/**
 * `perMinute` requests a minute per key (the client IP unless `options` says otherwise), then
 * `refuse`; 0 turns the limit off. The operator chooses TRUST_PROXY; the config notice explains
 * the hop count, so express-rate-limit's own proxy checks are off.
 */
function perMinuteLimit(perMinute: number, refuse: NonNullable<Options>['handler'], options: Options = {}): RequestHandler {
  if (perMinute <= 0) return pass;
  return rateLimit({
    windowMs: WINDOW_MS,
    limit: perMinute,
    standardHeaders: 'draft-7',
    legacyHeaders: false,
    validate: { trustProxy: false, xForwardedForHeader: false },
    handler: refuse,
    ...options,
  });
}

/** A 429 problem document whose detail may name the caller. */
function problemAnswer(detail: (res: Response) => string): NonNullable<Options>['handler'] {
  return (_req, res) => {
    res
      .status(429)
      .type('application/problem+json')
      .send(JSON.stringify(tooMany(detail(res))));
  };
}

/**
 * The registration URL, per client IP: each POST costs a `ResolveCustomer` call at AWS. The buyer
 * gets a page, with `Retry-After`. Behind a load balancer the client IP comes from
 * `X-Forwarded-For` as `TRUST_PROXY` allows.
 */
export function registrationRateLimit(perMinute: number, renderHtml: HtmlProblemRenderer | undefined): RequestHandler {
  return perMinuteLimit(perMinute, (_req, res) => {
    const problem = tooMany('Too many sign-up attempts from this address. Wait a minute, then choose "Set up your account" again.');
    if (renderHtml) res.status(429).type('html').send(renderHtml(problem));
    else res.status(429).type('application/problem+json').send(JSON.stringify(problem));
  });
}

/** `POST /marketplace/sns`, per client IP (SNS retries a 429 later). */
export function snsRateLimit(perMinute: number): RequestHandler {
  return perMinuteLimit(
    perMinute,
    problemAnswer(() => 'Too many SNS messages from this address.'),
  );
}

/** `/v1`, per API key (after the key is checked, so an unknown key is a 401, not a 429). */
export function apiRateLimit(perMinute: number): RequestHandler {
  return perMinuteLimit(
    perMinute,
    problemAnswer((res) => `API key "${String(res.locals.apiKeyName)}" made more than ${perMinute} requests in a minute.`),
    {
      keyGenerator: (_req, res) => `key:${String(res.locals.apiKeyName)}`,
      validate: { trustProxy: false, xForwardedForHeader: false, keyGeneratorIpFallback: false },
    },
  );
}

/** `POST /admin/login` per client IP (each attempt costs an scrypt derivation); other methods pass. */
export function adminLoginRateLimit(perMinute: number): RequestHandler {
  const limit = perMinuteLimit(
    perMinute,
    problemAnswer(() => 'Too many sign-in attempts from this address. Wait a minute.'),
  );
  return (req, res, next) => (req.method === 'POST' ? limit(req, res, next) : next());
}
