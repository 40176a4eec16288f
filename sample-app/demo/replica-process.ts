import { spawn, type ChildProcess } from 'node:child_process';
import { Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { setTimeout as delay } from 'node:timers/promises';

/** The compiled sample app, next to this file's directory: `dist/sample-app/main.js`. */
export const SAMPLE_APP_MAIN = fileURLToPath(new URL('../main.js', import.meta.url));

const LOG_TAIL_CHARS = 6_000;
const HEALTH_POLL_MS = 100;
const HEALTH_PROBE_TIMEOUT_MS = 2_000;

/** How to start one replica of the sample app. */
export interface ReplicaOptions {
  /** `REPLICA_ID`, e.g. `'replica-1'`. */
  readonly id: string;
  /** Port on 127.0.0.1. */
  readonly port: number;
  /** etcd client URLs. */
  readonly endpoints: readonly string[];
  /** Lock namespace, shared by the replicas of one app. */
  readonly namespace: string;
  /** More environment for the app (decorator settings such as `GRAB_LOCK_TTL_SECONDS`). */
  readonly env?: Readonly<Record<string, string>>;
  /** @default {@link SAMPLE_APP_MAIN} */
  readonly main?: string;
}

/** How a replica process ended. */
export interface ReplicaExit {
  /** Exit code, or null when killed by a signal. */
  readonly code: number | null;
  /** The signal that killed it, or null. */
  readonly signal: NodeJS.Signals | null;
}

/**
 * One sample-app replica as a child process (`node dist/sample-app/main.js`) on 127.0.0.1, with
 * its output kept for error reports. A watchdog kills it if this process dies without cleaning up.
 */
export class ReplicaProcess {
  /** Base URL, e.g. `http://127.0.0.1:41234`. */
  readonly url: string;
  /** Resolves when the process has exited. */
  readonly exited: Promise<ReplicaExit>;
  readonly #child: ChildProcess;
  readonly #watchdog: ChildProcess | undefined;
  #log = '';
  #exit: ReplicaExit | undefined;

  private constructor(readonly options: ReplicaOptions) {
    this.url = `http://127.0.0.1:${options.port}`;
    this.#child = spawn(process.execPath, [options.main ?? SAMPLE_APP_MAIN], {
      env: {
        ...process.env,
        ZZLOCK_ENDPOINTS: options.endpoints.join(','),
        ZZLOCK_NAMESPACE: options.namespace,
        HOST: '127.0.0.1',
        PORT: String(options.port),
        REPLICA_ID: options.id,
        NO_COLOR: '1',
        ...options.env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    for (const stream of [this.#child.stdout, this.#child.stderr]) {
      stream?.setEncoding('utf8');
      stream?.on('data', (chunk: string) => {
        this.#log = (this.#log + chunk).slice(-LOG_TAIL_CHARS);
      });
    }
    this.exited = new Promise((resolve) => {
      this.#child.once('exit', (code, signal) => {
        this.#exit = { code, signal };
        this.#watchdog?.kill('SIGKILL');
        resolve(this.#exit);
      });
      this.#child.once('error', (error) => {
        this.#log += `\n[failed to start: ${error.message}]`;
        this.#exit ??= { code: null, signal: null };
        resolve(this.#exit);
      });
    });
    this.#watchdog = this.#child.pid === undefined ? undefined : spawnWatchdog(this.#child.pid);
  }

  /** Starts a replica; call {@link waitUntilHealthy} before sending it work. */
  static start(options: ReplicaOptions): ReplicaProcess {
    return new ReplicaProcess(options);
  }

  /** The replica's `REPLICA_ID`. */
  get id(): string {
    return this.options.id;
  }

  /** Process id while it runs. */
  get pid(): number | undefined {
    return this.#exit === undefined ? this.#child.pid : undefined;
  }

  /** True until the process has exited. */
  get alive(): boolean {
    return this.#exit === undefined;
  }

  /** How it ended, once it has. */
  get exit(): ReplicaExit | undefined {
    return this.#exit;
  }

  /** The last few kB of its stdout and stderr. */
  get logTail(): string {
    return this.#log;
  }

  /**
   * Polls `GET /health` until it answers 200, for at most `timeoutMs`.
   * @returns the health report (JSON)
   * @throws when the process exits first or the deadline passes, with its log tail
   */
  async waitUntilHealthy(timeoutMs: number): Promise<unknown> {
    const deadline = Date.now() + timeoutMs;
    let last = 'no answer yet';
    while (Date.now() < deadline) {
      if (!this.alive) {
        throw new Error(
          `${this.id} exited (${describeExit(this.#exit)}) before it was healthy.\n${this.#tail()}`,
        );
      }
      try {
        const response = await fetch(`${this.url}/health`, {
          signal: AbortSignal.timeout(HEALTH_PROBE_TIMEOUT_MS),
        });
        const body: unknown = await response.json().catch(() => undefined);
        if (response.status === 200) return body;
        last = `HTTP ${response.status} ${JSON.stringify(body)}`;
      } catch (error) {
        last = error instanceof Error ? error.message : String(error);
      }
      await delay(HEALTH_POLL_MS);
    }
    throw new Error(
      `${this.id} was not healthy within ${timeoutMs} ms (last: ${last}).\n${this.#tail()}`,
    );
  }

  /** Sends `signal` (SIGKILL by default) and waits until the process has exited. */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<ReplicaExit> {
    if (this.alive) this.#child.kill(signal);
    return this.exited;
  }

  /**
   * Stops it gracefully (SIGTERM: the app releases its locks and revokes its leases), then
   * SIGKILL if it has not exited within `graceMs`.
   */
  async stop(graceMs = 5_000): Promise<ReplicaExit> {
    if (!this.alive) return this.exited;
    this.#child.kill('SIGTERM');
    const timeout = new AbortController();
    const exited = await Promise.race([
      this.exited.then(() => true),
      delay(graceMs, false, { signal: timeout.signal }).catch(() => false),
    ]);
    timeout.abort();
    return exited ? this.exited : this.kill('SIGKILL');
  }

  #tail(): string {
    const tail = this.#log.trim();
    return tail === ''
      ? `(${this.id} printed nothing)`
      : `--- ${this.id} output (tail) ---\n${tail}`;
  }
}

/** "exit code 1", "signal SIGKILL". */
export function describeExit(exit: ReplicaExit | undefined): string {
  if (exit === undefined) return 'running';
  return exit.signal === null ? `exit code ${exit.code}` : `signal ${exit.signal}`;
}

/**
 * A `sh` blocked reading a pipe only this process holds: when this process dies in any way (even
 * SIGKILL) the pipe closes and it SIGKILLs the replica, so no replica outlives its orchestrator.
 */
function spawnWatchdog(pid: number): ChildProcess {
  const watchdog = spawn(
    '/bin/sh',
    ['-c', 'read _ignored; kill -KILL "$1" 2>/dev/null', 'zzlock-replica-watchdog', String(pid)],
    {
      stdio: ['pipe', 'ignore', 'ignore'],
    },
  );
  watchdog.on('error', () => undefined);
  watchdog.stdin?.on('error', () => undefined);
  watchdog.unref();
  if (watchdog.stdin instanceof Socket) watchdog.stdin.unref();
  return watchdog;
}
