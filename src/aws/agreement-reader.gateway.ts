import {
  type AcceptedTerm,
  DescribeAgreementCommand,
  GetAgreementTermsCommand,
  type MarketplaceAgreementClient,
} from '@aws-sdk/client-marketplace-agreement';
import type { AgreementDetails, AgreementReader } from '../customers/ports';
import { TokenBucket } from '../metering/rate-limiter';
import { realPacer, type Pacer } from '../metering/ports';
import { toAwsCallError } from './sdk-errors';

/**
 * Requests per second per operation, under the Agreement API quotas: DescribeAgreement 5/s and
 * GetAgreementTerms 5/s (the lower of the two documented figures; docs/simulator.md "Research notes").
 */
export const AGREEMENT_API_RATE_PER_SECOND = 4;

/**
 * DescribeAgreement and GetAgreementTerms (all pages) through the SDK, paced per operation. The
 * free-trial flag is the presence of a `freeTrialPricingTerm` among the accepted terms (facts §5.5).
 */
export class SdkAgreementReader implements AgreementReader {
  private readonly describeLimiter: TokenBucket;
  private readonly termsLimiter: TokenBucket;

  constructor(
    private readonly client: MarketplaceAgreementClient,
    private readonly pacer: Pacer = realPacer,
    ratePerSecond = AGREEMENT_API_RATE_PER_SECOND,
  ) {
    this.describeLimiter = new TokenBucket({ ratePerSecond }, pacer.nowMs());
    this.termsLimiter = new TokenBucket({ ratePerSecond }, pacer.nowMs());
  }

  async readAgreement(agreementId: string): Promise<AgreementDetails> {
    const described = await this.call('DescribeAgreement', this.describeLimiter, () =>
      this.client.send(new DescribeAgreementCommand({ agreementId })),
    );
    const terms: AcceptedTerm[] = [];
    let nextToken: string | undefined;
    for (let page = 0; page < 100; page++) {
      const out = await this.call('GetAgreementTerms', this.termsLimiter, () =>
        this.client.send(new GetAgreementTermsCommand({ agreementId, maxResults: 50, ...(nextToken ? { nextToken } : {}) })),
      );
      terms.push(...(out.acceptedTerms ?? []));
      nextToken = out.nextToken;
      if (!nextToken) break;
    }
    const charges = described.estimatedCharges;
    return {
      agreementId,
      status: described.status ?? null,
      startTime: described.startTime ?? null,
      endTime: described.endTime ?? null,
      endTimeBehavior: described.endTimeBehavior?.type ?? null,
      freeTrial: terms.some((t) => t.freeTrialPricingTerm !== undefined),
      estimatedValue: charges?.agreementValue ? { amount: charges.agreementValue, currencyCode: charges.currencyCode ?? null } : null,
    };
  }

  private async call<T>(operation: string, limiter: TokenBucket, send: () => Promise<T>): Promise<T> {
    for (;;) {
      const wait = limiter.tryAcquire(this.pacer.nowMs());
      if (wait === 0) break;
      await this.pacer.sleep(wait);
    }
    try {
      const out = await send();
      limiter.onSuccess(this.pacer.nowMs());
      return out;
    } catch (error) {
      const mapped = toAwsCallError(operation, error);
      if ((error as { name?: string }).name === 'ThrottlingException') limiter.onThrottled(this.pacer.nowMs());
      throw mapped;
    }
  }
}
