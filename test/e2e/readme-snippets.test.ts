import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { applyTransition, initialSubscriptionState } from '../../src/customers/subscription-state';
import { ALL_SCOPES } from '../../src/platform/api-keys';
import { demoProducts } from '../../src/products/product-config';
import { startHarness, type Harness } from '../support/harness';
import { until } from '../support/until';

const ROOT = join(__dirname, '..', '..');
const LOCAL_KEY = 'local-dev-api-key-change-me';

/** The code blocks of README "Integrate your app", in order. */
function snippets(): Array<{ lang: string; code: string }> {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const section = readme.slice(
    readme.indexOf('## Integrate your app'),
    readme.indexOf('\n## ', readme.indexOf('## Integrate your app') + 5),
  );
  return [...section.matchAll(/```(\w*)\n([\s\S]*?)```/g)].map((m) => ({ lang: m[1]!, code: m[2]! }));
}

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/**
 * README "Integrate your app" runs as written: its TypeScript snippets are the files in
 * examples/snippets, run here as processes, and its shell snippets run with curl, against the
 * service in simulator mode (only the two local ports differ from the demo's 3000 and 4000).
 */
describe('README "Integrate your app" snippets', () => {
  let h: Harness;
  let bridge: Server;
  let bridgeUrl: string;
  let webhookPort: number;
  let loginPort: number;
  const children: ChildProcess[] = [];
  /** Runs a shell snippet (asynchronously: the service answering it lives in this process). */
  const sh = (code: string, env: Record<string, string> = {}) =>
    new Promise<Record<string, unknown>>((resolve, reject) => {
      const script = code.replaceAll('http://127.0.0.1:3000', bridgeUrl).replaceAll('127.0.0.1:4000', `127.0.0.1:${webhookPort}`);
      const child = spawn('bash', ['-c', script], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (err += d.toString()));
      child.on('close', (status) =>
        status === 0 ? resolve(JSON.parse(out) as Record<string, unknown>) : reject(new Error(`snippet failed: ${err}`)),
      );
    });
  const run = (file: string, env: Record<string, string>) => {
    const child = spawn(process.execPath, ['-r', '@swc-node/register', join(ROOT, file)], {
      cwd: ROOT,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    children.push(child);
    return { output: () => out };
  };
  const listening = (port: number) =>
    until(
      `a snippet on port ${port}`,
      () =>
        fetch(`http://127.0.0.1:${port}/`).then(
          () => true,
          () => false,
        ),
      { timeoutMs: 20_000 },
    );

  beforeAll(async () => {
    bridge = createServer();
    await new Promise<void>((r) => bridge.listen(0, '127.0.0.1', r));
    bridgeUrl = `http://127.0.0.1:${(bridge.address() as AddressInfo).port}`;
    webhookPort = await freePort();
    loginPort = await freePort();
    h = await startHarness({
      products: demoProducts,
      env: {
        MARKETPLACE_MODE: 'simulator',
        PUBLIC_URL: bridgeUrl,
        LOGIN_URL: `http://127.0.0.1:${loginPort}/login`,
        API_KEYS: `local(${ALL_SCOPES.join(' ')})=${LOCAL_KEY}`,
      },
    });
    bridge.on('request', h.app);
  });
  afterAll(async () => {
    for (const c of children) c.kill();
    bridge.closeAllConnections();
    await new Promise<void>((r) => bridge.close(() => r()));
    await h.close();
  });

  it('has the TypeScript snippets verbatim from examples/snippets', () => {
    const ts = snippets().filter((s) => s.lang === 'ts');
    expect(ts).toHaveLength(2);
    for (const s of ts) {
      const file = /^\/\/ (examples\/snippets\/[\w-]+\.ts)/.exec(s.code)?.[1];
      expect(file).toBeDefined();
      expect(s.code).toBe(readFileSync(join(ROOT, file!), 'utf8'));
    }
  });

  it('webhooks, linking, access, usage and the hand-off, each as written', async () => {
    const [register, verify, patch, access, usage, handoff] = snippets().filter((s) => s.lang !== '');
    expect([register, verify, patch, access, usage, handoff].map((s) => s!.lang)).toEqual(['sh', 'ts', 'sh', 'sh', 'sh', 'ts']);

    // 1. The endpoint, then the verifying receiver with its secret.
    const endpoint = await sh(register!.code);
    expect(endpoint.secret).toMatch(/^whsec_/);
    const receiver = run('examples/snippets/verify-webhook.ts', { WEBHOOK_SECRET: String(endpoint.secret), APP_PORT: String(webhookPort) });
    await listening(webhookPort);
    const now = h.clock.now();
    const c = await h.container.customers.upsert(
      { productCode: 'demo-saas-subscription', customerIdentifier: 'readme-buyer' },
      new Date(now.getTime() - 60_000),
      { registered: true },
    );
    const active = applyTransition(initialSubscriptionState, { kind: 'subscribe-success', eventTime: new Date(now.getTime() - 60_000) });
    if (active.outcome !== 'applied') throw new Error('not applied');
    await h.db.store.db
      .transaction()
      .execute((tx) => h.container.customers.saveSubscriptionState(tx, c.id, active.state, new Date(now.getTime() - 60_000)));
    await until('both webhooks verified by the snippet', async () => {
      await h.container.webhookDispatcher.runOnce();
      return receiver.output().includes(`customer.activated`);
    });
    expect(receiver.output()).toMatch(new RegExp(`customer.registered evt_\\w+ ${c.id} pending`));
    expect(receiver.output()).toMatch(new RegExp(`customer.activated evt_\\w+ ${c.id} active`));

    // 2-4. Link the tenant, check access, report usage.
    expect(await sh(patch!.code, { CUSTOMER_ID: c.id })).toMatchObject({ id: c.id, externalId: 'tenant-1' });
    expect(await sh(access!.code)).toMatchObject({ allowed: true, reason: 'subscribed', customer: { id: c.id } });
    expect(await sh(usage!.code)).toMatchObject({ accepted: 1, rejected: 0, results: [{ status: 'accepted', customerId: c.id }] });

    // 5. The hand-off: verified with the JWKS, redeemed once.
    run('examples/snippets/handoff-login.ts', { BRIDGE_URL: bridgeUrl, APP_PORT: String(loginPort) });
    await listening(loginPort);
    const { url } = await h.container.handoff.issue((await h.container.customers.findById(c.id))!);
    const first = await fetch(url);
    expect([first.status, await first.text()]).toEqual([200, `Signed in as ${c.id} (no company given)`]);
    expect((await fetch(url)).status).toBe(401);
    expect((await fetch(`http://127.0.0.1:${loginPort}/login?handoff_token=forged`)).status).toBe(401);
  });
});
