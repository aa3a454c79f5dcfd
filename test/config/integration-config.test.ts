import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig } from '../../src/config';
import { generateWebhookSecret } from '../../src/webhooks/webhook-signature';

const product = { code: 'prod-code-1', name: 'P', pricingModel: 'subscription', dimensions: [{ name: 'calls' }] };
const aws = {
  MARKETPLACE_MODE: 'aws',
  SESSION_SECRET: 'x'.repeat(40),
  SUPPORT_EMAIL: 'help@seller.example',
  API_KEYS: 'app=0123456789abcdef0123',
  MARKETPLACE_PRODUCTS: JSON.stringify([product]),
};
const pem = (type: 'ec' | 'rsa' | 'ed25519', opts: object = {}) =>
  generateKeyPairSync(type as 'ec', opts as { namedCurve: string })
    .privateKey.export({ type: 'pkcs8', format: 'pem' })
    .toString();
const P256 = pem('ec', { namedCurve: 'prime256v1' });
const secret = generateWebhookSecret();

function problemsOf(env: Record<string, string>): string {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems.join('\n');
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('config: webhooks, the sign-in hand-off, the sign-up form', () => {
  it('reads WEBHOOK_ENDPOINTS and the dispatcher settings, with defaults', () => {
    const c = loadConfig({
      ...aws,
      WEBHOOK_ENDPOINTS: JSON.stringify([
        { name: 'app', url: 'https://app.example.com/hooks', secret, eventTypes: ['customer.activated'] },
        { name: 'ops', url: 'https://hooks.slack.com/services/x', kind: 'slack' },
      ]),
    });
    expect(c.webhooks).toMatchObject({
      enabled: true,
      timeoutMs: 10_000,
      retryWindowHours: 72,
      disableAfterHours: 24,
      pollMs: 1000,
      concurrency: 8,
      allowLocalTargets: false,
    });
    expect(c.webhooks.endpoints.map((e) => [e.name, e.kind])).toEqual([
      ['app', 'standard'],
      ['ops', 'slack'],
    ]);
    expect(loadConfig({}).webhooks.allowLocalTargets).toBe(true);
  });

  it.each([
    ['not json', /WEBHOOK_ENDPOINTS: not valid JSON/],
    ['{"name":"a"}', /WEBHOOK_ENDPOINTS: at \(top\): /],
    [JSON.stringify([{ name: 'a', url: 'https://a.example.com/' }]), /endpoint 0 \("a"\): secret is required/],
    [JSON.stringify([{ name: 'a', url: 'https://a.example.com/', secret: 'hunter2' }]), /secret: expected whsec_ followed by base64/],
    [JSON.stringify([{ name: 'a', url: 'https://a.example.com/', secret: 'whsec_AAAA' }]), /expected 24 to 64 bytes/],
    [JSON.stringify([{ name: 'a', url: 'http://a.example.com/', secret }]), /url must be an https: URL/],
    [JSON.stringify([{ name: 'a', url: 'https://169.254.169.254/', secret }]), /url names 169\.254\.169\.254, a link-local address/],
    [JSON.stringify([{ name: 'a', url: 'https://a.example.com/', secret, eventTypes: ['customer.exploded'] }]), /eventTypes\.0/],
    [JSON.stringify([{ name: 'a', url: 'https://a.example.com/', secret, colour: 'red' }]), /colour/],
    [JSON.stringify([{ name: 'a b', url: 'https://a.example.com/', secret }]), /name/],
    [JSON.stringify([{ name: 's', url: 'https://hooks.slack.com/x', kind: 'slack', secret }]), /a slack endpoint is not signed/],
    [
      JSON.stringify([
        { name: 'a', url: 'https://a.example.com/', secret },
        { name: 'a', url: 'https://b.example.com/', secret },
      ]),
      /the name is used twice/,
    ],
  ])('refuses WEBHOOK_ENDPOINTS=%s with a clear problem, never echoing it', (value, problem) => {
    const problems = problemsOf({ ...aws, WEBHOOK_ENDPOINTS: value });
    expect(problems).toMatch(problem);
    expect(problems).not.toContain(secret);
  });

  it('refuses garbage dispatcher settings', () => {
    const problems = problemsOf({
      ...aws,
      WEBHOOK_RETRY_HOURS: '100',
      WEBHOOK_TIMEOUT_SECONDS: '0',
      WEBHOOK_POLL_MS: 'soon',
      WEBHOOKS_ENABLED: 'maybe',
    });
    for (const name of ['WEBHOOK_RETRY_HOURS', 'WEBHOOK_TIMEOUT_SECONDS', 'WEBHOOK_POLL_MS', 'WEBHOOKS_ENABLED'])
      expect(problems).toContain(name);
    expect(problems).toMatch(/at most 72 \(3 days\)/);
  });

  it('requires a hand-off signing key in aws mode with LOGIN_URL, and accepts P-256, Ed25519 and RSA 2048 keys', () => {
    expect(problemsOf({ ...aws, LOGIN_URL: 'https://app.example.com/login' })).toMatch(
      /HANDOFF_SIGNING_KEY: required when MARKETPLACE_MODE=aws and LOGIN_URL is set/,
    );
    for (const [key, alg] of [
      [P256, 'ES256'],
      [pem('ed25519'), 'EdDSA'],
      [pem('rsa', { modulusLength: 2048 }), 'RS256'],
      [P256.replace(/\n/g, '\\n'), 'ES256'],
    ] as const) {
      const c = loadConfig({ ...aws, LOGIN_URL: 'https://app.example.com/login', HANDOFF_SIGNING_KEY: key });
      expect(c.handoff.key.alg).toBe(alg);
      expect(c.handoff.audience).toBe('https://app.example.com');
    }
    const dir = mkdtempSync(join(tmpdir(), 'mb-key-'));
    writeFileSync(join(dir, 'key.pem'), P256);
    expect(
      loadConfig({
        ...aws,
        LOGIN_URL: 'https://app.example.com/login',
        HANDOFF_SIGNING_KEY_FILE: join(dir, 'key.pem'),
        HANDOFF_AUDIENCE: 'my-app',
      }).handoff.audience,
    ).toBe('my-app');
  });

  it.each([
    ['garbage', /not a PEM private key/],
    [pem('ec', { namedCurve: 'secp384r1' }), /an ec key on secp384r1; expected EC P-256, Ed25519 or RSA/],
    [pem('rsa', { modulusLength: 1024 }), /a rsa key of 1024 bits/],
  ])('refuses the hand-off key %#', (key, problem) => {
    const problems = problemsOf({ ...aws, LOGIN_URL: 'https://app.example.com/login', HANDOFF_SIGNING_KEY: key });
    expect(problems).toMatch(problem);
    expect(problems).not.toContain('PRIVATE KEY-----\nMI');
  });

  it('simulator mode makes a key of its own and says so; ONBOARDING_FORM=false needs LOGIN_URL', () => {
    const c = loadConfig({ LOGIN_URL: 'http://127.0.0.1:4000/login' });
    expect(c.handoff.key.alg).toBe('ES256');
    expect(c.notices.join('\n')).toMatch(/HANDOFF_SIGNING_KEY is not set/);
    expect(problemsOf({ ONBOARDING_FORM: 'false' })).toMatch(/ONBOARDING_FORM: false sends buyers straight to LOGIN_URL, which is not set/);
    expect(loadConfig({ ONBOARDING_FORM: 'false', LOGIN_URL: 'http://127.0.0.1:4000/login' }).onboarding.formEnabled).toBe(false);
    expect(problemsOf({ ...aws, HANDOFF_SIGNING_KEY: P256, HANDOFF_SIGNING_KEY_FILE: '/x' })).toMatch(/set one of them, not both/);
  });
});
