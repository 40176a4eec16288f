import { setTimeout as delay } from 'node:timers/promises';
import { Etcd3, EtcdLockFailedError } from 'etcd3';
import { LockClient } from '../../lib/core/index.js';

/** The lock implementations the benchmark compares. */
export type ContenderName = 'zzlock' | 'etcd3-lock';

/** A granted lock, as the benchmark sees it. */
export interface BenchGrant {
  /** Fencing token, when the implementation has one (zzlock: etcd create revision). */
  readonly token?: bigint;
  /** Acquire attempts this grant took (1 when the first attempt won). */
  readonly attempts: number;
  release(): Promise<void>;
}

/** One process's connection to a lock implementation. */
export interface Contender {
  /**
   * Blocks until `name` is granted; rejects once `signal` aborts. `permits`: one of that many
   * permits of a semaphore (zzlock only; etcd3's Lock has none).
   */
  acquire(name: string, signal: AbortSignal, permits?: number): Promise<BenchGrant>;
  /**
   * Sets up what the first acquire would otherwise pay for (the connection; zzlock's lease), on a
   * name of its own, so that a round measures no start-up.
   */
  warmUp(): Promise<void>;
  close(): Promise<void>;
}

/** TTL of every lock in the benchmark, in seconds. */
const TTL_SECONDS = 15;

/**
 * etcd3's `Lock` (a lease and a put-if-absent per attempt, revoke on release) is try-once: a
 * waiter has to retry. This retries with exponential backoff and full jitter, 5 ms to 100 ms,
 * as a careful user would.
 */
class Etcd3LockWithRetry implements Contender {
  readonly #client: Etcd3;

  constructor(
    endpoints: readonly string[],
    private readonly namespace: string,
  ) {
    this.#client = new Etcd3({ hosts: [...endpoints] });
  }

  async acquire(name: string, signal: AbortSignal, permits?: number): Promise<BenchGrant> {
    if (permits !== undefined) throw new Error("etcd3's Lock has no permits (no semaphore)");
    let backoffMs = 5;
    for (let attempts = 1; ; attempts += 1) {
      signal.throwIfAborted();
      const lock = this.#client.lock(`${this.namespace}${name}`).ttl(TTL_SECONDS);
      try {
        await lock.acquire();
        return { attempts, release: () => lock.release() };
      } catch (error) {
        if (!(error instanceof EtcdLockFailedError)) throw error;
      }
      await delay(Math.random() * backoffMs, undefined, { signal });
      backoffMs = Math.min(backoffMs * 2, 100);
    }
  }

  async warmUp(): Promise<void> {
    await this.#client.get(`${this.namespace}warm-up`).string();
  }

  async close(): Promise<void> {
    this.#client.close();
  }
}

/** zzlock's blocking acquire: one queue key, granted in FIFO order. */
class ZZLockContender implements Contender {
  readonly #locks: LockClient;

  constructor(endpoints: readonly string[], namespace: string) {
    this.#locks = new LockClient({ endpoints: [...endpoints], namespace, ttl: TTL_SECONDS });
  }

  async acquire(name: string, signal: AbortSignal, permits?: number): Promise<BenchGrant> {
    const options = { waitMs: 600_000, signal, ...(permits === undefined ? {} : { permits }) };
    const lock = await this.#locks.acquire(name, options);
    return { token: lock.fencingToken, attempts: 1, release: () => lock.release() };
  }

  async warmUp(): Promise<void> {
    // The lease is per TTL and shared by every lock of the client: this grants it.
    await (await this.#locks.acquire(`warm-up-${process.pid}`)).release();
  }

  close(): Promise<void> {
    return this.#locks.close();
  }
}

/** Connects a contender to `endpoints`; locks live under `namespace`. */
export function createContender(
  name: ContenderName,
  endpoints: readonly string[],
  namespace: string,
): Contender {
  return name === 'zzlock'
    ? new ZZLockContender(endpoints, namespace)
    : new Etcd3LockWithRetry(endpoints, namespace);
}
