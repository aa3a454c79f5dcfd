import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { chromium, type Browser, type Page } from 'playwright-core';
import { announceSkip } from '../support/skip-notice';
import { until } from '../support/until';

const CHROMIUM = '/usr/bin/chromium';
const ROOT = join(__dirname, '..', '..');
const ARTEFACTS = join(ROOT, 'test-artefacts');
const LOCAL_KEY = 'local-dev-api-key-change-me';
const available = existsSync(CHROMIUM);
if (!available) announceSkip(`browser suite did not run: ${CHROMIUM} is missing (apt-get install chromium; CI installs it)`);

/** `n` distinct free ports: every socket is held open until all are bound, so no port is handed out twice. */
async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<ReturnType<typeof createServer>>((resolve, reject) => {
          const s = createServer();
          s.once('error', reject);
          s.listen(0, '127.0.0.1', () => resolve(s));
        }),
    ),
  );
  const ports = servers.map((s) => (s.address() as { port: number }).port);
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  return ports;
}

/**
 * The whole demo as a newcomer runs it: the service started as `npm start` starts it (simulator
 * mode, embedded simulator, demo clock), driven by Debian's Chromium at phone width.
 */
(available ? describe : describe.skip)('console journey in a browser (Chromium, 390 px)', () => {
  let service: ChildProcess;
  let output = '';
  let browser: Browser;
  let page: Page;
  let base: string;
  let sim: string;
  let dbPath: string;

  beforeAll(async () => {
    const [port, simPort] = (await freePorts(2)) as [number, number];
    base = `http://127.0.0.1:${port}`;
    dbPath = join(mkdtempSync(join(tmpdir(), 'mb-browser-')), 'demo.sqlite');
    sim = `http://127.0.0.1:${simPort}`;
    service = spawn(process.execPath, ['-r', '@swc-node/register', join(ROOT, 'src', 'main.ts')], {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH,
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
        MARKETPLACE_MODE: 'simulator',
        PORT: String(port),
        SIMULATOR_PORT: String(simPort),
        DATABASE_URL: `sqlite:${dbPath}`,
        LOG_LEVEL: 'info',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    service.stdout!.on('data', (d: Buffer) => (output += d.toString()));
    service.stderr!.on('data', (d: Buffer) => (output += d.toString()));
    try {
      await until(
        'the service to listen',
        async () => {
          if (service.exitCode !== null) throw new Error('the service exited');
          return (await fetch(`${base}/healthz`).catch(() => undefined))?.ok || undefined;
        },
        {
          timeoutMs: 60_000,
          intervalMs: 200,
        },
      );
    } catch (error) {
      throw new Error(`${(error as Error).message}; exit code ${String(service.exitCode)}; its output:\n${output.slice(-4000)}`, {
        cause: error,
      });
    }
    mkdirSync(ARTEFACTS, { recursive: true });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
      ],
    });
    // A new context is a fresh profile: no cookies, no cache.
    const context = await browser.newContext({ viewport: { width: 390, height: 844 } });
    page = await context.newPage();
  }, 90_000);

  afterAll(async () => {
    await browser?.close();
    if (service && service.exitCode === null) {
      service.kill('SIGTERM');
      await new Promise((r) => service.once('exit', r));
    }
  });

  const shot = (name: string) => page.screenshot({ path: join(ARTEFACTS, `console-journey-${name}.png`), fullPage: true });

  it('prints the demo login at start-up', () => {
    const messages = output
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => (JSON.parse(l) as { msg?: string }).msg);
    expect(messages).toContain(`Console: open /admin and sign in with the API key "${LOCAL_KEY}" (demo login, simulator mode only).`);
  });

  it('buyer: subscribes on the simulator, fills in the sign-up form, and becomes active', async () => {
    await page.goto(`${sim}/simulator`);
    await page
      .locator('form[action="/simulator/ui/subscribe"]')
      .filter({ has: page.locator('input[value="demo-saas-subscription"]') })
      .getByRole('button', { name: 'Subscribe as a new buyer' })
      .click();
    await page.waitForURL(/\/marketplace\/onboarding/, { timeout: 20_000 });
    await page.getByLabel('Work email').fill('buyer@example.com');
    await page.getByLabel('Company').fill('Buyer Co');
    await page.getByLabel('Your name').fill('Bea Buyer');
    await page.getByRole('button', { name: 'Create account' }).click();
    await page.waitForURL(/saved=1/);
    await until(
      'the subscription to be active',
      async () => {
        await page.reload();
        return (await page.locator('#subscription-status').getAttribute('data-status')) === 'active' || undefined;
      },
      { timeoutMs: 30_000, intervalMs: 500 },
    );
    await shot('1-buyer-onboarded');
  }, 60_000);

  let customerUrl = '';

  it('seller: signs in with the demo key and finds the buyer on the customer page', async () => {
    await page.goto(`${base}/admin`);
    await page.waitForURL(/\/admin\/login$/);
    expect(await page.locator('.notice').textContent()).toContain(LOCAL_KEY);
    await page.getByLabel('API key with the admin scope').fill(LOCAL_KEY);
    await page.getByRole('button', { name: 'Sign in with an API key' }).click();
    await page.waitForURL(new RegExp(`${base}/admin$`));
    expect(await page.locator('h1').textContent()).toBe('Overview');
    // The subscription's notification came through the subscription queue: its health says when.
    const queue = await page
      .locator('tr')
      .filter({ has: page.locator('td', { hasText: /^subscription$/ }) })
      .locator('td')
      .allTextContents();
    expect(queue[1]).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}$/);
    await shot('2-overview');
    await page.getByRole('link', { name: 'Customers' }).click();
    await page.locator('table a.mono').first().click();
    await page.waitForURL(/\/admin\/customers\/[^/?]+$/);
    customerUrl = page.url();
    const text = (await page.locator('main').textContent()) ?? '';
    expect(text).toContain('buyer@example.com');
    expect(text).toContain('demo-saas-subscription');
    expect(await page.locator('h1 .state').textContent()).toBe('active');
    await shot('3-customer');
  }, 30_000);

  it('seller: after usage and one hour on the demo clock, the grid shows the billed record', async () => {
    const customerId = customerUrl.split('/').pop()!;
    const usage = await fetch(`${base}/v1/usage`, {
      method: 'POST',
      headers: { authorization: `Bearer ${LOCAL_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        records: [
          { customer: customerId, dimension: 'api_calls', quantity: 42, timestamp: new Date().toISOString(), idempotencyKey: 'browser-1' },
        ],
      }),
    });
    expect((await usage.json()) as unknown).toMatchObject({ accepted: 1 });
    // Before: the hour is open, nothing billed yet.
    const advance = await fetch(`${sim}/simulator/api/clock/advance`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ hours: 1 }),
    });
    expect(advance.status).toBe(200);
    const row = await until(
      'the billed row on the customer page',
      async () => {
        await page.goto(customerUrl);
        const rows = page.locator('tr', { hasText: 'api_calls' }).filter({ hasText: 'accepted' });
        return (await rows.count()) > 0 ? rows.first() : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 500 },
    );
    const cells = await row.locator('td').allTextContents();
    expect(cells[2]).toBe('42'); // raw usage
    expect(cells[4]).toBe('42'); // billed
    expect(cells[6]).toMatch(/\S{8,}/); // AWS MeteringRecordId
    await shot('4-billed-grid');
  }, 60_000);

  it('seller: a failed record on the problems page, its support report, and Retry', async () => {
    // A record AWS refused, as the emitter leaves it (a 400 on BatchMeterUsage is not something the
    // simulator can be asked for): the hour's other dimension, written straight into the store.
    const customerId = customerUrl.split('/').pop()!;
    const db = new Database(dbPath);
    try {
      const changed = db
        .prepare(
          `update meter_buckets set state = 'failed', last_error = 'InvalidUsageDimensionException: active_users is not on the listing',
             aws_request_id = 'req-browser-1', aws_http_status = 400, aws_operation = 'BatchMeterUsage', last_error_at = updated_at
           where customer_id = ? and dimension = 'active_users'`,
        )
        .run(customerId).changes;
      expect(changed).toBe(1);
    } finally {
      db.close();
    }
    await page.goto(`${base}/admin/problems`);
    const report = (await page.locator('pre.report').first().textContent()) ?? '';
    expect(report).toContain('AWS request id: req-browser-1');
    expect(report).toContain('HTTP status: 400');
    expect(report).toContain('Dimension: active_users');
    await shot('5-problems');
    page.once('dialog', (d) => void d.accept());
    await page.getByRole('button', { name: 'Retry' }).first().click();
    await page.waitForURL(/done=retried/);
    expect(await page.locator('.notice').textContent()).toContain('queued again');
    await shot('6-problems-retried');
  }, 30_000);

  it('seller: the problems and notifications pages render at 390 px without horizontal overflow', async () => {
    for (const [path, name] of [
      ['/admin/problems', '7-problems-after-retry'],
      ['/admin/notifications', '8-notifications'],
    ] as const) {
      await page.goto(`${base}${path}`);
      expect(await page.locator('h1').textContent()).toBeTruthy();
      const overflow = Number(await page.evaluate('document.documentElement.scrollWidth - document.documentElement.clientWidth'));
      expect({ path, overflow }).toEqual({ path, overflow: 0 });
      await shot(name);
    }
    await page.goto(`${base}/admin`);
    expect((await page.locator('svg.chart').count()) + (await page.getByText('Nothing billed').count())).toBeGreaterThan(0);
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL(/\/admin\/login$/);
  }, 30_000);
});
