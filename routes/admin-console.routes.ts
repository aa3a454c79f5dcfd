import { Router, type Request, type RequestHandler, type Response } from 'express';
import { adminKeyFor, verifyPassword, type PasswordHash } from '../src/console/admin-credentials';
import { PROBLEM_STATES, type ProblemState } from '../src/console/console.repository';
import type { ConsoleService } from '../src/console/console.service';
import type { ApiKey } from '../src/platform/api-keys';
import type { Clock } from '../src/platform/clock';
import { AppError, NotFoundError, ValidationError } from '../src/platform/errors';
import type { SessionCodec, SessionPayload } from '../src/platform/signed-session';
import { clearCookie, readCookie, sessionCookie } from './support/cookies';
import { CONSOLE_CSS, CONSOLE_JS } from './views/console-assets';
import type { ConsoleFrame } from './views/console-layout';
import { renderCustomer, renderCustomers, renderLogin, renderNotifications, renderOverview, renderProblems } from './views/console-pages';

/** The console session cookie: sealed (AES-GCM + HMAC, `SessionCodec`), HttpOnly, SameSite=Strict, Secure outside simulator mode. */
export const ADMIN_COOKIE = 'mb_admin';
/** The sign-in form's anti-forgery session, before anyone is signed in. */
const LOGIN_COOKIE = 'mb_admin_login';
const LOGIN_TTL_SECONDS = 900;

export interface AdminConsoleDeps {
  readonly console: ConsoleService;
  /** Seals `mb_admin` (its own secret: a buyer's session can never open the console). */
  readonly sessions: SessionCodec;
  /** Seals `mb_admin_login`. */
  readonly loginSessions: SessionCodec;
  readonly sessionTtlSeconds: number;
  readonly secureCookies: boolean;
  readonly passwordHash?: PasswordHash | undefined;
  readonly apiKeys: readonly ApiKey[];
  readonly productCodes: readonly string[];
  readonly sellerName: string;
  /** Simulator mode: the demo key shown on the sign-in page. */
  readonly demoKey?: string | undefined;
  readonly clock: Clock;
}

const PUBLIC_PATHS = new Set(['/login']);

/**
 * Refuses every `/admin` request without a valid console session, before any body is parsed:
 * pages (GET, HEAD) are sent to the sign-in page (303), actions get 401 problem+json. The session
 * goes into `res.locals.adminSession`.
 */
export function adminGate(sessions: SessionCodec): RequestHandler {
  return (req, res, next) => {
    if (PUBLIC_PATHS.has(req.path)) {
      next();
      return;
    }
    const session = sessions.open(readCookie(req.headers.cookie, ADMIN_COOKIE));
    if (session) {
      res.locals.adminSession = session;
      res.setHeader('Cache-Control', 'no-store');
      next();
      return;
    }
    if (req.method === 'GET' || req.method === 'HEAD') {
      res.redirect(303, '/admin/login');
      return;
    }
    next(new AppError('Sign in to the console first (POST /admin/login).', { code: 'unauthorized', httpStatus: 401 }));
  };
}

/** The seller console (README "Console"): pages under `/admin`, its static assets under `/assets`. */
export function adminConsoleRoutes(deps: AdminConsoleDeps): Router {
  const router = Router();
  const cookie = { maxAgeSeconds: deps.sessionTtlSeconds, secure: deps.secureCookies, path: '/admin', sameSite: 'Strict' as const };
  const loginCookie = { ...cookie, maxAgeSeconds: LOGIN_TTL_SECONDS };
  const frame = (res: Response, current: ConsoleFrame['current']): ConsoleFrame => ({
    csrf: deps.sessions.csrfToken(res.locals.adminSession as SessionPayload),
    sellerName: deps.sellerName,
    current,
  });
  const page = (res: Response, body: string, status = 200) => res.status(status).type('html').send(body);
  /** Every action's form carries the session's token (synchronizer token, `SessionCodec.csrfToken`). */
  const checkCsrf = (req: Request, res: Response) => {
    const token = (req.body as Record<string, unknown> | undefined)?.csrf;
    if (!deps.sessions.verifyCsrf(res.locals.adminSession as SessionPayload, token))
      throw new AppError('The form is missing its anti-forgery token or it is not this session’s; reload the page.', {
        code: 'csrf_failed',
        httpStatus: 403,
      });
  };

  router.get('/assets/console.css', (_req, res) => {
    res.type('text/css').setHeader('Cache-Control', 'public, max-age=3600').send(CONSOLE_CSS);
  });
  router.get('/assets/console.js', (_req, res) => {
    res.type('text/javascript').setHeader('Cache-Control', 'public, max-age=3600').send(CONSOLE_JS);
  });

  const showLogin = (res: Response, status: number, error?: string) => {
    const pre = deps.loginSessions.issue('login');
    res.setHeader('Set-Cookie', sessionCookie(LOGIN_COOKIE, pre, loginCookie));
    res.setHeader('Cache-Control', 'no-store');
    const opened = deps.loginSessions.open(pre)!;
    page(
      res,
      renderLogin(
        { csrf: deps.loginSessions.csrfToken(opened), sellerName: deps.sellerName, current: 'login' },
        {
          passwordEnabled: deps.passwordHash !== undefined,
          ...(error ? { error } : {}),
          ...(deps.demoKey ? { demoKey: deps.demoKey } : {}),
        },
      ),
      status,
    );
  };
  router.get('/admin/login', (_req, res) => showLogin(res, 200));
  router.post('/admin/login', (req, res) => {
    const body = (req.body ?? {}) as Record<string, unknown>;
    const pre = deps.loginSessions.open(readCookie(req.headers.cookie, LOGIN_COOKIE));
    if (!pre || !deps.loginSessions.verifyCsrf(pre, body.csrf))
      return showLogin(res, 403, 'The sign-in form expired or was not sent from this page. Try again.');
    const password = typeof body.password === 'string' ? body.password : undefined;
    const apiKey = typeof body.apiKey === 'string' ? body.apiKey : undefined;
    let who: string | undefined;
    if (password !== undefined && deps.passwordHash && verifyPassword(deps.passwordHash, password)) who = 'password';
    else if (apiKey !== undefined) {
      const key = adminKeyFor(deps.apiKeys, apiKey);
      if (key) who = `key:${key.name}`;
    }
    if (!who) return showLogin(res, 401, 'That password or API key is not valid for the console.');
    res.setHeader('Set-Cookie', [sessionCookie(ADMIN_COOKIE, deps.sessions.issue(who), cookie), clearCookie(LOGIN_COOKIE, loginCookie)]);
    res.redirect(303, '/admin');
  });
  router.post('/admin/logout', (req, res) => {
    checkCsrf(req, res);
    res.setHeader('Set-Cookie', clearCookie(ADMIN_COOKIE, cookie));
    res.redirect(303, '/admin/login');
  });

  router.get('/admin', async (_req, res) => {
    page(res, renderOverview(frame(res, 'overview'), await deps.console.overview()));
  });

  router.get('/admin/customers', async (req, res) => {
    const q = req.query as Record<string, string | undefined>;
    const filters = { q: q.q || undefined, product: q.product || undefined, status: q.status || undefined };
    const limit = 50;
    const after = q.after ? await deps.console.cursorOf(q.after) : undefined;
    if (q.after && !after) throw new ValidationError('after is not a customer id of this list');
    const rows = await deps.console.listCustomers({
      search: filters.q,
      productCode: filters.product,
      status: filters.status,
      after,
      limit: limit + 1,
    });
    const shown = rows.slice(0, limit);
    let next: string | null = null;
    if (rows.length > limit) {
      const params = new URLSearchParams();
      for (const [k, v] of Object.entries(filters)) if (v) params.set(k, v);
      params.set('after', shown[shown.length - 1]!.id);
      next = `/admin/customers?${params.toString()}`;
    }
    page(res, renderCustomers(frame(res, 'customers'), shown, filters, deps.productCodes, next));
  });

  router.get('/admin/customers/:id', async (req, res) => {
    const id = String(req.params.id);
    const data = await deps.console.customerPage(id);
    if (!data) throw new NotFoundError(`No customer ${id}.`);
    page(res, renderCustomer(frame(res, 'customers'), data, deps.clock.now()));
  });

  router.get('/admin/problems', async (req, res) => {
    const q = req.query as Record<string, string | undefined>;
    const state = q.state && (PROBLEM_STATES as readonly string[]).includes(q.state) ? (q.state as ProblemState) : undefined;
    const notice = q.done === 'retried' ? 'The record is queued again; the emitter sends it unchanged within its next pass.' : undefined;
    page(res, renderProblems(frame(res, 'problems'), await deps.console.problems(state), state, notice));
  });
  router.post('/admin/problems/:id/retry', async (req, res) => {
    checkCsrf(req, res);
    await deps.console.retry(String(req.params.id));
    res.redirect(303, '/admin/problems?done=retried');
  });

  router.get('/admin/notifications', async (req, res) => {
    const q = req.query as Record<string, string | undefined>;
    const outcome = q.outcome === 'rejected' || q.outcome === 'unmatched' ? q.outcome : undefined;
    const notice = q.replayed ? `Replayed: the notification was ${q.replayed}.` : undefined;
    page(res, renderNotifications(frame(res, 'notifications'), await deps.console.notifications(outcome), outcome, notice));
  });
  router.post('/admin/notifications/:id/replay', async (req, res) => {
    checkCsrf(req, res);
    const id = String(req.params.id);
    if (!/^\d{1,15}$/.test(id)) throw new NotFoundError(`No notification ${id}.`);
    const result = await deps.console.replay(Number(id));
    res.redirect(303, `/admin/notifications?replayed=${encodeURIComponent(result.outcome)}`);
  });
  return router;
}
