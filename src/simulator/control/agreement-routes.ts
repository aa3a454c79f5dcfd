import type { ServerResponse } from 'node:http';
import { MAX_ADVANCE_MS } from '../clock';
import type { BillingAdjustmentReasonCode, CancellationReasonCode, RenewInput, SimEntitlement, Simulator } from '../types';
import { HttpError, json } from './respond';

const HOUR = 3_600_000;

/**
 * `{"hours": n}` or `{"minutes": n}` (exactly one, a positive JSON number) → milliseconds, at most
 * 31 days. Anything else is a 400.
 */
export function advanceAmount(form: Record<string, unknown>): number {
  const keys = Object.keys(form);
  if (keys.length !== 1 || (keys[0] !== 'hours' && keys[0] !== 'minutes'))
    throw new HttpError(400, 'send exactly one of {"hours": n} or {"minutes": n}');
  const value = form[keys[0]];
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0)
    throw new HttpError(400, `${keys[0]} must be a positive number, got ${JSON.stringify(value)?.slice(0, 40)}`);
  const ms = Math.round(value * (keys[0] === 'hours' ? HOUR : 60_000));
  if (ms < 1 || ms > MAX_ADVANCE_MS) throw new HttpError(400, `the clock advances by at most ${MAX_ADVANCE_MS / HOUR} hours at a time`);
  return ms;
}

function optionalString(form: Record<string, unknown>, key: string, max = 2000): string | undefined {
  const v = form[key];
  if (v === undefined || v === '') return undefined;
  if (typeof v !== 'string' || v.length > max) throw new HttpError(400, `${key} must be a string of at most ${max} characters`);
  return v;
}

function renewInput(form: Record<string, unknown>, entitlements: (v: unknown) => SimEntitlement[]): RenewInput {
  const offerId = optionalString(form, 'offerId', 64);
  return {
    ...(form.entitlements !== undefined ? { entitlements: entitlements(form.entitlements) } : {}),
    ...(offerId ? { offerId } : {}),
    ...(form.confirmation === 'manual' ? { confirmation: 'manual' as const } : {}),
  };
}

/**
 * Control routes for the clock, concurrent agreements, renewals, replacements, cancellation
 * requests and refunds (JSON under `/simulator/api`, page forms under `/simulator/ui` answering
 * 303 to `/simulator`). Returns false when the path is not one of them.
 */
export async function agreementRoutes(
  sim: Simulator,
  res: ServerResponse,
  method: string,
  path: string,
  form: Record<string, unknown>,
  entitlements: (v: unknown) => SimEntitlement[],
): Promise<boolean> {
  const ui = path.startsWith('/simulator/ui/');
  const done = (status: number, body: unknown): true => {
    if (ui) {
      res.writeHead(303, { location: '/simulator' });
      res.end();
    } else json(res, status, body);
    return true;
  };

  if (path === '/simulator/api/clock' && method === 'GET') return done(200, { now: new Date(sim.now()).toISOString(), epochMs: sim.now() });
  if ((path === '/simulator/api/clock/advance' || path === '/simulator/ui/clock/advance') && method === 'POST') {
    // The page's button always advances one hour.
    const ms = ui ? HOUR : advanceAmount(form);
    const a = await sim.advanceClock(ms);
    return done(200, { ...a, now: new Date(a.now).toISOString(), from: new Date(a.from).toISOString() });
  }
  if (method === 'GET' && path === '/simulator/api/cancellation-requests') return done(200, sim.cancellationRequests());
  if (method === 'GET' && path === '/simulator/api/billing-adjustments') return done(200, sim.billingAdjustments());
  if (method !== 'POST') return false;

  let m =
    /^\/simulator\/(?:api|ui)\/subscriptions\/([^/]+)\/(subscribe-again|renew|replace|cancellation-requests|billing-adjustments)$/.exec(
      path,
    );
  if (m) {
    const id = decodeURIComponent(m[1]!);
    const current = sim.subscription(id);
    switch (m[2]) {
      case 'subscribe-again': {
        // A concurrent agreement from the same buyer account (license products; legacy ones refuse).
        const product = sim.products().find((p) => p.productCode === current.productCode)!;
        const s = await sim.subscribe({
          productCode: current.productCode,
          awsAccountId: current.customerAWSAccountId,
          ...(product.pricingModel !== 'subscription' ? { entitlements: current.entitlements } : {}),
          ...(form.confirmation === 'manual' ? { confirmation: 'manual' as const } : {}),
        });
        return done(201, s);
      }
      case 'renew':
        return done(201, await sim.renew(id, renewInput(form, entitlements)));
      case 'replace':
        return done(201, await sim.replace(id, renewInput(form, entitlements)));
      case 'cancellation-requests': {
        const reasonCode = optionalString(form, 'reasonCode', 64) as CancellationReasonCode | undefined;
        const description = optionalString(form, 'description');
        return done(
          201,
          await sim.requestCancellation(id, { ...(reasonCode ? { reasonCode } : {}), ...(description ? { description } : {}) }),
        );
      }
      default: {
        const amount = form.amount;
        if (typeof amount !== 'string' || !/^[0-9]{1,12}(\.[0-9]{1,8})?$/.test(amount) || !(Number(amount) > 0))
          throw new HttpError(400, 'amount must be a positive decimal string such as "25.00"');
        const reasonCode = optionalString(form, 'reasonCode', 64) as BillingAdjustmentReasonCode | undefined;
        const description = optionalString(form, 'description', 500);
        return done(
          201,
          await sim.issueRefund(id, { amount, ...(reasonCode ? { reasonCode } : {}), ...(description ? { description } : {}) }),
        );
      }
    }
  }
  m = /^\/simulator\/(?:api|ui)\/cancellation-requests\/([^/]+)\/(approve|reject|withdraw)$/.exec(path);
  if (m) {
    const id = decodeURIComponent(m[1]!);
    const reason = optionalString(form, 'reason');
    if (m[2] === 'approve') return done(200, await sim.approveCancellation(id));
    if (m[2] === 'reject') return done(200, await sim.rejectCancellation(id, reason));
    return done(200, await sim.withdrawCancellation(id, reason));
  }
  return false;
}
