import { Router } from 'express';
import type { AccessAnswer, AccessCheckService } from '../src/entitlements/access-check.service';
import { ValidationError } from '../src/platform/errors';
import { customerJson } from '../src/customers/customer-view';

/**
 * `GET /v1/access?customer=&dimension=&quantity=&product=`: may this customer use `quantity` of
 * `dimension` now? 200 with `allowed` true or false and a stable `reason`, for every customer we
 * know; 404 for one we do not, 409 when a CustomerIdentifier names several products' customers.
 * `GET /v1/access/licences?awsAccountId=&product=&dimension=&quantity=`: the same question for each
 * licence an AWS account holds of a product (concurrent agreements), one decision per licence.
 */
export function accessRoutes(deps: { access: AccessCheckService }): Router {
  const router = Router();
  router.get('/v1/access', async (req, res) => {
    const q = req.query as Record<string, string | undefined>;
    const quantity = quantityOf(q.quantity);
    const { customer, decision, checkedAt } = await deps.access.check({
      customer: q.customer!,
      product: q.product,
      dimension: q.dimension,
      quantity,
    });
    res.json(decisionJson({ customer, decision, checkedAt }, q.dimension, quantity));
  });

  router.get('/v1/access/licences', async (req, res) => {
    const q = req.query as Record<string, string | undefined>;
    const quantity = quantityOf(q.quantity);
    const answers = await deps.access.checkAccount({
      awsAccountId: q.awsAccountId!,
      product: q.product!,
      ...(q.dimension === undefined ? {} : { dimension: q.dimension }),
      ...(quantity === undefined ? {} : { quantity }),
    });
    res.json({
      awsAccountId: q.awsAccountId,
      productCode: q.product,
      licences: answers.map((a) => ({ licenseArn: a.customer.licenseArn, decision: decisionJson(a, q.dimension, quantity) })),
    });
  });
  return router;
}

/** The `AccessDecision` of openapi.yaml. */
function decisionJson({ customer, decision, checkedAt }: AccessAnswer, dimension: string | undefined, quantity: number | undefined) {
  const c = customerJson(customer);
  return {
    allowed: decision.allowed,
    reason: decision.reason,
    message: decision.message,
    customer: {
      id: c.id,
      productCode: c.productCode,
      status: c.status,
      freeTrial: c.freeTrial,
      finalWindowOpenedAt: c.finalWindowOpenedAt,
      endedAt: c.endedAt,
      entitlementsFetchedAt: c.entitlementsFetchedAt,
    },
    dimension: dimension ?? null,
    quantity: quantity ?? null,
    entitled: decision.entitled
      ? {
          valueType: decision.entitled.valueType,
          quantity: decision.entitled.quantity,
          expirationDate: decision.entitled.expirationDate?.toISOString() ?? null,
        }
      : null,
    overage: decision.overage,
    checkedAt: checkedAt.toISOString(),
  };
}

/** The spec bounds the quantity; a number too large for a double ("1e400") still parses as Infinity. */
function quantityOf(raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 0) {
    throw new ValidationError('quantity must be a finite number, at least 0.', {
      errors: [{ path: '/query/quantity', message: 'must be a finite number >= 0' }],
    });
  }
  return n;
}
