/**
 * The IPC messages between the chaos orchestrator and its worker processes. Times are
 * milliseconds on `chaosClockMs()`; tokens are decimal strings (IPC carries JSON).
 */

/**
 * Orchestrator → worker.
 * - `hold`: the next grant of `name` (by any acquirer of the worker) reads the resource, reports
 *   `holding` and then waits for `proceed` before it writes: a holder caught mid-operation. With
 *   `blind`, it writes after `proceed` without checking its lost signal again (a holder paused
 *   between its check and its write); otherwise it checks first and skips the write when lost.
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
 * - `grant` / `lost` / `released`: the life of one grant (`lost` when its signal fired).
 * - `holding`: a `hold` caught this grant, after its read.
 * - `write`: what the store said to the held grant's write after `proceed`.
 * - `acquireError`: an `acquire()` failed with this error code.
 * - `storeError`: a call of the lock client to etcd failed (its `observe()` hook), by operation.
 * - `stopped`: closed cleanly.
 * @example
 * process.send({ type: 'grant', id: 'w0.1#1', name: 'acct-0', token: '42', requestedAt, grantedAt });
 */
export type WorkerMessage =
  | { type: 'ready' }
  | {
      type: 'grant';
      id: string;
      name: string;
      token: string;
      requestedAt: number;
      grantedAt: number;
    }
  | { type: 'lost'; id: string; at: number }
  | { type: 'released'; id: string; at: number }
  | { type: 'holding'; id: string }
  | { type: 'write'; id: string; outcome: 'accepted' | 'stale' | 'skipped' }
  | { type: 'acquireError'; code: string; at: number }
  | { type: 'storeError'; operation: string; at: number }
  | { type: 'stopped' };

/**
 * How a worker is set up: passed as JSON in its `CHAOS_WORKER` environment variable.
 * @example
 * { id: 'w0.1', endpoints: ['http://127.0.0.1:40001'], namespace: 'chaos/', ttl: 5, callTimeoutMs: 1500, storeUrl, names: ['acct-0'], acquirers: 3, holdMs: 15, thinkMs: 40, waitMs: 30000 }
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
  /** Lock names (= store resources) to pick from at random. */
  names: string[];
  /** Concurrent acquirers in this process. */
  acquirers: number;
  /** Upper bound of the random pause between read and write, in ms. */
  holdMs: number;
  /** Upper bound of the random pause between two operations of an acquirer, in ms. */
  thinkMs: number;
  /** `waitMs` of every `acquire()`. */
  waitMs: number;
}
