import { Logger } from '@nestjs/common';
import { from, isObservable, Observable, of, type Subscription } from 'rxjs';
import {
  LockBusyError,
  LockClientClosedError,
  LockConfigError,
  LockTimeoutError,
  type LockHandle,
} from './core/index.js';
import { releaseLockAt, reportLockSkipped, type LockService } from './lock.service.js';
import type { LockedMetadata } from './locked.decorator.js';
import type { LockSkippedEvent } from './zzlock-observer.js';

type Method = (this: unknown, ...args: unknown[]) => unknown;

const logger = new Logger('ZZLock');

/** Methods already warned about returning an Observable without declaring it. */
const warnedUndeclared = new WeakSet<LockedMetadata>();

/** A lock taken for one call, and when. */
interface Taken {
  readonly handle: LockHandle;
  readonly acquiredAt: number;
}

/**
 * Runs one call of a `@Locked` method: acquires (or skips), runs the method in a call chain that
 * holds the lock, and releases once its Promise settles or its Observable ends.
 * @internal
 */
export function runLocked(
  service: LockService,
  metadata: LockedMetadata,
  thisArg: unknown,
  args: unknown[],
  method: Method,
): unknown {
  if (metadata.returnsObservable) return lockedObservable(service, metadata, thisArg, args, method);
  return lockedPromise(service, metadata, thisArg, args, method);
}

async function lockedPromise(
  service: LockService,
  metadata: LockedMetadata,
  thisArg: unknown,
  args: unknown[],
  method: Method,
): Promise<unknown> {
  const taken = await take(service, metadata, thisArg, args);
  if (taken === undefined) return undefined;
  let result: unknown;
  try {
    result = service.manager.runHolding(taken.handle, () => method.apply(thisArg, args));
  } catch (error) {
    await release(service, metadata, taken);
    throw error;
  }
  let value: unknown;
  try {
    value = isObservable(result) ? result : await result;
  } catch (error) {
    await release(service, metadata, taken);
    throw error;
  }
  // An Observable, returned or resolved: hold until it ends, not until it is handed over.
  if (isObservable(value)) return holdWhileObserved(service, metadata, taken, value);
  await release(service, metadata, taken);
  return value;
}

/** A cold Observable that takes the lock per subscription. */
function lockedObservable(
  service: LockService,
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
      return held === undefined ? Promise.resolve() : release(service, metadata, held);
    };
    take(service, metadata, thisArg, args, unsubscribed.signal).then(
      (granted) => {
        if (granted === undefined) return subscriber.complete();
        taken = granted;
        if (subscriber.closed) return void finish();
        try {
          const source = toObservable(
            service.manager.runHolding(granted.handle, () => method.apply(thisArg, args)),
          );
          inner = service.manager.runHolding(granted.handle, () =>
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
 * The Observable of a method that does not declare `: Observable<…>` (so the lock was taken at the
 * call, before the Observable existed), holding `taken` until its one subscription completes,
 * errors or is unsubscribed. It can be subscribed once: a second subscriber would run outside the
 * lock, so it gets a LockConfigError instead. Warns once per method.
 */
function holdWhileObserved(
  service: LockService,
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
    return release(service, metadata, taken);
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
    const inner = service.manager.runHolding(taken.handle, () =>
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

function toObservable(result: unknown): Observable<unknown> {
  if (isObservable(result)) return result;
  if (result instanceof Promise) return from(result);
  return of(result);
}

/** Acquires the call's lock; `undefined` when the call is skipped. */
async function take(
  service: LockService,
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
    const handle = await service.acquire(name, {
      ttl: metadata.ttl,
      waitMs: metadata.waitMs,
      label: metadata.label,
      signal,
    });
    return { handle, acquiredAt: performance.now() };
  } catch (error) {
    const reason = skipReason(error);
    if (metadata.onBusy !== 'skip' || reason === undefined) throw error;
    const event: LockSkippedEvent = {
      name,
      label: metadata.label,
      reason,
      method: metadata.method,
    };
    reportLockSkipped(service, event);
    return undefined;
  }
}

function skipReason(error: unknown): LockSkippedEvent['reason'] | undefined {
  if (error instanceof LockBusyError) return 'busy';
  if (error instanceof LockTimeoutError) return 'timeout';
  if (error instanceof LockClientClosedError) return 'closed';
  return undefined;
}

/** Releases at once, or at `minHoldMs` after acquisition (without waiting for it). */
function release(service: LockService, metadata: LockedMetadata, taken: Taken): Promise<void> {
  return releaseLockAt(service, taken.handle, taken.acquiredAt + metadata.minHoldMs);
}
