import {
  type Entitlement as SdkEntitlement,
  type GetEntitlementFilterName,
  type MarketplaceEntitlementServiceClient,
  paginateGetEntitlements,
} from '@aws-sdk/client-marketplace-entitlement-service';
import type { CustomerIdentity, Entitlement } from '../customers/customer';
import type { EntitlementReader } from '../customers/ports';
import { toAwsCallError } from './sdk-errors';

/** GetEntitlements through the SDK paginator: every page, 25 per page (the API maximum, facts §2.2). */
export class SdkEntitlementReader implements EntitlementReader {
  constructor(private readonly client: MarketplaceEntitlementServiceClient) {}

  async readEntitlements(productCode: string, identity: CustomerIdentity): Promise<Entitlement[]> {
    const filter = entitlementFilter(identity);
    const out: Entitlement[] = [];
    try {
      for await (const page of paginateGetEntitlements(
        { client: this.client, pageSize: 25 },
        { ProductCode: productCode, Filter: filter },
      )) {
        for (const e of page.Entitlements ?? []) {
          if (belongsTo(e, identity)) out.push(toEntitlement(e));
        }
      }
    } catch (error) {
      throw toAwsCallError('GetEntitlements', error);
    }
    return out;
  }
}

/**
 * The identity filter. CUSTOMER_IDENTIFIER and CUSTOMER_AWS_ACCOUNT_ID are mutually exclusive
 * (facts §2.2); a licence narrows a buyer with several concurrent agreements to one of them.
 */
export function entitlementFilter(identity: CustomerIdentity): Partial<Record<GetEntitlementFilterName, string[]>> {
  if (identity.licenseArn) {
    return identity.customerAWSAccountId
      ? { CUSTOMER_AWS_ACCOUNT_ID: [identity.customerAWSAccountId], LICENSE_ARN: [identity.licenseArn] }
      : { LICENSE_ARN: [identity.licenseArn] };
  }
  if (identity.customerIdentifier) return { CUSTOMER_IDENTIFIER: [identity.customerIdentifier] };
  if (identity.customerAWSAccountId) return { CUSTOMER_AWS_ACCOUNT_ID: [identity.customerAWSAccountId] };
  throw new Error('GetEntitlements needs a customer identifier, an account id or a licence');
}

/** Defence in depth: keep only entitlements of this buyer even if the filter were ignored. */
function belongsTo(e: SdkEntitlement, identity: CustomerIdentity): boolean {
  if (identity.licenseArn && e.LicenseArn && e.LicenseArn !== identity.licenseArn) return false;
  if (identity.customerIdentifier && e.CustomerIdentifier && e.CustomerIdentifier !== identity.customerIdentifier) return false;
  if (identity.customerAWSAccountId && e.CustomerAWSAccountId && e.CustomerAWSAccountId !== identity.customerAWSAccountId) return false;
  return true;
}

/** `Value` is a plain structure: whichever member is present gives the type (facts §2.3). */
function toEntitlement(e: SdkEntitlement): Entitlement {
  const v = e.Value ?? {};
  let value: Entitlement['value'] = { type: 'none' };
  if (v.IntegerValue !== undefined) value = { type: 'integer', value: v.IntegerValue };
  else if (v.DoubleValue !== undefined) value = { type: 'double', value: v.DoubleValue };
  else if (v.BooleanValue !== undefined) value = { type: 'boolean', value: v.BooleanValue };
  else if (v.StringValue !== undefined) value = { type: 'string', value: v.StringValue };
  return { dimension: e.Dimension ?? '', value, expirationDate: e.ExpirationDate ?? null };
}
