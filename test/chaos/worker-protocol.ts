/**
 * The IPC messages between the chaos orchestrator and its worker processes. Times are
 * milliseconds on `chaosClockMs()`; tokens are decimal strings (IPC carries JSON).
 */
import type { LockMode } from '../../lib/core/index.js';
import type { HeldOutcome, LockSpec } from './chaos-history.js';

/**
 * Orchestrator → worker.
 * - `hold`: the next grant of `name` (by any acquirer of the worker, in any mode) makes its first
 *   store operation, reports `holding` and then waits for `proceed` before its last one: a holder
 *   caught mid-operation. An exclusive holder (a writer) reads, then writes; a shared holder (a
 *   reader) reads, then reads again; a semaphore holder makes no store call (see chaos-worker.ts).
 *   With `blind`, the last operation follows `proceed` without a look at the lost signal (a
 *   holder paused between its check and its operation); otherwise it checks first and skips it
 *   when lost.
 * - `proceed`: ends that hold.
 * - `stop`: let each acquirer finish its operation, close the lock client, report `stopped`, exit.
 * @example
 * worker.send({ type: 'hold', name: 'acct-1', blind: true });
 */
export type OrchestratorMessage =
  { type: 'hold'; name: string; blind: boolean } | { type: 'proceed' } | { type: 'stop' };

/**
 * Worker → orchestrator.
 * - `ready`: the lock client is created and the acquirers are starting.
 * - `grant` / `lost` / `released`: the life of one grant (`lost` when its signal fired); a grant
 *   tells the handle's `mode` and `permits` and what the worker `asked` for.
 * - `holding`: a `hold` caught this grant, after its first operation.
 * - `write`: what became of the held grant's last operation after `proceed`.
 * - `acquireError`: an `acquire()` of `name`, called at `requestedAt`, failed with this error code.
 * - `storeError`: a call of the lock client to etcd failed (its `observe()` hook), by operation.
 * - `stopped`: closed cleanly.
 * @example
 * process.send({ type: 'grant', id: 'w0.1#1', name: 'acct-0', mode: 'exclusive', asked: 'exclusive', permits: 1, token: '42', requestedAt, grantedAt });
 */
export type WorkerMessage =
  | { type: 'ready' }
  | {
      type: 'grant';
      id: string;
      name: string;
      mode: LockMode;
      asked: LockMode;
      permits: number;
      token: string;
      requestedAt: number;
      grantedAt: number;
    }
  | { type: 'lost'; id: string; at: number }
  | { type: 'released'; id: string; at: number }
  | { type: 'holding'; id: string }
  | { type: 'write'; id: string; outcome: HeldOutcome }
  | { type: 'acquireError'; code: string; name: string; requestedAt: number; at: number }
  | { type: 'storeError'; operation: string; at: number }
  | { type: 'stopped' };

/**
 * How a worker is set up: passed as JSON in its `CHAOS_WORKER` environment variable.
 * @example
 * { id: 'w0.1', endpoints: ['http://127.0.0.1:40001'], namespace: 'chaos/', ttl: 5, callTimeoutMs: 1500, storeUrl, locks: [{ name: 'acct-0', rule: 'exclusive', permits: 1 }], writerShare: 0.25, acquirers: 3, holdMs: 15, thinkMs: 40, waitMs: 30000 }
 */
export interface WorkerConfig {
  /** Worker id, `w<slot>.<incarnation>`. */
  id: string;
  /** etcd endpoints (the members' URLs, or proxies in front of them). */
  endpoints: string[];
  /** Lock namespace. */
  namespace: string;
  /** Lease TTL of every lock, in seconds. */
  ttl: number;
  /** The lock client's `callTimeoutMs`. */
  callTimeoutMs: number;
  /** Base URL of the fencing store. */
  storeUrl: string;
  /** Lock names (= store resources) to pick from at random, each with its rule. */
  locks: LockSpec[];
  /** Of the acquisitions of a `shared` name, the share that are exclusive (writers). */
  writerShare: number;
  /** Concurrent acquirers in this process. */
  acquirers: number;
  /** Upper bound of the random pause between read and write, in ms. */
  holdMs: number;
  /** Upper bound of the random pause between two operations of an acquirer, in ms. */
  thinkMs: number;
  /** `waitMs` of every `acquire()`. */
  waitMs: number;
  /** An election to campaign for in a loop of its own, leading like an exclusive holder. */
  election?: string;
}
