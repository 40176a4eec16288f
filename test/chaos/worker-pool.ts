import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';

import { waitFor } from '../support/index.js';
import {
  chaosClockMs,
  type AcquireErrorRecord,
  type GrantRecord,
  type HeldOutcome,
  type KillRecord,
  type PauseRecord,
} from './chaos-history.js';
import type { OrchestratorMessage, WorkerConfig, WorkerMessage } from './worker-protocol.js';

const workerScript = fileURLToPath(new URL('./chaos-worker.js', import.meta.url));
/** Bound for a worker to start, to catch a hold, or to stop cleanly before it is SIGKILLed. */
const WORKER_STEP_TIMEOUT_MS = 15_000;

/** One live worker process. */
interface WorkerProcess {
  readonly slot: number;
  readonly id: string;
  readonly child: ChildProcess;
  readonly exited: Promise<unknown>;
  alive: boolean;
  stopped: boolean;
  /** Grant ids reported `holding`, oldest first. */
  readonly holding: string[];
}

/** Every worker process any pool started and has not seen exit: killed on process exit. */
const livePids = new Set<number>();
let exitHookInstalled = false;

/**
 * The chaos run's worker processes, one per slot, and everything they report: grants (with lost
 * and release times), kills and pauses the pool applied, failed acquisitions. A slot whose worker
 * was SIGKILLed gets a new incarnation with {@link WorkerPool.respawn} (ids `w<slot>.<n>`).
 *
 * @example
 * const pool = new WorkerPool((slot) => ({ ...base, endpoints }));
 * await pool.start(4);
 * const held = await pool.hold(1, 'acct-0', false);
 * await pool.kill(1);
 * await pool.respawn(1);
 * await pool.stopAll();
 */
export class WorkerPool {
  /** Every grant reported, by id. */
  readonly grants = new Map<string, GrantRecord>();
  /** Workers SIGKILLed. */
  readonly kills: KillRecord[] = [];
  /** Workers paused with SIGSTOP (closed spans). */
  readonly pauses: PauseRecord[] = [];
  /** Failed acquisitions. */
  readonly acquireErrors: AcquireErrorRecord[] = [];
  /** Failed calls of the workers' lock clients to etcd, by worker and operation. */
  readonly storeErrors: { worker: string; operation: string; at: number }[] = [];
  /** Process id of every worker this pool started. */
  readonly pids: number[] = [];
  /** What became of held grants' last operations after `proceed`, by grant id. */
  readonly heldWrites = new Map<string, HeldOutcome>();
  readonly #slots: WorkerProcess[] = [];
  readonly #incarnations: number[] = [];
  #pausedAt = new Map<number, number>();

  /** @param configFor The configuration of the worker in a slot, minus its id. */
  constructor(private readonly configFor: (slot: number) => Omit<WorkerConfig, 'id'>) {
    if (!exitHookInstalled) {
      exitHookInstalled = true;
      process.on('exit', () => {
        for (const pid of livePids) {
          try {
            process.kill(pid, 'SIGKILL');
          } catch {
            // already gone
          }
        }
      });
    }
  }

  /** Starts `count` workers (slots 0 … count − 1) and waits until each is ready. */
  async start(count: number): Promise<void> {
    await Promise.all(Array.from({ length: count }, (_, slot) => this.#spawn(slot)));
  }

  /** The id of the worker now in `slot`. */
  id(slot: number): string {
    return this.#slot(slot).id;
  }

  /** Number of slots. */
  get size(): number {
    return this.#slots.length;
  }

  /**
   * Asks the worker in `slot` to hold its next grant of `name` after reading (see the `hold`
   * message) and resolves with that grant once it is held.
   */
  async hold(slot: number, name: string, blind: boolean): Promise<GrantRecord> {
    const worker = this.#slot(slot);
    const before = worker.holding.length;
    this.#send(worker, { type: 'hold', name, blind });
    await waitFor(
      `${worker.id} to hold '${name}'`,
      () => worker.holding.length > before,
      WORKER_STEP_TIMEOUT_MS,
    );
    return this.grants.get(worker.holding[before])!;
  }

  /** Lets a held grant of the worker in `slot` go on to its write, and waits until it released. */
  async proceed(slot: number, grant: GrantRecord): Promise<void> {
    this.#send(this.#slot(slot), { type: 'proceed' });
    await waitFor(
      `${grant.id} to release`,
      () => grant.releasedAt !== undefined,
      WORKER_STEP_TIMEOUT_MS,
    );
  }

  /** SIGKILLs the worker in `slot` and waits until it has exited; returns the kill time. */
  async kill(slot: number): Promise<number> {
    const worker = this.#slot(slot);
    worker.child.kill('SIGKILL');
    const at = chaosClockMs();
    this.kills.push({ worker: worker.id, at });
    await worker.exited;
    return at;
  }

  /** Sends SIGSTOP to the worker in `slot`; returns when it was sent. */
  pause(slot: number): number {
    const worker = this.#slot(slot);
    // Stamped once the signal is sent: the pause starts no earlier than this.
    worker.child.kill('SIGSTOP');
    const at = chaosClockMs();
    worker.stopped = true;
    this.#pausedAt.set(slot, at);
    return at;
  }

  /** Sends SIGCONT to the worker in `slot`; returns when it was sent. */
  resume(slot: number): number {
    const worker = this.#slot(slot);
    // Stamped before the signal is sent: the process runs again no earlier than this.
    const at = chaosClockMs();
    worker.child.kill('SIGCONT');
    worker.stopped = false;
    this.pauses.push({ worker: worker.id, from: this.#pausedAt.get(slot) ?? at, to: at });
    this.#pausedAt.delete(slot);
    return at;
  }

  /** Starts a new incarnation in `slot` (after a kill) and waits until it is ready. */
  async respawn(slot: number): Promise<void> {
    await this.#spawn(slot);
  }

  /**
   * Asks every live worker to stop (finish, close its lock client, exit) and waits; a worker that
   * has not exited within 15 s is SIGKILLed (and recorded as killed).
   */
  async stopAll(): Promise<void> {
    await Promise.all(
      this.#slots.map(async (worker) => {
        if (!worker.alive) return;
        if (worker.stopped) this.resume(worker.slot);
        this.#send(worker, { type: 'stop' });
        const timer = setTimeout(() => {
          if (!worker.alive) return;
          process.stderr.write(`[chaos] ${worker.id} did not stop in time: SIGKILL\n`);
          worker.child.kill('SIGKILL');
          this.kills.push({ worker: worker.id, at: chaosClockMs() });
        }, WORKER_STEP_TIMEOUT_MS);
        await worker.exited;
        clearTimeout(timer);
      }),
    );
  }

  /** SIGKILLs every live worker at once, without recording it: cleanup after a failure. */
  async killAll(): Promise<void> {
    await Promise.all(
      this.#slots.map(async (worker) => {
        if (!worker.alive) return;
        worker.child.kill('SIGKILL');
        await worker.exited;
      }),
    );
  }

  /**
   * One line per slot — grants, last grant, open grants, failed acquisitions — for a run that
   * stalls.
   */
  describe(): string[] {
    const now = chaosClockMs();
    const ago = (at: number | undefined) =>
      at === undefined ? 'never' : `${Math.round(now - at)} ms ago`;
    return this.#slots.map((worker) => {
      const grants = this.grantList().filter((grant) => grant.worker === worker.id);
      const open = grants.filter((grant) => grant.releasedAt === undefined);
      const errors = this.acquireErrors.filter((error) => error.worker === worker.id);
      const storeErrors = new Map<string, number>();
      for (const error of this.storeErrors) {
        if (error.worker === worker.id) {
          storeErrors.set(error.operation, (storeErrors.get(error.operation) ?? 0) + 1);
        }
      }
      return (
        `${worker.id} ${worker.alive ? (worker.stopped ? 'stopped' : 'running') : 'dead'}: ` +
        `${grants.length} grants, last ${ago(grants.at(-1)?.grantedAt)}, ` +
        `open [${open.map((grant) => `${grant.id} ${grant.name} ${ago(grant.grantedAt)}`).join('; ')}], ` +
        `${errors.length} failed acquires, last ${errors.at(-1)?.code ?? '-'} ${ago(errors.at(-1)?.at)}; ` +
        `pid ${worker.child.pid}; failed etcd calls: ${[...storeErrors].map(([op, n]) => `${op} ${n}`).join(', ') || 'none'}`
      );
    });
  }

  /** Grants so far, in report order. */
  grantList(): GrantRecord[] {
    return [...this.grants.values()];
  }

  async #spawn(slot: number): Promise<void> {
    const incarnation = (this.#incarnations[slot] ?? 0) + 1;
    this.#incarnations[slot] = incarnation;
    const id = `w${slot}.${incarnation}`;
    const config: WorkerConfig = { ...this.configFor(slot), id };
    const child = spawn(process.execPath, [workerScript], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      env: { ...process.env, CHAOS_WORKER: JSON.stringify(config) },
    });
    const pid = child.pid;
    if (pid !== undefined) {
      livePids.add(pid);
      this.pids.push(pid);
    }
    const exited = once(child, 'exit').then(() => {
      worker.alive = false;
      if (pid !== undefined) livePids.delete(pid);
    });
    const worker: WorkerProcess = {
      slot,
      id,
      child,
      exited,
      alive: true,
      stopped: false,
      holding: [],
    };
    this.#slots[slot] = worker;
    let ready = false;
    child.on('message', (message: WorkerMessage) => {
      if (message.type === 'ready') ready = true;
      else this.#record(worker, message);
    });
    child.on('error', () => undefined);
    await waitFor(`${id} to start`, () => ready || !worker.alive, WORKER_STEP_TIMEOUT_MS);
    if (!worker.alive) throw new Error(`chaos worker ${id} exited at start`);
  }

  #record(worker: WorkerProcess, message: WorkerMessage): void {
    switch (message.type) {
      case 'grant':
        this.grants.set(message.id, {
          id: message.id,
          worker: worker.id,
          name: message.name,
          mode: message.mode,
          asked: message.asked,
          permits: message.permits,
          token: BigInt(message.token),
          requestedAt: message.requestedAt,
          grantedAt: message.grantedAt,
        });
        break;
      case 'lost': {
        const grant = this.grants.get(message.id);
        if (grant !== undefined) grant.lostAt = message.at;
        break;
      }
      case 'released': {
        const grant = this.grants.get(message.id);
        if (grant !== undefined) grant.releasedAt = message.at;
        break;
      }
      case 'holding':
        worker.holding.push(message.id);
        break;
      case 'write':
        this.heldWrites.set(message.id, message.outcome);
        break;
      case 'storeError':
        this.storeErrors.push({ worker: worker.id, operation: message.operation, at: message.at });
        break;
      case 'acquireError':
        this.acquireErrors.push({
          worker: worker.id,
          code: message.code,
          name: message.name,
          requestedAt: message.requestedAt,
          at: message.at,
        });
        break;
      default:
        break;
    }
  }

  #slot(slot: number): WorkerProcess {
    const worker = this.#slots[slot];
    if (worker === undefined || !worker.alive)
      throw new Error(`no live chaos worker in slot ${slot}`);
    return worker;
  }

  #send(worker: WorkerProcess, message: OrchestratorMessage): void {
    worker.child.send(message, undefined, {}, () => undefined);
  }
}
