import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { waitFor } from '../support/index.js';
import { npmEnv } from './packed-tarball.js';

/** An installed app's server, running in its own process. */
export interface AppProcess {
  readonly child: ChildProcess;
  /** The port from its `READY <port>` line. */
  readonly port: number;
  /** Every stdout line so far. */
  readonly lines: string[];
  /** stderr so far (Nest's error and warning logs). */
  stderr(): string;
  /** SIGTERM, then how it ended (SIGKILL after `timeoutMs`). */
  stop(timeoutMs?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * Starts `node <script>` in `cwd` and waits for its `READY <port>` line (`ready`). Stop it in
 * `after()`.
 * @example
 * const app = await startApp(project.dir, 'dist/main.js', { ZZ_ENDPOINTS }, /^READY (\d+)$/);
 */
export async function startApp(
  cwd: string,
  script: string,
  env: Record<string, string>,
  ready: RegExp,
  readyTimeoutMs = 30_000,
): Promise<AppProcess> {
  const child = spawn(process.execPath, [script], {
    cwd,
    env: npmEnv(env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  const lines: string[] = [];
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  createInterface({ input: child.stdout! }).on('line', (line) => lines.push(line));
  const app: AppProcess = {
    child,
    get port() {
      const line = lines.find((candidate) => ready.test(candidate));
      return line === undefined ? 0 : Number(ready.exec(line)![1]);
    },
    lines,
    stderr: () => stderr,
    async stop(timeoutMs = 15_000) {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const killer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
        await exited;
        clearTimeout(killer);
      }
      return { code: child.exitCode, signal: child.signalCode };
    },
  };
  try {
    await waitFor(
      `${script} to print READY`,
      () => {
        if (child.exitCode !== null || child.signalCode !== null) {
          throw new Error(`${script} exited (${child.exitCode ?? child.signalCode}):\n${stderr}`);
        }
        return app.port > 0;
      },
      readyTimeoutMs,
    );
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
  return app;
}
