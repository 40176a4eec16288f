import { Inject, Injectable, Logger } from '@nestjs/common';
import { from, isObservable, Observable, of, type Subscription } from 'rxjs';
import {
  LockBusyError,
  LockClientClosedError,
  LockConfigError,
  LockTimeoutError,
  StoreUnavailableError,
  type LockHandle,
  type LockManager,
} from './core/index.js';
import { observerErrorMessage } from './core/errors/messages.js';
import { ObserverSet } from './core/observer-set.js';
import type { LockedMetadata } from './locked.decorator.js';
import { ZZLOCK_MANAGER } from './zzlock.constants.js';
import type { LockSkippedEvent, ZZLockObserver } from './zzlock-observer.js';

type Method = (this: unknown, ...args: unknown[]) => unknown;

const logger = new Logger('ZZLock');

/** Methods already warned about returning an Observable without declaring it. */
const warnedUndeclared = new WeakSet<LockedMetadata>();

/** A lock taken for one call, and when. */
interface Taken {
  readonly handle: LockHandle;
  readonly acquiredAt: number;
}

/** A release put off by `minHoldMs`. */
interface DeferredRelease {
  readonly handle: LockHandle;
  readonly timer: NodeJS.Timeout;
}

/**
 * The runtime of `@Locked`, one per `ZZLockModule`: runs each call of a bound method (acquires or
 * skips, runs the method in a call chain that holds the lock, releases once its Promise settles or
 * its Observable ends), reports skipped calls (debug log and `skipped` observers), and owns the
 * releases `minHoldMs` puts off. The explorer binds every instance with `@Locked` methods to the
 * runner of the `ZZLockModule` whose `LockService` its module sees; `LockService.observe()` hands
 * it the `skipped` observers and `LockService.shutdown()` has it release the deferred locks.
 * @internal not exported from the package
 *
 * @example
 * // Provided by ZZLockModule; a @Locked wrapper calls:
 * runner.run(metadata, this, args, original);
 */
@Injectable()
export class LockedRunner {
  readonly #manager: LockManager;
  /** Observers of skipped calls; a throwing one is logged once, as the manager's are. */
  readonly #skipObservers = new ObserverSet<ZZLockObserver>((hook, error) =>
    logger.warn(observerErrorMessage(hook, error)),
  );
  readonly #deferred = new Set<DeferredRelease>();

  /** @param manager The application's lock manager (`ZZLOCK_MANAGER`). */
  constructor(@Inject(ZZLOCK_MANAGER) manager: LockManager) {
    this.#manager = manager;
  }

  /** Runs one call of a `@Locked` method: a Promise, or an Observable for a declared one. */
  run(metadata: LockedMetadata, thisArg: unknown, args: unknown[], method: Method): unknown {
    if (metadata.returnsObservable) return this.#lockedObservable(metadata, thisArg, args, method);
    return this.#lockedPromise(metadata, thisArg, args, method);
  }

  /** Adds the `skipped` hook of `observer`, if it has one (`LockService.observe()` calls this). */
  observe(observer: ZZLockObserver): void {
    if (observer.skipped) this.#skipObservers.add(observer);
  }

  /**
   * Releases now every lock kept by `minHoldMs`; once the manager is closing, later releases are
   * immediate too. `LockService.shutdown()` calls it after stopping acquisitions and before
   * closing the manager.
   */
  async releaseDeferred(): Promise<void> {
    const deferred = [...this.#deferred];
    this.#deferred.clear();
    for (const { timer } of deferred) clearTimeout(timer);
    await Promise.all(deferred.map(({ handle }) => this.#release(handle)));
  }

  async #lockedPromise(
    metadata: LockedMetadata,
    thisArg: unknown,
    args: unknown[],
    method: Method,
  ): Promise<unknown> {
    const taken = await this.#take(metadata, thisArg, args);
    if (taken === undefined) return undefined;
    let result: unknown;
    try {
      result = this.#manager.runHolding(taken.handle, () => method.apply(thisArg, args));
    } catch (error) {
      await this.#finish(metadata, taken);
      throw error;
    }
    let value: unknown;
    try {
      value = isObservable(result) ? result : await result;
    } catch (error) {
      await this.#finish(metadata, taken);
      throw error;
    }
    // An Observable, returned or resolved: hold until it ends, not until it is handed over.
    if (isObservable(value)) return this.#holdWhileObserved(metadata, taken, value);
    await this.#finish(metadata, taken);
    return value;
  }

  /** A cold Observable that takes the lock per subscription. */
  #lockedObservable(
    metadata: LockedMetadata,
    thisArg: unknown,
    args: unknown[],
    method: Method,
  ): Observable<unknown> {
    return new Observable<unknown>((subscriber) => {
      let taken: Taken | undefined;
      let inner: Subscription | undefined;
      const unsubscribed = new AbortController();
      const finish = (): Promise<void> => {
        const held = taken;
        taken = undefined;
        return held === undefined ? Promise.resolve() : this.#finish(metadata, held);
      };
      this.#take(metadata, thisArg, args, unsubscribed.signal).then(
        (granted) => {
          if (granted === undefined) return subscriber.complete();
          taken = granted;
          if (subscriber.closed) return void finish();
          try {
            const source = toObservable(
              this.#manager.runHolding(granted.handle, () => method.apply(thisArg, args)),
            );
            inner = this.#manager.runHolding(granted.handle, () =>
              source.subscribe({
                next: (value) => subscriber.next(value),
                error: (error: unknown) => void finish().then(() => subscriber.error(error)),
                complete: () => void finish().then(() => subscriber.complete()),
              }),
            );
          } catch (error) {
            void finish().then(() => subscriber.error(error));
          }
        },
        (error: unknown) => subscriber.error(error),
      );
      return () => {
        unsubscribed.abort();
        inner?.unsubscribe();
        void finish();
      };
    });
  }

  /**
   * The Observable of a method that does not declare `: Observable<…>` (so the lock was taken at
   * the call, before the Observable existed), holding `taken` until its one subscription
   * completes, errors or is unsubscribed. It can be subscribed once: a second subscriber would run
   * outside the lock, so it gets a LockConfigError instead. Warns once per method.
   */
  #holdWhileObserved(
    metadata: LockedMetadata,
    taken: Taken,
    source: Observable<unknown>,
  ): Observable<unknown> {
    if (!warnedUndeclared.has(metadata)) {
      warnedUndeclared.add(metadata);
      logger.warn(
        `${metadata.method}() returned an Observable without declaring it: its lock "${taken.handle.name}" ` +
          'is taken at the call and held until the first subscription ends (until shutdown if it is ' +
          'never subscribed), and the Observable can be subscribed only once. Declare the return type ' +
          '`: Observable<…>` so that the lock is taken per subscription.',
      );
    }
    let subscribed = false;
    let released = false;
    const finish = (): Promise<void> => {
      if (released) return Promise.resolve();
      released = true;
      return this.#finish(metadata, taken);
    };
    return new Observable<unknown>((subscriber) => {
      if (subscribed) {
        subscriber.error(
          new LockConfigError(
            '@Locked',
            `the Observable returned by ${metadata.method}() was subscribed to again, and its lock ` +
              "was taken once, at the call; declare the method's return type `: Observable<…>` so " +
              'that the lock is taken per subscription',
            metadata.method,
          ),
        );
        return undefined;
      }
      subscribed = true;
      const inner = this.#manager.runHolding(taken.handle, () =>
        source.subscribe({
          next: (value) => subscriber.next(value),
          error: (error: unknown) => void finish().then(() => subscriber.error(error)),
          complete: () => void finish().then(() => subscriber.complete()),
        }),
      );
      return () => {
        inner.unsubscribe();
        void finish();
      };
    });
  }

  /** Acquires the call's lock; `undefined` when the call is skipped. */
  async #take(
    metadata: LockedMetadata,
    thisArg: unknown,
    args: unknown[],
    signal?: AbortSignal,
  ): Promise<Taken | undefined> {
    const name =
      typeof metadata.name === 'function'
        ? (metadata.name as (this: unknown, ...a: unknown[]) => string).apply(thisArg, args)
        : metadata.name;
    try {
      const handle = await this.#manager.acquire(name, {
        ttl: metadata.ttl,
        waitMs: metadata.waitMs,
        label: metadata.label,
        signal,
        permits: metadata.mode === 'shared' ? undefined : metadata.permits,
        shared: metadata.mode === 'shared',
      });
      return { handle, acquiredAt: performance.now() };
    } catch (error) {
      const reason = skipReason(error);
      if (metadata.onBusy !== 'skip' || reason === undefined) throw error;
      const event: LockSkippedEvent = {
        name,
        label: metadata.label,
        mode: metadata.mode,
        reason,
        method: metadata.method,
      };
      this.#reportSkipped(event);
      return undefined;
    }
  }

  /** Releases at once, or at `minHoldMs` after acquisition (without waiting for it). */
  #finish(metadata: LockedMetadata, taken: Taken): Promise<void> {
    return this.#releaseAt(taken.handle, taken.acquiredAt + metadata.minHoldMs);
  }

  /** Logs (at debug) and reports a skipped `@Locked` method. */
  #reportSkipped(event: LockSkippedEvent): void {
    logger.debug(
      `Skipped ${event.method}: lock "${event.name}" ${SKIP_REASON_TEXT[event.reason]}.`,
    );
    this.#skipObservers.emit('skipped', event);
  }

  /**
   * Releases `handle` at `releaseAt` (a `performance.now()` time), or now if that has passed or
   * shutdown has started; the returned promise waits only for an immediate release.
   */
  #releaseAt(handle: LockHandle, releaseAt: number): Promise<void> {
    const remainingMs = releaseAt - performance.now();
    if (remainingMs <= 0 || this.#manager.closing) return this.#release(handle);
    const deferred: DeferredRelease = {
      handle,
      timer: setTimeout(() => {
        this.#deferred.delete(deferred);
        void this.#release(handle);
      }, remainingMs),
    };
    this.#deferred.add(deferred);
    return Promise.resolve();
  }

  async #release(handle: LockHandle): Promise<void> {
    try {
      await handle.release();
    } catch (error) {
      logger.warn(
        `Releasing lock "${handle.name}" failed; its lease will free it: ${String(error)}`,
      );
    }
  }
}

function toObservable(result: unknown): Observable<unknown> {
  if (isObservable(result)) return result;
  if (result instanceof Promise) return from(result);
  return of(result);
}

/** How the debug line of a skipped call says why. */
const SKIP_REASON_TEXT: Record<LockSkippedEvent['reason'], string> = {
  busy: 'was busy',
  timeout: 'stayed busy past waitMs',
  closed: 'was refused: the application is shutting down',
  unavailable: 'could not be asked for: the lock store (etcd) is unavailable',
};

function skipReason(error: unknown): LockSkippedEvent['reason'] | undefined {
  if (error instanceof LockBusyError) return 'busy';
  if (error instanceof LockTimeoutError) return 'timeout';
  if (error instanceof LockClientClosedError) return 'closed';
  // An outage is logged once by AcquisitionOutageLog: skipping keeps @nestjs/schedule from
  // logging the error's stack at every tick.
  if (error instanceof StoreUnavailableError) return 'unavailable';
  return undefined;
}
