import { Inject, Injectable } from '@nestjs/common';
import {
  LockManager,
  type AcquireOptions,
  type Election,
  type Leadership,
  type LeaseState,
  type LockHandle,
  type StoreInspection,
  type TryAcquireOptions,
  type WithLockOptions,
} from './core/index.js';
import { LeadershipRunner } from './leadership/leadership-runner.js';
import { LockedRunner } from './locked-runner.js';
import { ZZLOCK_MANAGER, ZZLOCK_OPTIONS } from './zzlock.constants.js';
import type { ResolvedZZLockOptions, ZZLockStore } from './zzlock-module-options.js';
import type { ZZLockObserver } from './zzlock-observer.js';

/**
 * Distributed locks for your services: the injectable face of zzlock. Shares `acquire`,
 * `tryAcquire` and `withLock` with the plain-Node `LockClient`; the `@Locked` methods of the
 * modules that see it lock through the same lock manager (so they are re-entrant with its
 * `withLock()`), and its observers see them. Provided by `ZZLockModule`.
 *
 * @example
 * @Injectable()
 * export class WalletService {
 *   constructor(private readonly locks: LockService) {}
 *
 *   async pay(walletId: string, cents: number): Promise<void> {
 *     await this.locks.withLock(`wallet:${walletId}`, async (lock) => {
 *       const balance = await this.wallets.balance(walletId);
 *       await this.wallets.set(walletId, balance - cents, { fence: lock.fencingToken });
 *     }, { waitMs: 2000, label: 'wallet' });
 *   }
 * }
 */
@Injectable()
export class LockService {
  readonly #manager: LockManager;
  readonly #options: ResolvedZZLockOptions;
  readonly #runner: LockedRunner;
  readonly #leadership: LeadershipRunner;
  #shuttingDown?: Promise<void>;

  /**
   * @param manager The application's lock manager (`ZZLOCK_MANAGER`).
   * @param options The validated module options (`ZZLOCK_OPTIONS`).
   * @param runner The runtime of this module's `@Locked` methods (internal).
   * @param leadership The runtime of this module's `@LeaderOnly` and `@OnLeadership` methods
   *   (internal).
   */
  constructor(
    @Inject(ZZLOCK_MANAGER) manager: LockManager,
    @Inject(ZZLOCK_OPTIONS) options: ResolvedZZLockOptions,
    runner: LockedRunner,
    leadership: LeadershipRunner,
  ) {
    this.#manager = manager;
    this.#options = options;
    this.#runner = runner;
    this.#leadership = leadership;
  }

  /**
   * The lock store in use.
   * @default 'etcd'
   */
  get store(): ZZLockStore {
    return this.#options.store;
  }

  /**
   * Waits for the lock, up to `waitMs` (the module's `waitMs`, 10 s, unless given). Inside a
   * `withLock()` or `@Locked` method holding the same name, returns at once (re-entrant).
   * @throws LockTimeoutError, LockBusyError (`waitMs: 0`), LockAbortedError,
   *   StoreUnavailableError, LockClientClosedError, LockConfigError (bad input)
   * @example
   * await using lock = await lockService.acquire(`stock:${sku}`, { waitMs: 2000, label: 'stock' });
   * @example
   * await using permit = await lockService.acquire('export', { permits: 3 }); // one of 3
   * await using reader = await lockService.acquire('catalog', { shared: true }); // with other readers
   */
  acquire(name: string, options?: AcquireOptions): Promise<LockHandle> {
    return this.#manager.acquire(name, options);
  }

  /**
   * Takes the lock if it can be granted right now (for `permits`, a permit is free; for `shared`,
   * no writer holds or waits); `null` otherwise. Never waits.
   * @example
   * const lock = await lockService.tryAcquire('rebuild-index');
   * if (lock === null) return 'already running';
   */
  tryAcquire(name: string, options?: TryAcquireOptions): Promise<LockHandle | null> {
    return this.#manager.tryAcquire(name, options);
  }

  /**
   * Runs `fn` holding the lock and releases it after, also when `fn` throws.
   * @example
   * const left = await lockService.withLock(`packet:${id}`, () => this.packets.take(id), { waitMs: 500 });
   */
  withLock<T>(
    name: string,
    fn: (lock: LockHandle) => T | Promise<T>,
    options?: WithLockOptions,
  ): Promise<T> {
    return this.#manager.withLock(name, fn, options);
  }

  /**
   * The leader election `name`: `campaign()` to lead (resolves once elected, with a
   * `Leadership`: its `term` is a fencing token, its `signal` aborts when leadership is lost),
   * `leader()` to ask who leads, `observe()` to follow every change. Shares the module's store
   * and lease TTL; a lock and an election of one name never meet. For the elections the module
   * campaigns in by itself, see `@LeaderOnly`, `@OnLeadership` and {@link leadership}.
   * @throws LockConfigError for a bad name, before any network call
   * @example
   * const leadership = await lockService.election('ingest').campaign({ value: process.env.HOSTNAME ?? 'replica' });
   * leadership.signal.addEventListener('abort', () => this.ingest.stop());
   * @example
   * const leader = await lockService.election('ingest').leader(); // { value, term } | null
   */
  election(name: string): Election {
    return this.#manager.election(name);
  }

  /**
   * This replica's leadership of an election that `@LeaderOnly` or `@OnLeadership` methods declare
   * (the module campaigns for those), or `null` when it does not lead it now. Inside a
   * `@LeaderOnly` method, its `term` is the fencing token to pass to what the method writes, and
   * its `signal` aborts when the leadership ends (lost, or given up at shutdown).
   * @example
   * @Cron(CronExpression.EVERY_MINUTE)
   * @LeaderOnly('settlement')
   * async settle(): Promise<void> {
   *   const leadership = this.locks.leadership('settlement');
   *   if (leadership) await this.ledger.settle({ fence: leadership.term, signal: leadership.signal });
   * }
   */
  leadership(election: string): Leadership | null {
    return this.#leadership.leadership(election) ?? null;
  }

  /**
   * The handle of a lock held by the current call chain, from inside a `@Locked` method or a
   * `withLock()` callback: the named one, or the innermost. Use its `signal` to stop work when the
   * lock is lost, and its `fencingToken` to guard writes.
   * @throws LockNotHeldError when the call chain holds no such lock
   * @example
   * @Locked('nightly-report', { ttl: 60, onBusy: 'skip' })
   * async nightly(): Promise<void> {
   *   const { signal, fencingToken } = this.locks.current();
   *   await this.reports.build({ signal, fence: fencingToken });
   * }
   */
  current(name?: string): LockHandle {
    return this.#manager.current(name);
  }

  /**
   * The etcd lease behind each TTL in use (id, time since the last keepalive, lost or not), for
   * health reports, as the lock store's backend reports them. Empty with `store: 'memory'`.
   * @example
   * lockService.leaseStates(); // [{ ttl: 15, leaseId: '694d…', sinceKeepaliveMs: 812, lost: false }]
   */
  leaseStates(): LeaseState[] {
    return this.#manager.backend.leaseStates();
  }

  /**
   * Every lock and election of the module's namespace, whoever holds them (any replica): each
   * lock's mode, holders (owner `host:pid`, lease, fencing token, seconds left on the lease) and
   * how many wait; each election's leader and how many candidates wait. One read of etcd plus a
   * lease lookup per holder's lease; read-only. With `store: 'memory'`, this process's locks.
   * @throws StoreUnavailableError, StoreRejectedError, LockClientClosedError
   * @example
   * @Get('admin/locks')
   * async locks() {
   *   const { locks } = await this.lockService.inspect();
   *   return locks.map((lock) => ({ ...lock, holders: lock.holders.length }));
   * }
   */
  inspect(): Promise<StoreInspection> {
    return this.#manager.backend.inspect();
  }

  /**
   * Adds an observer of lock events (zzlock's metrics are one): the core's hooks plus `skipped`,
   * `leadership` and `leaderOnlySkipped`.
   * @example
   * lockService.observe({ lost: (e) => alert(`lock ${e.name} lost`) });
   * @example
   * lockService.observe({ leadership: (e) => log(`${e.election}: ${e.change}`) });
   */
  observe(observer: ZZLockObserver): void {
    this.#manager.observe(observer);
    this.#runner.observe(observer);
    this.#leadership.observe(observer);
  }

  /**
   * First step of shutdown: refuses new acquisitions and ends the ones still waiting with
   * `LockClientClosedError` (a route answers 503), while locks already held stay held until their
   * holders finish. `ZZLockModule` calls it in `beforeApplicationShutdown`, before Nest closes the
   * HTTP server, so requests queued for a lock do not keep the server open. Idempotent.
   *
   * It also starts stepping down from the elections of `@LeaderOnly` and `@OnLeadership`: their
   * campaigns end, `@LeaderOnly` calls are skipped, the leadership `signal` of `@OnLeadership`
   * methods aborts; once their calls have ended (within `shutdownGraceMs`) the module resigns, so
   * the next replica leads at once. {@link shutdown} waits for that before it releases anything
   * else.
   * @example
   * lockService.stopAcquiring(); // then: await lockService.shutdown();
   */
  stopAcquiring(): void {
    void this.#leadership.stepDown();
    this.#manager.stopAcquiring();
  }

  /**
   * Shuts zzlock down: stops new acquisitions, steps down from its elections (waits for the calls
   * of `@OnLeadership` and `@LeaderOnly` methods within `shutdownGraceMs`, then resigns, so the
   * next replica leads before this one lets go of anything else), releases the locks kept by
   * `minHoldMs`, lets running holders finish within `shutdownGraceMs`, deletes keys, revokes leases
   * and closes the client.
   * `ZZLockModule` calls it in `onApplicationShutdown`; every call returns the same promise.
   *
   * Nest runs the shutdown hooks of your modules before those of `ZZLockModule` (a global module,
   * or one your module imports), so a provider that closes a resource used inside locks (a
   * database client) should await this first in its own `onApplicationShutdown`: holders then
   * finish while the resource is still open.
   * @example
   * async onApplicationShutdown(): Promise<void> {
   *   await this.locks.shutdown(); // holders have finished or the grace ran out
   *   await this.db.close();
   * }
   */
  shutdown(): Promise<void> {
    this.#shuttingDown ??= (async () => {
      this.stopAcquiring();
      await this.#leadership.stepDown();
      await this.#runner.releaseDeferred();
      await this.#manager.close();
    })();
    return this.#shuttingDown;
  }
}
