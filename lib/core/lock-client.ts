import type { Election } from './election.js';
import { EtcdBackend } from './etcd/etcd-backend.js';
import type { LeaseState } from './lock-backend.js';
import type { StoreInspection } from './lock-inspection.js';
import type { LockHandle } from './lock-handle.js';
import { LockManager } from './lock-manager.js';
import type { LockObserver } from './lock-observer.js';
import type {
  AcquireOptions,
  LockClientOptions,
  TryAcquireOptions,
  WithLockOptions,
} from './lock-options.js';
import { resolveClientOptions } from './validation.js';

/**
 * Distributed locks on etcd for plain Node: no Nest needed. Create one per process and share it;
 * `close()` it on shutdown (it deletes this process's keys and revokes its leases).
 *
 * @example
 * const locks = new LockClient({ endpoints: ['http://127.0.0.1:2379'], namespace: 'shop/' });
 * await using lock = await locks.acquire('stock:42', { waitMs: 2000 });
 * await deduct(42, { fence: lock.fencingToken });
 *
 * @example
 * await locks.withLock('nightly-report', () => buildReport());
 * await locks.close();
 */
export class LockClient {
  readonly #manager: LockManager;
  readonly #backend: EtcdBackend;

  /** @throws LockConfigError when an option is invalid (before any network call). */
  constructor(options: LockClientOptions) {
    const resolved = resolveClientOptions(options);
    this.#backend = new EtcdBackend(resolved, {
      storeError: (operation, error) => this.#manager.reportStoreError(operation, error),
      storeRecovered: (operation) => this.#manager.reportStoreRecovered(operation),
    });
    this.#manager = new LockManager(this.#backend, resolved);
  }

  /** See {@link LockManager.acquire}. */
  acquire(name: string, options?: AcquireOptions): Promise<LockHandle> {
    return this.#manager.acquire(name, options);
  }

  /** See {@link LockManager.tryAcquire}. */
  tryAcquire(name: string, options?: TryAcquireOptions): Promise<LockHandle | null> {
    return this.#manager.tryAcquire(name, options);
  }

  /** See {@link LockManager.withLock}. */
  withLock<T>(
    name: string,
    fn: (lock: LockHandle) => T | Promise<T>,
    options?: WithLockOptions,
  ): Promise<T> {
    return this.#manager.withLock(name, fn, options);
  }

  /**
   * The leader election `name` (see {@link Election}): `campaign()` to lead, `leader()` to ask
   * who leads, `observe()` to follow every change. A lock and an election of one name never meet.
   * @throws LockConfigError for a bad name, before any network call
   * @example
   * const election = locks.election('ingest');
   * const leadership = await election.campaign({ value: 'replica-1' });
   * await runIngest({ fence: leadership.term, signal: leadership.signal });
   * await leadership.resign();
   */
  election(name: string): Election {
    return this.#manager.election(name);
  }

  /** See {@link LockManager.current}. */
  current(name?: string): LockHandle {
    return this.#manager.current(name);
  }

  /**
   * Adds an observer of lock events (metrics, logs). Events are plain frozen objects; a hook that
   * throws is reported once per observer and hook as a Node warning (`ZZLockWarning`, code
   * `ZZLOCK_OBSERVER_ERROR`) and is still called for later events.
   * @example
   * locks.observe({ lost: ({ name }) => console.error(`lock ${name} lost`) });
   */
  observe(observer: LockObserver): void {
    this.#manager.observe(observer);
  }

  /** The lease of each TTL in use, for health reports. */
  leaseStates(): LeaseState[] {
    return this.#backend.leaseStates();
  }

  /**
   * Every lock and election of this client's namespace, whoever holds them (any process): each
   * lock's mode, holders (owner `host:pid`, lease, fencing token, seconds left on the lease) and
   * how many wait; each election's leader and how many candidates wait. One read of etcd plus a
   * lease lookup per holder's lease; read-only. What `npx zzlock locks` prints.
   * @throws StoreUnavailableError, StoreRejectedError, LockClientClosedError
   * @example
   * const { locks } = await lockClient.inspect();
   * for (const lock of locks) console.log(lock.name, lock.holders.map((h) => h.owner), lock.waiting);
   */
  inspect(): Promise<StoreInspection> {
    return this.#backend.inspect();
  }

  /** See {@link LockManager.stopAcquiring}: the first step of a shutdown, on its own. */
  stopAcquiring(): void {
    this.#manager.stopAcquiring();
  }

  /**
   * Stops new acquisitions, lets holders finish within `shutdownGraceMs`, deletes this client's
   * keys, revokes its leases and closes the etcd connection. Idempotent.
   */
  close(): Promise<void> {
    return this.#manager.close();
  }

  /** `await using locks = new LockClient(…)` closes it at the end of the scope. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
