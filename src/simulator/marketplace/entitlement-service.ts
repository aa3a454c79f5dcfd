import { createHash } from 'node:crypto';
import { AwsError } from '../aws-error';
import { InputReader } from '../json-input';
import type { SimEntitlement } from '../types';
import type { Catalog, SubscriptionState } from './catalog';

type Obj = Record<string, unknown>;

const FILTER_NAMES = ['CUSTOMER_IDENTIFIER', 'CUSTOMER_AWS_ACCOUNT_ID', 'DIMENSION', 'LICENSE_ARN'] as const;

/**
 * AWS Marketplace Entitlement Service, GetEntitlements (§2.2, §2.3). A contract's entitlements
 * are visible from the purchase (the seller reads them when the buyer registers, before any
 * notification, seed 6560-6760) while the subscription is pending, active or unsubscribe-pending. Values within a filter key are
 * unioned, keys are intersected; CUSTOMER_IDENTIFIER and CUSTOMER_AWS_ACCOUNT_ID are mutually
 * exclusive. MaxResults 1–25 (default 25); NextToken is opaque and bound to the query.
 */
export class EntitlementService {
  constructor(private readonly catalog: Catalog) {}

  call(operation: string, body: Obj): Obj {
    if (operation !== 'GetEntitlements')
      throw new AwsError('UnknownOperationException', `Unknown operation AWSMPEntitlementService.${operation}`);
    const r = new InputReader();
    const productCode = r.string(body, 'ProductCode', 'productCode', { required: true, min: 1, max: 255 });
    const filterObj = r.object(body, 'Filter', 'filter');
    const nextToken = r.string(body, 'NextToken', 'nextToken', { pattern: /^\S+$/ });
    const maxResults = r.integer(body, 'MaxResults', 'maxResults', { min: 1, max: 25 }) ?? 25;
    const filter: Partial<Record<(typeof FILTER_NAMES)[number], string[]>> = {};
    for (const key of Object.keys(filterObj ?? {})) {
      if (!(FILTER_NAMES as readonly string[]).includes(key)) {
        r.problems.push(
          `Value '${key}' at 'filter' failed to satisfy constraint: Map keys must satisfy constraint: [Member must satisfy enum value set: [${FILTER_NAMES.join(', ')}]]`,
        );
        continue;
      }
      const values = r.list(filterObj!, key, `filter.${key}`, { required: true, min: 1 }) ?? [];
      for (const v of values) if (typeof v !== 'string') throw new AwsError('SerializationException', `Expected strings in filter ${key}`);
      filter[key as (typeof FILTER_NAMES)[number]] = values as string[];
    }
    r.finish();
    if (filter.CUSTOMER_IDENTIFIER && filter.CUSTOMER_AWS_ACCOUNT_ID) {
      throw new AwsError(
        'InvalidParameterException',
        'CustomerIdentifier and CustomerAWSAccountId are mutually exclusive parameters. You must use one or the other, but not both in the same request.',
      );
    }
    const product = this.catalog.product(productCode!);
    if (!product) throw new AwsError('InvalidParameterException', `Product code ${productCode} is invalid.`);

    const rows = this.catalog
      .all()
      .filter(
        (s) => s.productCode === productCode && (s.status === 'pending' || s.status === 'active' || s.status === 'unsubscribe-pending'),
      )
      .sort((a, b) => a.createdAt - b.createdAt || a.id.localeCompare(b.id))
      .flatMap((s) => s.entitlements.map((e) => ({ s, e })))
      .filter(({ s, e }) => matches(filter, s, e));

    const fingerprint = createHash('sha256')
      .update(JSON.stringify([productCode, filter]))
      .digest('hex')
      .slice(0, 16);
    let start = 0;
    if (nextToken !== undefined) {
      const decoded = decodeToken(nextToken);
      if (!decoded || decoded.f !== fingerprint)
        throw new AwsError('InvalidParameterException', 'The NextToken is invalid for this request.');
      start = decoded.o;
    }
    const page = rows.slice(start, start + maxResults);
    const out: Obj = { Entitlements: page.map(({ s, e }) => render(product.identity, s, e)) };
    if (start + maxResults < rows.length)
      out.NextToken = Buffer.from(JSON.stringify({ o: start + maxResults, f: fingerprint })).toString('base64url');
    return out;
  }
}

function decodeToken(token: string): { o: number; f: string } | undefined {
  try {
    const v = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as { o?: unknown; f?: unknown };
    if (typeof v.o === 'number' && Number.isInteger(v.o) && v.o >= 0 && typeof v.f === 'string') return { o: v.o, f: v.f };
  } catch {
    /* invalid */
  }
  return undefined;
}

function matches(filter: Partial<Record<string, string[]>>, s: SubscriptionState, e: SimEntitlement): boolean {
  const check = (key: string, value: string | undefined) => !filter[key] || (value !== undefined && filter[key].includes(value));
  return (
    check('CUSTOMER_IDENTIFIER', s.customerIdentifier) &&
    check('CUSTOMER_AWS_ACCOUNT_ID', s.customerAWSAccountId) &&
    check('LICENSE_ARN', s.licenseArn) &&
    check('DIMENSION', e.dimension)
  );
}

/** One Entitlement; `Value` carries exactly the member of the dimension's type (§2.3). */
function render(identity: string, s: SubscriptionState, e: SimEntitlement): Obj {
  const value: Obj = {};
  if (e.integerValue !== undefined) value.IntegerValue = e.integerValue;
  if (e.doubleValue !== undefined) value.DoubleValue = e.doubleValue;
  if (e.booleanValue !== undefined) value.BooleanValue = e.booleanValue;
  if (e.stringValue !== undefined) value.StringValue = e.stringValue;
  return {
    ProductCode: s.productCode,
    Dimension: e.dimension,
    ...(identity === 'customer-identifier' && s.customerIdentifier ? { CustomerIdentifier: s.customerIdentifier } : {}),
    CustomerAWSAccountId: s.customerAWSAccountId,
    LicenseArn: s.licenseArn,
    Value: value,
    ...(e.expirationDate ? { ExpirationDate: e.expirationDate.getTime() / 1000 } : {}),
  };
}
