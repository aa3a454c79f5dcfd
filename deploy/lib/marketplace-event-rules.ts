import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';

/** Source of AWS Marketplace agreement and licence events on the seller's default bus in us-east-1 (facts §5.4). */
export const MARKETPLACE_EVENT_SOURCE = 'aws.agreement-marketplace';

/**
 * The seller receives an event's `- Manufacturer` and/or `- Proposer` copy; `- Acceptor` copies
 * are the buyer's (facts §5.4). Matching the suffix rather than a list of names takes in the
 * seller-side events AWS adds (cancellation requests and billing adjustments, 2025-26, facts §5.6,
 * whose exact names are unconfirmed) without a redeploy: EventBridge does not replay what a rule
 * missed, while the service records a type it does not know as rejected, with its payload, and
 * acknowledges it (src/events/eventbridge-event.ts), so an unknown type costs one row, not a loop.
 */
export const SELLER_DETAIL_TYPE_SUFFIXES = [' - Manufacturer', ' - Proposer'] as const;

export interface MarketplaceEventPattern {
  /** Which events the pattern takes: all seller events, those without a product, or a product's. */
  readonly scope: 'all' | 'without-product' | 'listed-products';
  readonly pattern: events.EventPattern;
}

/**
 * The rule patterns. Without product ids: one pattern, every seller event. With product ids, two
 * patterns that split the events on the leaf `detail.product.id` (EventBridge's `exists` works on
 * leaves only): agreement events carry no product (facts §5.4) and pass the first whatever the
 * filter; events that name a product (the licence events) pass the second only for a listed id.
 * One pattern filtering on `detail.product.id` would silently drop every agreement event.
 */
export function marketplaceEventPatterns(productIds: readonly string[]): MarketplaceEventPattern[] {
  const base = {
    source: [MARKETPLACE_EVENT_SOURCE],
    detailType: events.Match.anyOf(...SELLER_DETAIL_TYPE_SUFFIXES.map((suffix) => events.Match.suffix(suffix))),
  };
  if (productIds.length === 0) return [{ scope: 'all', pattern: base }];
  return [
    { scope: 'without-product', pattern: { ...base, detail: { product: { id: events.Match.doesNotExist() } } } },
    { scope: 'listed-products', pattern: { ...base, detail: { product: { id: [...productIds] } } } },
  ];
}

export interface MarketplaceEventRulesProps {
  readonly namePrefix: string;
  readonly productIds: readonly string[];
  readonly queue: sqs.IQueue;
}

/**
 * Rules on the account's default event bus (AWS Marketplace publishes only there), each targeting
 * the EventBridge queue. The SQS target adds the queue policy statement that lets
 * `events.amazonaws.com` send, conditioned on the rule's ARN.
 */
export class MarketplaceEventRules extends Construct {
  readonly rules: events.Rule[];

  constructor(scope: Construct, id: string, props: MarketplaceEventRulesProps) {
    super(scope, id);
    this.rules = marketplaceEventPatterns(props.productIds).map(
      ({ scope: which, pattern }) =>
        new events.Rule(this, ruleId(which), {
          ruleName: `${props.namePrefix}-${which === 'all' ? 'marketplace-events' : which === 'without-product' ? 'agreement-events' : 'product-events'}`,
          description: descriptionOf(which, props.productIds),
          eventPattern: pattern,
          targets: [new targets.SqsQueue(props.queue)],
        }),
    );
  }
}

function ruleId(which: MarketplaceEventPattern['scope']): string {
  return which === 'all' ? 'SellerEvents' : which === 'without-product' ? 'EventsWithoutProduct' : 'ListedProductEvents';
}

function descriptionOf(which: MarketplaceEventPattern['scope'], productIds: readonly string[]): string {
  if (which === 'all') return 'AWS Marketplace seller events (Manufacturer and Proposer copies) to the service queue';
  if (which === 'without-product') return 'AWS Marketplace seller events that name no product (agreements) to the service queue';
  return `AWS Marketplace seller events of ${productIds.join(', ')} (licences) to the service queue`.slice(0, 512);
}
