// Shared helpers of the Nest tests: bounded polling, etcd leftovers, and fixture app processes.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { LoggerService } from '@nestjs/common';

export { leftovers, waitFor } from '../support/index.js';

/**
 * A Nest logger that keeps warnings (as `context: message`) and drops everything else: pass it
 * as `NestFactory.create(…, { logger })` to assert on zzlock's warnings.
 */
export class WarningRecorder implements LoggerService {
  readonly warnings: string[] = [];

  warn(message: unknown, context?: string): void {
    this.warnings.push(`${context ?? ''}: ${String(message)}`);
  }
  log(): void {}
  error(): void {}
  debug(): void {}
  verbose(): void {}
  fatal(): void {}
}

/** A Nest fixture app running in its own process. */
export interface FixtureProcess {
  readonly child: ChildProcess;
  /** The HTTP port it listens on. */
  readonly port: number;
  /** Every stdout line so far. */
  readonly lines: string[];
  /** stderr so far (Nest's error logs). */
  stderr(): string;
  /** SIGTERM, then the exit code (SIGKILL after `timeoutMs`, then the code is `null`). */
  stop(timeoutMs?: number): Promise<number | null>;
}

/**
 * Starts `dist/test/nest/fixtures/<name>.js` with `env` and waits for its `READY <port>` line.
 * Register `stop()` in `after()`.
 */
export async function startFixture(
  name: string,
  env: Record<string, string>,
  readyTimeoutMs = 20_000,
): Promise<FixtureProcess> {
  const script = fileURLToPath(new URL(`./fixtures/${name}.js`, import.meta.url));
  const child = spawn(process.execPath, [script], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  let port = 0;
  const ready = new Promise<void>((resolve, reject) => {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      lines.push(line);
      const match = /^READY (\d+)$/.exec(line);
      if (match) {
        port = Number(match[1]);
        resolve();
      }
    });
    void exited.then(([code, signal]) =>
      reject(new Error(`fixture ${name} exited (${code ?? signal}) before READY:\n${stderr}`)),
    );
  });
  ready.catch(() => undefined);
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`fixture ${name} not READY in ${readyTimeoutMs} ms:\n${stderr}`)),
      readyTimeoutMs,
    );
  });
  const fixture: FixtureProcess = {
    child,
    get port() {
      return port;
    },
    lines,
    stderr: () => stderr,
    async stop(timeoutMs = 15_000) {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      const [code] = await exited;
      clearTimeout(killer);
      return code;
    },
  };
  try {
    await Promise.race([ready, timeout]);
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  } finally {
    clearTimeout(timer);
  }
  return fixture;
}
