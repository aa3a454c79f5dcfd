import { createHash } from 'node:crypto';
import { ConfigError, LOCAL_DEV_API_KEY, loadConfig } from '../../src/config';

const product = { code: 'prod-code-1', name: 'P', pricingModel: 'subscription', dimensions: [{ name: 'calls' }] };

function problemsOf(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('config', () => {
  it('starts with embedded defaults: SQLite under ./data, simulator mode, demo products, local API key', () => {
    const config = loadConfig({});
    expect(config.mode).toBe('simulator');
    expect(config.database).toEqual({ kind: 'sqlite', path: './data/marketplace-bridge.sqlite' });
    expect(config.products.length).toBeGreaterThan(0);
    expect(config.apiKeys[0]?.sha256.equals(createHash('sha256').update(LOCAL_DEV_API_KEY).digest())).toBe(true);
    expect(config.registration.path).toBe('/marketplace/register');
    expect(config.notices.join(' ')).toMatch(/SESSION_SECRET/);
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('production defaults to AWS mode and then requires a secret, a support address, keys and products', () => {
    const problems = problemsOf({ NODE_ENV: 'production' });
    expect(problems.join('\n')).toMatch(/SESSION_SECRET: required/);
    expect(problems.join('\n')).toMatch(/SUPPORT_EMAIL: required/);
    expect(problems.join('\n')).toMatch(/API_KEYS \/ API_KEY_SHA256/);
    expect(problems.join('\n')).toMatch(/MARKETPLACE_PRODUCTS: required/);
  });

  it('reports every bad value at once, with the name, the problem and what was given', () => {
    const problems = problemsOf({
      PORT: 'eighty',
      LOG_LEVEL: 'loud',
      DATABASE_URL: 'mysql://x',
      AWS_REGION: 'mars',
      SESSION_SECRET: 'short',
      MARKETPLACE_PRODUCTS: '[',
    });
    const text = problems.join('\n');
    expect(text).toMatch(/^PORT: .*\(got "eighty"\)/m);
    expect(text).toMatch(/^LOG_LEVEL: /m);
    expect(text).toMatch(/^DATABASE_URL: .*postgres:\/\//m);
    expect(text).toMatch(/^AWS_REGION: .*us-east-1/m);
    expect(text).toMatch(/^SESSION_SECRET: .*hidden value of 5 characters/m);
    expect(text).not.toMatch(/"short"/);
    expect(text).toMatch(/^MARKETPLACE_PRODUCTS: not valid JSON/m);
    expect(problems.length).toBeGreaterThanOrEqual(6);
  });

  it('CONTRACT_ENDING_SOON_DAYS: 60,30,7 by default, largest first; empty turns the alerts off; garbage is refused by name', () => {
    expect(loadConfig({}).contracts.endingSoonDays).toEqual([60, 30, 7]);
    expect(loadConfig({ CONTRACT_ENDING_SOON_DAYS: ' 7, 90 ,30' }).contracts.endingSoonDays).toEqual([90, 30, 7]);
    expect(loadConfig({ CONTRACT_ENDING_SOON_DAYS: '' }).contracts.endingSoonDays).toEqual([]);
    for (const [value, why] of [
      ['sixty', /comma-separated/],
      ['60;30', /comma-separated/],
      ['60,,7', /comma-separated/],
      ['-7', /comma-separated/],
      ['7.5', /comma-separated/],
      ['0,30', /1 to 3650/],
      ['4000', /1 to 3650/],
      ['30,30', /appears once/],
    ] as const) {
      const text = problemsOf({ CONTRACT_ENDING_SOON_DAYS: value }).join('\n');
      expect({ value, text }).toEqual({
        value,
        text: expect.stringMatching(new RegExp(`^CONTRACT_ENDING_SOON_DAYS: .*${why.source}`, 'm')),
      });
    }
  });

  it('one bad value does not hide the variables the mode requires', () => {
    const text = problemsOf({ MARKETPLACE_MODE: 'aws', PORT: 'abc' }).join('\n');
    expect(text).toMatch(/^PORT: /m);
    expect(text).toMatch(/^SESSION_SECRET: required/m);
    expect(text).toMatch(/^SUPPORT_EMAIL: required/m);
    expect(text).toMatch(/API_KEYS \/ API_KEY_SHA256/);
    expect(text).toMatch(/^MARKETPLACE_PRODUCTS: required/m);
  });

  it('validates products: duplicate codes and dimensions, bad pricing models, overage outside contracts', () => {
    const problems = problemsOf({
      MARKETPLACE_PRODUCTS: JSON.stringify([
        { ...product, dimensions: [{ name: 'a' }, { name: 'a', aggregation: 'overage' }] },
        { ...product, pricingModel: 'free' },
      ]),
    });
    const text = problems.join('\n');
    expect(text).toMatch(/dimension "a" is listed twice/);
    expect(text).toMatch(/overage needs pricingModel contract-with-consumption/);
    expect(text).toMatch(/at 1\.pricingModel/);
  });

  it('reads postgres and sqlite URLs, products from JSON, hashed and plain API keys', () => {
    const hashed = createHash('sha256').update('k'.repeat(32)).digest('hex');
    const config = loadConfig({
      DATABASE_URL: 'postgres://u@127.0.0.1:5432/db',
      MARKETPLACE_PRODUCTS: JSON.stringify([product]),
      API_KEYS: `app=${'x'.repeat(24)}`,
      API_KEY_SHA256: `ops=${hashed}`,
      REGISTRATION_PATH: '/aws/landing',
    });
    expect(config.database).toEqual({ kind: 'postgres', url: 'postgres://u@127.0.0.1:5432/db' });
    expect(config.products[0]).toMatchObject({ code: 'prod-code-1', identity: 'license', meteringApi: 'batch' });
    expect(config.products[0]?.dimensions[0]).toMatchObject({ name: 'calls', aggregation: 'sum', heartbeat: true });
    expect(config.apiKeys.map((k) => k.name)).toEqual(['app', 'ops']);
    expect(config.registration.path).toBe('/aws/landing');
    expect(loadConfig({ DATABASE_URL: 'sqlite:/tmp/x.sqlite' }).database).toEqual({ kind: 'sqlite', path: '/tmp/x.sqlite' });
  });

  it('refuses short API keys and malformed hashes without echoing them', () => {
    const text = problemsOf({ API_KEYS: 'app=short', API_KEY_SHA256: 'ops=nothex' }).join('\n');
    expect(text).toMatch(/API_KEYS: entry 1 \("app"\) is too short/);
    expect(text).toMatch(/API_KEY_SHA256: entry 1 \("ops"\) is not a SHA-256 in hex/);
    expect(text).not.toMatch(/short\b(?! \()/);
  });
});
