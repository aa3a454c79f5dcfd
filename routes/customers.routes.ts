import { Router } from 'express';
import { findOneCustomer } from '../src/customers/customer-directory';
import { billingAdjustmentJson, cancellationJson, type AgreementRequestRepository } from '../src/customers/agreement-requests.repository';
import type { CustomerProfileRepository } from '../src/customers/customer-profile.repository';
import type { CustomerUsage, CustomerUsageRepository } from '../src/customers/customer-usage.repository';
import type { Customer } from '../src/customers/customer';
import type { CustomerRepository } from '../src/customers/customer.repository';
import { customerJson } from '../src/customers/customer-view';
import type { SubscriptionStatus } from '../src/customers/subscription-state';
import type { Clock } from '../src/platform/clock';
import { NotFoundError, ValidationError } from '../src/platform/errors';
import type { ProductCatalog } from '../src/products/product-config';
import { parseLimit } from './support/limits';

export interface CustomersRoutesDeps {
  readonly customers: CustomerRepository;
  readonly profiles: CustomerProfileRepository;
  readonly usage: CustomerUsageRepository;
  readonly requests: AgreementRequestRepository;
  readonly catalog: ProductCatalog;
  readonly clock: Clock;
}

/**
 * The customers API: list and read customers (with their contract and, for one customer, this
 * hour's and this period's usage per dimension), link the app's tenant id, export and erase the
 * buyer's personal data. `{id}` is our id, a LicenseArn, a CustomerIdentifier or the external id.
 */
export function customersRoutes(deps: CustomersRoutesDeps): Router {
  const router = Router();

  router.get('/v1/customers', async (req, res) => {
    const q = req.query as Record<string, string | undefined>;
    const limit = parseLimit(q.limit, 100, 200);
    const { customers, total } = await deps.profiles.list({
      status: q.status as SubscriptionStatus | undefined,
      productCode: q.product,
      awsAccountId: q.awsAccountId,
      externalId: q.externalId,
      updatedSince: q.updatedSince ? new Date(q.updatedSince) : undefined,
      after: q.cursor ? decodeCursor(q.cursor) : undefined,
      limit,
    });
    const last = customers[customers.length - 1]?.customer;
    res.json({
      customers: customers.map((c) => customerJson(c.customer, c.entitlements)),
      total,
      nextCursor: customers.length === limit && last ? encodeCursor(last) : null,
    });
  });

  router.get('/v1/customers/:id', async (req, res) => {
    const customer = await findOneCustomer(deps.customers, String(req.params.id), productOf(req.query));
    const entitlements = await deps.customers.listEntitlements(customer.id);
    const product = deps.catalog.find(customer.productCode);
    const usage = product ? await deps.usage.usageOf(customer.id, product, entitlements, deps.clock.now()) : undefined;
    const requests = await deps.requests.listFor(customer.id);
    res.json({
      ...customerJson(customer, entitlements),
      ...(usage ? { usage: usageJson(usage) } : {}),
      cancellationRequests: requests.cancellationRequests.map(cancellationJson),
      billingAdjustments: requests.billingAdjustments.map(billingAdjustmentJson),
    });
  });

  router.patch('/v1/customers/:id', async (req, res) => {
    const customer = await findOneCustomer(deps.customers, String(req.params.id), productOf(req.query));
    const { externalId } = req.body as { externalId: string | null };
    const updated = await deps.profiles.setExternalId(customer.id, externalId, deps.clock.now());
    if (!updated) throw new NotFoundError(`No customer ${customer.id}.`);
    res.json(customerJson(updated, await deps.customers.listEntitlements(updated.id)));
  });

  router.get('/v1/customers/:id/personal-data', async (req, res) => {
    const customer = await findOneCustomer(deps.customers, String(req.params.id), productOf(req.query));
    res.json(personalDataJson(customer, deps.clock.now()));
  });

  router.delete('/v1/customers/:id/personal-data', async (req, res) => {
    const customer = await findOneCustomer(deps.customers, String(req.params.id), productOf(req.query));
    const erased = await deps.profiles.erasePersonalData(customer.id, deps.clock.now());
    if (!erased) throw new NotFoundError(`No customer ${customer.id}.`);
    res.json(personalDataJson(erased, deps.clock.now()));
  });

  return router;
}

function productOf(query: unknown): string | undefined {
  const p = (query as Record<string, unknown>).product;
  return typeof p === 'string' ? p : undefined;
}

/**
 * Everything held about the buyer as a person or business, for an access request (seed 001: no
 * personal data beyond need): the sign-up form, and the AWS identity AWS bills by (kept on erasure).
 */
function personalDataJson(c: Customer, now: Date) {
  return {
    customerId: c.id,
    productCode: c.productCode,
    exportedAt: now.toISOString(),
    onboarding: {
      email: c.onboarding.email,
      company: c.onboarding.company,
      contactName: c.onboarding.contactName,
      onboardedAt: c.onboarding.onboardedAt?.toISOString() ?? null,
    },
    personalDataErasedAt: c.personalDataErasedAt?.toISOString() ?? null,
    kept: {
      reason: 'AWS Marketplace bills and audits by these; they are not erased',
      customerIdentifier: c.customerIdentifier,
      customerAWSAccountId: c.customerAWSAccountId,
      licenseArn: c.licenseArn,
      registeredAt: c.registeredAt?.toISOString() ?? null,
    },
  };
}

function usageJson(u: CustomerUsage) {
  return {
    hour: u.hour.toISOString(),
    periodStart: u.periodStart.toISOString(),
    periodEnd: u.periodEnd.toISOString(),
    dimensions: u.dimensions,
  };
}

function encodeCursor(c: Customer): string {
  return Buffer.from(JSON.stringify([c.createdAt.toISOString(), c.id])).toString('base64url');
}

function decodeCursor(cursor: string): [string, string] {
  try {
    const v = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
    if (Array.isArray(v) && v.length === 2 && typeof v[0] === 'string' && typeof v[1] === 'string' && !Number.isNaN(Date.parse(v[0])))
      return [v[0], v[1]];
  } catch {
    // fall through
  }
  throw new ValidationError('cursor is not one this API returned', {
    errors: [{ path: '/query/cursor', message: 'not a cursor from this API' }],
  });
}
