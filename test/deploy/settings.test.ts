import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { loadSettingsFile, parseSettings, queueKinds, SettingsError } from '../../deploy/lib/settings';
import { entitlementTopic, PRODUCT_CODES, products, rawIntegration, rawService, subscriptionTopic } from './fixtures';

function problemsOf(raw: unknown): string[] {
  try {
    parseSettings(raw, { source: 'test' });
  } catch (error) {
    if (error instanceof SettingsError) return error.problems;
    throw error;
  }
  throw new Error('expected a SettingsError');
}

describe('deployment settings', () => {
  it('the example settings file is valid and describes both stacks', () => {
    const loaded = loadSettingsFile(resolve(__dirname, '../../deploy/settings.example.json'));
    expect(loaded.prefix).toBe('marketplace-bridge');
    expect(queueKinds(loaded.integration)).toEqual(['subscription', 'entitlement', 'eventbridge']);
    expect(loaded.service?.image).toEqual({ build: true });
  });

  it('defaults: EventBridge on, no SNS queue, 10 receives, SaaS metering only, ECS trust, no service stack', () => {
    const s = parseSettings({});
    expect(s).toEqual({
      prefix: 'marketplace-bridge',
      integration: {
        subscriptionTopicArns: [],
        entitlementTopicArns: [],
        eventBridge: { enabled: true, productIds: [] },
        maxReceiveCount: 10,
        allowMeterUsage: false,
        trustEcsTasks: true,
        trustedPrincipalArns: [],
      },
    });
    expect(queueKinds(s.integration)).toEqual(['eventbridge']);
  });

  it('service defaults: us-east-1, a built image, two 512/1024 tasks, a multi-AZ protected t4g.micro database, 90-day logs', () => {
    const service = parseSettings({
      integration: rawIntegration(),
      service: rawService({ region: undefined, image: undefined, certificateArn: 'arn:aws:acm:us-east-1:111122223333:certificate/abc' }),
    }).service!;
    expect(service).toMatchObject({
      region: 'us-east-1',
      image: { build: true },
      cpuArchitecture: 'X86_64',
      desiredCount: 2,
      cpu: 512,
      memoryMiB: 1024,
      natGateways: 1,
      logRetentionDays: 90,
      environment: {},
      database: {
        instanceType: 't4g.micro',
        multiAz: true,
        deletionProtection: true,
        allocatedStorageGiB: 20,
        maxAllocatedStorageGiB: 100,
        backupRetentionDays: 7,
      },
      products,
    });
  });

  it('refuses topic ARNs of the wrong kind, region or shape, and says what is expected', () => {
    const text = problemsOf({
      integration: {
        subscriptionTopicArns: [entitlementTopic('abc'), 'arn:aws:sns:eu-west-1:123456789012:aws-mp-subscription-notification-abc', 'nope'],
        entitlementTopicArns: [subscriptionTopic('abc')],
      },
    }).join('\n');
    expect(text).toMatch(
      /^integration\.subscriptionTopicArns\.0: arn:aws:sns:us-east-1:<account>:aws-mp-subscription-notification-<PRODUCTCODE>$/m,
    );
    expect(text).toMatch(/^integration\.subscriptionTopicArns\.1: /m);
    expect(text).toMatch(/^integration\.subscriptionTopicArns\.2: /m);
    expect(text).toMatch(/^integration\.entitlementTopicArns\.0: .*aws-mp-entitlement-notification/m);
  });

  it('refuses unknown keys (a typo is an error, not a silent default)', () => {
    expect(problemsOf({ integraton: {} }).join('\n')).toMatch(/Unrecognized key: "integraton"/);
    expect(problemsOf({ integration: { eventBridge: { productId: ['prod-x'] } } }).join('\n')).toMatch(/Unrecognized key: "productId"/);
  });

  it('refuses duplicates, a configuration without any notification source, and a role nobody may assume', () => {
    expect(problemsOf({ integration: { subscriptionTopicArns: [subscriptionTopic('a'), subscriptionTopic('a')] } }).join('\n')).toMatch(
      /subscriptionTopicArns\.1: .* is listed twice/,
    );
    expect(problemsOf({ integration: { eventBridge: { enabled: false } } }).join('\n')).toMatch(/no notification source/);
    expect(problemsOf({ integration: { trustEcsTasks: false } }).join('\n')).toMatch(/nobody could assume the service role/);
  });

  it('refuses product ids that are not prod-…, principals that are not IAM ARNs, and out-of-range counts', () => {
    const text = problemsOf({
      integration: {
        eventBridge: { productIds: [PRODUCT_CODES[0]] },
        trustedPrincipalArns: ['root'],
        maxReceiveCount: 0,
        alarmTopicArn: 'x',
      },
    }).join('\n');
    expect(text).toMatch(/eventBridge\.productIds\.0: a Marketplace product id such as prod-/);
    expect(text).toMatch(/trustedPrincipalArns\.0: an IAM principal ARN/);
    expect(text).toMatch(/maxReceiveCount: /);
    expect(text).toMatch(/alarmTopicArn: an SNS topic ARN in us-east-1/);
  });

  it('service: every bad value is reported at once', () => {
    const text = problemsOf({
      integration: rawIntegration(),
      service: rawService({
        region: 'mars',
        domainName: 'https://x.example.com',
        certificateArn: 'cert',
        supportEmail: 'nobody',
        supportUrl: 'http://insecure.example.com',
        image: { uri: 'latest' },
        cpu: 300,
        desiredCount: 0,
        logRetentionDays: 10,
        hostedZone: { id: 'zone', name: 'example.com' },
        environment: { lower: 'x' },
        apiKeysSecretArn: 'arn:aws:secretsmanager:us-east-1:111122223333:secret:apikeys',
      }),
    }).join('\n');
    for (const key of [
      'region',
      'domainName',
      'certificateArn',
      'supportEmail',
      'supportUrl',
      'image',
      'cpu',
      'desiredCount',
      'logRetentionDays',
      'hostedZone.id',
      'environment.lower',
      'apiKeysSecretArn',
    ]) {
      expect(text).toMatch(new RegExp(`^service\\.${key.replace('.', '\\.')}`, 'm'));
    }
  });

  it('the certificate must be in the load balancer’s region, the domain in the hosted zone', () => {
    const text = problemsOf({
      integration: rawIntegration(),
      service: rawService({ region: 'us-east-1', hostedZone: { id: 'Z123', name: 'other.example.org' } }),
    }).join('\n');
    expect(text).toMatch(/^service\.certificateArn: the certificate is in eu-west-1; the load balancer needs one in us-east-1$/m);
    expect(text).toMatch(/^service\.hostedZone\.name: marketplace\.example\.com is not in the zone other\.example\.org$/m);
    expect(
      parseSettings({ integration: rawIntegration(), service: rawService({ hostedZone: { id: 'Z123', name: 'example.com.' } }) }).service,
    ).toBeDefined();
  });

  it('service.environment may not set what the stack sets (secrets, URLs, mode)', () => {
    const text = problemsOf({
      integration: rawIntegration(),
      service: rawService({
        environment: { SESSION_SECRET: 'x'.repeat(40), DATABASE_URL: 'postgres://u:p@h/db', PUBLIC_URL: 'https://x' },
      }),
    }).join('\n');
    expect(text).toMatch(/environment\.SESSION_SECRET: SESSION_SECRET is set by the stack/);
    expect(text).toMatch(/environment\.DATABASE_URL: /);
    expect(text).toMatch(/environment\.PUBLIC_URL: /);
  });

  it('products are checked by the service’s own schema, inline or from a file', () => {
    const text = problemsOf({
      integration: rawIntegration(),
      service: rawService({ products: [{ code: 'x', name: 'X', pricingModel: 'lease' }] }),
    }).join('\n');
    expect(text).toMatch(/^service\.products: 0\.pricingModel: /m);
    const twice = [{ code: 'x', name: 'X', pricingModel: 'subscription', dimensions: [{ name: 'a' }, { name: 'a' }] }];
    expect(problemsOf({ integration: rawIntegration(), service: rawService({ products: twice }) }).join('\n')).toMatch(
      /^service\.products: 0\.dimensions\.1\.name: dimension "a" is listed twice/m,
    );
    expect(problemsOf({ integration: rawIntegration(), service: rawService({ products: [] }) }).join('\n')).toMatch(/at least one product/);
    expect(problemsOf({ integration: rawIntegration(), service: rawService({ products: undefined }) }).join('\n')).toMatch(
      /set one of products or productsFile/,
    );
    expect(problemsOf({ integration: rawIntegration(), service: rawService({ productsFile: 'p.json' }) }).join('\n')).toMatch(
      /set one of products or productsFile/,
    );

    const dir = mkdtempSync(join(tmpdir(), 'mb-settings-'));
    writeFileSync(join(dir, 'products.json'), JSON.stringify(products));
    writeFileSync(join(dir, 'broken.json'), '[{');
    const base = { integration: rawIntegration() };
    writeFileSync(
      join(dir, 'settings.json'),
      JSON.stringify({ ...base, service: rawService({ products: undefined, productsFile: 'products.json' }) }),
    );
    expect(loadSettingsFile(join(dir, 'settings.json')).service?.products).toEqual(products);
    writeFileSync(
      join(dir, 'settings.json'),
      JSON.stringify({ ...base, service: rawService({ products: undefined, productsFile: 'broken.json' }) }),
    );
    expect(() => loadSettingsFile(join(dir, 'settings.json'))).toThrow(/service\.productsFile: cannot read .*broken\.json as JSON/);
    writeFileSync(join(dir, 'settings.json'), '{ not json');
    expect(() => loadSettingsFile(join(dir, 'settings.json'))).toThrow(/settings\.json:\n {2}- cannot read it as JSON/);
  });

  it('a meter-usage product needs allowMeterUsage, which adds MeterUsage to the policy', () => {
    const meterUsage = [{ ...products[1], meteringApi: 'meter-usage' }];
    expect(problemsOf({ integration: rawIntegration(), service: rawService({ products: meterUsage }) }).join('\n')).toMatch(
      /efgh5678secondproduct use meteringApi meter-usage: set integration\.allowMeterUsage to true/,
    );
    expect(
      parseSettings({ integration: rawIntegration({ allowMeterUsage: true }), service: rawService({ products: meterUsage }) }).service,
    ).toBeDefined();
  });
});
