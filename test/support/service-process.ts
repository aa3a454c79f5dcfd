import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..');

/** The service as deployed (`src/main.ts`) in a child process of its own, with its output kept. */
export interface ServiceProcess {
  readonly child: ChildProcess;
  /** Every line it printed, stdout and stderr. */
  readonly logs: string[];
  /** Resolves with its base URL once it listens (the port it logged, for PORT=0). */
  readonly ready: Promise<string>;
  readonly exit: Promise<number | null>;
}

/** Starts one service process with only `env` (and PATH) in its environment. */
export function startServiceProcess(env: Record<string, string>): ServiceProcess {
  const child = spawn(process.execPath, ['-r', '@swc-node/register', join(ROOT, 'src', 'main.ts')], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: string[] = [];
  let ready: (url: string) => void = () => undefined;
  const readyP = new Promise<string>((r) => (ready = r));
  child.stdout!.on('data', (d: Buffer) => {
    for (const line of d.toString('utf8').split('\n').filter(Boolean)) {
      logs.push(line);
      if (line.includes('marketplace-bridge listening')) {
        const port = /"port":(\d+)/.exec(line)?.[1];
        if (port) ready(`http://127.0.0.1:${port}`);
      }
    }
  });
  child.stderr!.on('data', (d: Buffer) => logs.push(d.toString('utf8')));
  const exit = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  return { child, logs, ready: readyP, exit };
}
