import { agreementTimes } from '../marketplace/agreement-times';
import type { SubscriptionState } from '../marketplace/catalog';
import type { SimProduct } from '../types';
import { agreementErrors } from './agreement-input';

type Obj = Record<string, unknown>;

const STATUSES = ['ACTIVE', 'ARCHIVED', 'CANCELLED', 'EXPIRED', 'RENEWED', 'REPLACED', 'ROLLED_BACK', 'SUPERSEDED', 'TERMINATED'];
const TIME_FILTERS = [
  'BeforeEndTime',
  'AfterEndTime',
  'BeforeStartTime',
  'AfterStartTime',
  'BeforeLastUpdateTime',
  'AfterLastUpdateTime',
] as const;
const FILTER_NAMES = [
  'AgreementType',
  'PartyType',
  'ResourceIdentifier',
  'ResourceType',
  'AcceptorAccountId',
  'OfferId',
  'OfferSetId',
  'Status',
  'EndTimeBehaviorType',
  'EndTimeBehaviorReasonCode',
  'InitialAgreementId',
  'LicenseArn',
  ...TIME_FILTERS,
];
/** FilterValue in the model: 1–64 of `[A-Za-z0-9+:_-]`. A LicenseArn (80 characters) cannot fit it, see below. */
const FILTER_VALUE = /^[A-Za-z0-9+:_-]{1,64}$/;
const LICENSE_ARN = /^arn:aws[a-zA-Z-]*:license-manager::[0-9]{12}:license:[A-Za-z0-9-]{1,64}$/;

/**
 * Parses SearchAgreements' `filters` and `sort` (§5.5). Filters: 1–10, each a known `name` with
 * exactly one value; `AgreementType` (`PurchaseAgreement`) and `PartyType` (`Proposer` | `Acceptor`)
 * are required. Times are ISO-8601. `LicenseArn` values are checked as ARNs instead of against the
 * model's 64-character FilterValue, which no LicenseArn fits (a simulator choice, docs/simulator.md).
 * Sort: `EndTime` (default) for both parties, `StartTime` / `LastUpdateTime` only for Proposer;
 * `ASCENDING` (default) or `DESCENDING`.
 */
export function searchFilter(
  body: Obj,
  productOf: (s: SubscriptionState) => SimProduct,
): {
  matches: (s: SubscriptionState) => boolean;
  party: 'Proposer' | 'Acceptor';
  sort: (a: SubscriptionState, b: SubscriptionState) => number;
} {
  const list = body.filters;
  if (list === undefined || list === null)
    throw agreementErrors.validation('MISSING_FILTER_NAME', 'filters must include AgreementType and PartyType.', 'filters');
  if (!Array.isArray(list) || list.length < 1 || list.length > 10)
    throw agreementErrors.validation('INVALID_FILTERS', 'filters must be a list of 1 to 10 filters.', 'filters');
  const values = new Map<string, string>();
  for (const f of list as unknown[]) {
    if (!f || typeof f !== 'object' || Array.isArray(f))
      throw agreementErrors.validation('INVALID_FILTERS', 'each filter must be a structure.', 'filters');
    const { name, values: v } = f as Obj;
    if (typeof name !== 'string' || name === '')
      throw agreementErrors.validation('MISSING_FILTER_NAME', 'each filter needs a name.', 'filters');
    if (!FILTER_NAMES.includes(name))
      throw agreementErrors.validation('INVALID_FILTER_NAME', `Unsupported filter name ${name.slice(0, 40)}.`, 'filters');
    if (values.has(name)) throw agreementErrors.validation('INVALID_FILTERS', `filter ${name} appears twice.`, 'filters');
    if (!Array.isArray(v) || v.length === 0)
      throw agreementErrors.validation('MISSING_FILTER_VALUES', `filter ${name} needs one value.`, 'filters');
    if (v.length !== 1 || typeof v[0] !== 'string')
      throw agreementErrors.validation('INVALID_FILTER_VALUES', `filter ${name} takes exactly one string value.`, 'filters');
    const value = v[0];
    const ok = name === 'LicenseArn' ? LICENSE_ARN.test(value) : FILTER_VALUE.test(value);
    if (!ok) throw agreementErrors.validation('INVALID_FILTER_VALUES', `invalid value for filter ${name}.`, 'filters');
    values.set(name, value);
  }
  const agreementType = values.get('AgreementType');
  if (agreementType === undefined) throw agreementErrors.validation('INVALID_FILTERS', 'the AgreementType filter is required.', 'filters');
  const party = values.get('PartyType');
  if (party === undefined) throw agreementErrors.validation('MISSING_PARTY_TYPE', 'the PartyType filter is required.', 'filters');
  if (party !== 'Proposer' && party !== 'Acceptor')
    throw agreementErrors.validation('INVALID_PARTY_TYPE', 'PartyType must be Proposer or Acceptor.', 'filters');
  const status = values.get('Status');
  if (status !== undefined && !STATUSES.includes(status))
    throw agreementErrors.validation('INVALID_STATUS', `Unknown status ${status}.`, 'filters');
  const times = new Map<string, number>();
  for (const name of TIME_FILTERS) {
    const raw = values.get(name);
    if (raw === undefined) continue;
    const t = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2})?(Z|[+-]\d{2}:?\d{2})?)?$/.test(raw) ? Date.parse(raw) : NaN;
    if (Number.isNaN(t)) throw agreementErrors.validation('INVALID_FILTER_VALUES', `${name} must be an ISO-8601 date-time.`, 'filters');
    times.set(name, t);
  }
  const sort = readSort(body.sort, party, productOf);

  const eq = (name: string, actual: string | undefined) => !values.has(name) || values.get(name) === actual;
  const matches = (s: SubscriptionState): boolean => {
    const product = productOf(s);
    const { startTime, endTime } = agreementTimes(s, product);
    const behavior = product.pricingModel === 'subscription' ? 'EXPIRE' : s.autoRenew ? 'RENEW' : 'EXPIRE';
    const reason = product.pricingModel === 'subscription' ? 'NO_RENEWAL_TERM' : s.autoRenew ? undefined : 'ACCEPTOR_RENEW_OPTED_OUT';
    const at: Record<string, number> = { EndTime: endTime, StartTime: startTime, LastUpdateTime: s.updatedAt };
    return (
      agreementType === 'PurchaseAgreement' &&
      eq('ResourceIdentifier', s.productId) &&
      eq('ResourceType', 'SaaSProduct') &&
      eq('AcceptorAccountId', s.customerAWSAccountId) &&
      eq('OfferId', s.offerId) &&
      !values.has('OfferSetId') &&
      eq('Status', s.agreementStatus) &&
      eq('EndTimeBehaviorType', behavior) &&
      eq('EndTimeBehaviorReasonCode', reason) &&
      eq('InitialAgreementId', s.initialAgreementId) &&
      eq('LicenseArn', s.licenseArn) &&
      [...times].every(([name, t]) => {
        const field = name.replace(/^(Before|After)/, '');
        return name.startsWith('Before') ? at[field]! < t : at[field]! > t;
      })
    );
  };
  return { matches, party, sort };
}

function readSort(
  raw: unknown,
  party: string,
  productOf: (s: SubscriptionState) => SimProduct,
): (a: SubscriptionState, b: SubscriptionState) => number {
  let by = 'EndTime';
  let order = 'ASCENDING';
  if (raw !== undefined && raw !== null) {
    if (typeof raw !== 'object' || Array.isArray(raw)) throw agreementErrors.validation('OTHER', 'sort must be a structure.', 'sort');
    const { sortBy, sortOrder } = raw as Obj;
    if (sortBy !== undefined) {
      if (
        typeof sortBy !== 'string' ||
        !['EndTime', 'StartTime', 'LastUpdateTime'].includes(sortBy) ||
        (sortBy !== 'EndTime' && party !== 'Proposer')
      )
        throw agreementErrors.validation(
          'INVALID_SORT_BY',
          'sortBy must be EndTime, or StartTime / LastUpdateTime for PartyType Proposer.',
          'sort',
        );
      by = sortBy;
    }
    if (sortOrder !== undefined) {
      if (sortOrder !== 'ASCENDING' && sortOrder !== 'DESCENDING')
        throw agreementErrors.validation('INVALID_SORT_ORDER', 'sortOrder must be ASCENDING or DESCENDING.', 'sort');
      order = sortOrder;
    }
  }
  const key = (s: SubscriptionState): number =>
    by === 'StartTime' ? s.createdAt : by === 'LastUpdateTime' ? s.updatedAt : agreementTimes(s, productOf(s)).endTime;
  const sign = order === 'ASCENDING' ? 1 : -1;
  return (a, b) => sign * (key(a) - key(b)) || a.id.localeCompare(b.id);
}
