import { type MarketplaceMeteringClient, ResolveCustomerCommand } from '@aws-sdk/client-marketplace-metering';
import { AppError } from '../platform/errors';
import type { CustomerResolver, ResolvedCustomer } from '../customers/ports';
import { awsErrorFacts, AwsCallError } from './sdk-errors';

/** ResolveCustomer through the SDK, with AWS errors translated to the service's typed errors. */
export class SdkCustomerResolver implements CustomerResolver {
  constructor(private readonly client: MarketplaceMeteringClient) {}

  async resolveCustomer(registrationToken: string): Promise<ResolvedCustomer> {
    let answer;
    try {
      answer = await this.client.send(new ResolveCustomerCommand({ RegistrationToken: registrationToken }));
    } catch (error) {
      const facts = awsErrorFacts(error);
      if (facts.code === 'InvalidTokenException') {
        throw new AppError('The registration token is not valid.', { code: 'invalid_registration_token', httpStatus: 400, cause: error });
      }
      if (facts.code === 'ExpiredTokenException') {
        throw new AppError('The registration token has expired.', { code: 'expired_registration_token', httpStatus: 400, cause: error });
      }
      throw new AwsCallError('ResolveCustomer', facts);
    }
    if (!answer.ProductCode) {
      throw new AwsCallError('ResolveCustomer', {
        code: 'IncompleteAnswer',
        kind: 'transient',
        message: 'ResolveCustomer answered without a ProductCode',
      });
    }
    return {
      productCode: answer.ProductCode,
      customerIdentifier: answer.CustomerIdentifier || undefined,
      customerAWSAccountId: answer.CustomerAWSAccountId || undefined,
      licenseArn: answer.LicenseArn || undefined,
    };
  }
}
