import type { RequestHandler } from 'express';
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

/**
 * The registration URL, per client IP: each POST costs a `ResolveCustomer` call at AWS. The buyer
 * gets a page, with `Retry-After`. Behind a load balancer the client IP comes from
 * `X-Forwarded-For` as `TRUST_PROXY` allows.
 */
export function registrationRateLimit(perMinute: number, renderHtml: HtmlProblemRenderer | undefined): RequestHandler {
  if (perMinute <= 0) return pass;
  return rateLimit({
    windowMs: WINDOW_MS,
    limit: perMinute,
    standardHeaders: 'draft-7',
    legacyHeaders: false,
    // The operator chooses TRUST_PROXY; the config notice explains the hop count.
    validate: { trustProxy: false, xForwardedForHeader: false },
    handler: (_req, res) => {
      const problem = tooMany('Too many sign-up attempts from this address. Wait a minute, then choose "Set up your account" again.');
      if (renderHtml) res.status(429).type('html').send(renderHtml(problem));
      else res.status(429).type('application/problem+json').send(JSON.stringify(problem));
    },
  });
}

/** `POST /marketplace/sns`, per client IP (SNS retries a 429 later). */
export function snsRateLimit(perMinute: number): RequestHandler {
  if (perMinute <= 0) return pass;
  return rateLimit({
    windowMs: WINDOW_MS,
    limit: perMinute,
    standardHeaders: 'draft-7',
    legacyHeaders: false,
    validate: { trustProxy: false, xForwardedForHeader: false },
    handler: (_req, res) => {
      res
        .status(429)
        .type('application/problem+json')
        .send(JSON.stringify(tooMany('Too many SNS messages from this address.')));
    },
  });
}

/** `/v1`, per API key (after the key is checked, so an unknown key is a 401, not a 429). */
export function apiRateLimit(perMinute: number): RequestHandler {
  if (perMinute <= 0) return pass;
  return rateLimit({
    windowMs: WINDOW_MS,
    limit: perMinute,
    standardHeaders: 'draft-7',
    legacyHeaders: false,
    keyGenerator: (_req, res) => `key:${String(res.locals.apiKeyName)}`,
    validate: { trustProxy: false, xForwardedForHeader: false, keyGeneratorIpFallback: false },
    handler: (_req, res) => {
      res
        .status(429)
        .type('application/problem+json')
        .send(JSON.stringify(tooMany(`API key "${String(res.locals.apiKeyName)}" made more than ${perMinute} requests in a minute.`)));
    },
  });
}
