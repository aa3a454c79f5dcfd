import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..');

/** The service as `npm start` runs it (simulator mode, its own SQLite file and ports). */
function startService(env: Record<string, string>): {
  child: ChildProcess;
  logs: string[];
  port: Promise<number>;
  exit: Promise<number | null>;
} {
  const dir = mkdtempSync(join(tmpdir(), 'mb-shutdown-'));
  const child = spawn(process.execPath, ['-r', '@swc-node/register', join(ROOT, 'src', 'main.ts')], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      PORT: '0',
      SIMULATOR_PORT: '0',
      DATABASE_URL: `sqlite:${join(dir, 'db.sqlite')}`,
      LOG_LEVEL: 'info',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: string[] = [];
  let resolvePort: (p: number) => void = () => undefined;
  const port = new Promise<number>((r) => (resolvePort = r));
  child.stdout!.on('data', (d: Buffer) => {
    for (const line of d.toString('utf8').split('\n').filter(Boolean)) {
      logs.push(line);
      if (line.includes('marketplace-bridge listening')) resolvePort((JSON.parse(line) as { port: number }).port);
    }
  });
  child.stderr!.on('data', (d: Buffer) => logs.push(d.toString('utf8')));
  const exit = new Promise<number | null>((r) =>
    child.on('exit', (code) => {
      rmSync(dir, { recursive: true, force: true });
      r(code);
    }),
  );
  return { child, logs, port, exit };
}

describe('stopping the service', () => {
  jest.setTimeout(60_000);

  it('SIGTERM: stops taking requests, finishes, exits 0', async () => {
    const s = startService({});
    const port = await s.port;
    expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
    const started = Date.now();
    s.child.kill('SIGTERM');
    expect(await s.exit).toBe(0);
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(s.logs.join('\n')).toMatch(/"msg":"stopped"/);
  });

  it('a request still in flight holds the stop until the deadline; a second signal exits at once', async () => {
    const s = startService({ SHUTDOWN_TIMEOUT_SECONDS: '30' });
    const port = await s.port;
    // A request whose body never finishes: the server waits for it.
    const socket = connect(port, '127.0.0.1');
    socket.on('error', () => undefined);
    socket.write(
      'POST /v1/usage HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer local-dev-api-key-change-me\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{',
    );
    await new Promise((r) => setTimeout(r, 300));
    s.child.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 1_500));
    expect(s.child.exitCode).toBeNull(); // still draining
    const second = Date.now();
    s.child.kill('SIGTERM');
    expect(await s.exit).toBe(1);
    expect(Date.now() - second).toBeLessThan(3_000);
    expect(s.logs.join('\n')).toMatch(/second signal: exiting now/);
    socket.destroy();
  });

  it('exits 1 when the graceful stop outlasts SHUTDOWN_TIMEOUT_SECONDS', async () => {
    const s = startService({ SHUTDOWN_TIMEOUT_SECONDS: '2' });
    const port = await s.port;
    const socket = connect(port, '127.0.0.1');
    socket.on('error', () => undefined);
    socket.write('POST /v1/usage HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{');
    await new Promise((r) => setTimeout(r, 300));
    const started = Date.now();
    s.child.kill('SIGTERM');
    expect(await s.exit).toBe(1);
    expect(Date.now() - started).toBeLessThan(8_000);
    expect(s.logs.join('\n')).toMatch(/graceful stop took too long/);
    socket.destroy();
  });
});
