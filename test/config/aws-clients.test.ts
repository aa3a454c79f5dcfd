import { createAwsClients } from '../../src/aws/clients';
import { loadConfig } from '../../src/config';

describe('AWS clients', () => {
  it('keep the Entitlement Service in us-east-1 whatever AWS_REGION says (the only documented region)', async () => {
    const config = loadConfig({ AWS_REGION: 'eu-west-1' });
    const aws = createAwsClients({
      region: config.aws.region,
      entitlementRegion: config.aws.entitlementRegion,
      credentials: { accessKeyId: 'a', secretAccessKey: 'b' },
    });
    try {
      expect(await aws.metering.config.region()).toBe('eu-west-1');
      expect(await aws.sqs.config.region()).toBe('eu-west-1');
      expect(await aws.entitlement.config.region()).toBe('us-east-1');
    } finally {
      aws.destroy();
    }
  });

  it('refuse an entitlement region that is not a region', () => {
    expect(() => loadConfig({ MARKETPLACE_ENTITLEMENT_REGION: 'mars' })).toThrow(
      /MARKETPLACE_ENTITLEMENT_REGION: an AWS region such as us-east-1 \(got "mars"\)/,
    );
  });

  it('let a seller override the entitlement region explicitly', async () => {
    const config = loadConfig({ MARKETPLACE_ENTITLEMENT_REGION: 'us-west-2' });
    const aws = createAwsClients({ region: config.aws.region, entitlementRegion: config.aws.entitlementRegion });
    try {
      expect(await aws.entitlement.config.region()).toBe('us-west-2');
    } finally {
      aws.destroy();
    }
  });
});
