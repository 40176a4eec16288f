import 'reflect-metadata';
import { Observable, throwError } from 'rxjs';
import {
  LockConfigError,
  ZZLOCK_DEFAULTS,
  rejectUnknownKeys,
  validateDurationMs,
  validateLockMode,
  validateLockName,
  validateTtl,
  type LockMode,
} from './core/index.js';
import type { LockedRunner } from './locked-runner.js';
import { boundRunners, methodName, wrapMethod } from './method-binding.js';
import { ZZLOCK_LOCKED_METADATA, ZZLOCK_NEST_DEFAULTS } from './zzlock.constants.js';

/**
 * What a `@Locked` method does when its lock stays busy past `waitMs`: `'throw'` a
 * `LockBusyError` (`waitMs` 0) or `LockTimeoutError`, or `'skip'` the call (it resolves
 * `undefined`, is logged at debug and counted in `zzlock_skipped_total`). `'skip'` also skips
 * the call when etcd does not answer (`StoreUnavailableError`): the outage is logged once, when
 * it starts and when it ends, not at every tick.
 *
 * `'skip'` is meant for cron jobs and other fire-and-forget work. On an HTTP route a skipped call
 * answers `200` (`201` for `@Post`) with an empty body, which a client takes for success: keep
 * `'throw'` on routes, so a busy lock answers `423 Locked` with `Retry-After`.
 * @default 'throw'
 * @example
 * @Locked('nightly', { onBusy: 'skip' })
 */
export type LockedBusyPolicy = 'throw' | 'skip';

/**
 * Options of `@Locked`.
 *
 * @example
 * @Locked('nightly', { ttl: 60, onBusy: 'skip', minHoldMs: 5000 })
 */
export interface LockedOptions {
  /**
   * Lease TTL in seconds: a holder that dies keeps the lock at most this long.
   * @default the module's `ttl` (15)
   */
  ttl?: number;
  /**
   * How long to wait for a busy lock, in ms, before `onBusy` applies.
   * @default 0
   */
  waitMs?: number;
  /**
   * What to do when the lock stays busy: throw, or skip the call. On an HTTP route, `'skip'`
   * answers 200/201 with an empty body: use `'throw'` there (423 Locked).
   * @default 'throw'
   */
  onBusy?: LockedBusyPolicy;
  /**
   * Keeps the lock at least this long after it was acquired, in ms, even when the method ends
   * sooner (ShedLock's `lockAtLeastFor`): replicas whose clocks or timers are a little behind
   * then find the lock busy instead of running the same cron tick again. The method's result is
   * not delayed.
   * @default 0
   */
  minHoldMs?: number;
  /**
   * Metric label of the lock. Keep it bounded: never a per-entity key. Unlike a bare
   * `acquire()` (labelled `'unlabelled'`), `@Locked` labels by what it declares.
   * @default the name when it is a string, else `'Class.method'`
   */
  label?: string;
  /**
   * `Retry-After` of the HTTP answer when a route's lock is busy (423) or refused because the
   * application is shutting down (503), in seconds (at least 1).
   * @default 1
   */
  retryAfter?: number;
  /**
   * Runs the method holding one of this many permits (a semaphore across replicas): up to
   * `permits` calls at once, queued in arrival order. A whole number from 1 (a mutex) to 256;
   * every holder of the name must ask for the same number. Not together with `shared: true`.
   * @default 1
   * @example
   * @Locked('export', { permits: 3, waitMs: 5000 })
   */
  permits?: number;
  /**
   * Runs the method holding the lock shared (a reader): together with other shared holders, after
   * any exclusive request that arrived first. Exclusive methods of the same name exclude it.
   * @default false
   * @example
   * @Locked('catalog', { shared: true })
   */
  shared?: boolean;
}

/** Every key of {@link LockedOptions}; anything else is a typo and fails at class definition. */
const LOCKED_OPTION_KEYS = Object.keys({
  ttl: true,
  waitMs: true,
  onBusy: true,
  minHoldMs: true,
  label: true,
  retryAfter: true,
  permits: true,
  shared: true,
} satisfies Record<keyof LockedOptions, true>);

/**
 * The lock name of a `@Locked` method: a fixed string, or a function of the method's arguments
 * (called with the instance as `this`) for a lock per entity.
 *
 * @example
 * (order: Order) => `order:${order.id}`
 */
export type LockedName<Args extends unknown[] = unknown[]> = string | ((...args: Args) => string);

/**
 * What `@Locked` records on the method it wraps, under `ZZLOCK_LOCKED_METADATA`.
 *
 * @example
 * const { label, onBusy } = Reflect.getMetadata(ZZLOCK_LOCKED_METADATA, Jobs.prototype.nightly);
 */
export interface LockedMetadata {
  /** The lock name or the function that makes it. */
  readonly name: LockedName;
  /** Metric label of the lock. */
  readonly label: string;
  /** Lease TTL in seconds; `undefined`: the module's. */
  readonly ttl: number | undefined;
  /** Wait for a busy lock, in ms. */
  readonly waitMs: number;
  /** What to do when the lock stays busy. */
  readonly onBusy: LockedBusyPolicy;
  /** Minimum hold from acquisition, in ms. */
  readonly minHoldMs: number;
  /** `Retry-After` of a 423 or 503 answer, in seconds. */
  readonly retryAfter: number;
  /** How the lock is taken: `exclusive`, `semaphore` (of `permits`) or `shared`. */
  readonly mode: LockMode;
  /** Holders admitted at once: the semaphore's permits, 1 for exclusive and shared. */
  readonly permits: number;
  /** The wrapped method, as `Class.method`. */
  readonly method: string;
  /**
   * True when the method is declared to return an Observable (`design:returntype`): the lock is
   * taken per subscription.
   */
  readonly returnsObservable: boolean;
}

/** A method `@Locked` can decorate, with the argument types the name function expects. */
type LockableMethod<Args extends unknown[]> = (...args: [...Args, ...never[]]) => unknown;

/**
 * Runs the method holding a distributed lock, on HTTP routes, `@Cron`/`@Interval` jobs, message
 * handlers and plain provider methods alike. It wraps the method itself (Nest never runs
 * interceptors for cron jobs or provider calls) and keeps its metadata and name, so it can be
 * written above or below `@Cron`, `@Get` and the like.
 *
 * The method always returns a Promise (the lock is awaited first), except one declared to return
 * an `Observable` (`method(): Observable<T>`, read from TypeScript's `design:returntype`): it
 * returns an Observable that takes the lock on subscription and keeps it until completion, error
 * or unsubscription, once per subscription. A method that returns an Observable without declaring
 * it (an inferred return type) gets the lock at the call and keeps it until the returned
 * Observable's subscription ends; never subscribed, it is held until shutdown, and a second
 * subscription fails with `LockConfigError`. zzlock warns once per such method: declare the type.
 *
 * Re-entrancy is per async call chain: nested `@Locked` or `withLock()` calls of the same name in
 * the chain return at once, and so do calls the holder starts in parallel (`Promise.all`), which
 * therefore share the lock rather than exclude each other. Inside, `LockService.current()` gives
 * the handle.
 *
 * On a route that `LockInterceptor` covers (the module registers it globally), a busy lock
 * answers `423 Locked` with `Retry-After`, and a lock refused because the application is shutting
 * down or etcd does not answer answers `503` with `Retry-After`. `onBusy: 'skip'` on a route answers 200/201 with an empty body: keep
 * `'throw'` there.
 *
 * @param name The lock name, or a function of the method's arguments that returns it.
 * @param ttlOrOptions The lease TTL in seconds, or {@link LockedOptions}.
 * @throws LockConfigError at class definition when an option is invalid or unknown
 *
 * @example
 * @Locked('report', 30)
 * async buildReport(): Promise<Report> { … }
 *
 * @example
 * @Post(':id/pay')
 * @Locked((id: string) => `order:${id}`, { ttl: 10, waitMs: 2000, label: 'order' })
 * pay(@Param('id') id: string) { … }
 *
 * @example
 * @Cron(CronExpression.EVERY_MINUTE)
 * @Locked('nightly', { ttl: 60, onBusy: 'skip', minHoldMs: 5000 })
 * async nightly(): Promise<void> { … }
 *
 * @example
 * @Locked('export', { permits: 3, waitMs: 5000 }) // at most 3 exports at once, cluster-wide
 * async export(): Promise<void> { … }
 *
 * @example
 * @Locked('catalog', { shared: true }) // readers together; an exclusive @Locked('catalog') excludes them
 * async read(): Promise<Catalog> { … }
 */
export function Locked<Args extends unknown[] = []>(
  name: LockedName<Args>,
  ttlOrOptions?: number | LockedOptions,
): <M extends LockableMethod<Args>>(
  target: object,
  propertyKey: string | symbol,
  descriptor: TypedPropertyDescriptor<M>,
) => TypedPropertyDescriptor<M> {
  const options = normalizeOptions(name, ttlOrOptions);
  return <M extends LockableMethod<Args>>(
    target: object,
    propertyKey: string | symbol,
    descriptor: TypedPropertyDescriptor<M>,
  ): TypedPropertyDescriptor<M> => {
    const method = methodName(target, propertyKey);
    const metadata: LockedMetadata = {
      name: name as unknown as LockedName,
      label: options.label ?? (typeof name === 'string' ? name : method),
      ttl: options.ttl,
      waitMs: options.waitMs,
      onBusy: options.onBusy,
      minHoldMs: options.minHoldMs,
      retryAfter: options.retryAfter,
      mode: options.mode,
      permits: options.permits,
      method,
      returnsObservable: isObservableType(
        Reflect.getMetadata('design:returntype', target, propertyKey),
      ),
    };
    const wrapper = wrapMethod(
      '@Locked',
      target,
      propertyKey,
      descriptor.value,
      ZZLOCK_LOCKED_METADATA,
      metadata,
      (wrapped) =>
        function (this: unknown, ...args: unknown[]): unknown {
          let runner: LockedRunner;
          try {
            runner = boundRunners(this, '@Locked', method).locked;
          } catch (error) {
            return metadata.returnsObservable ? throwError(() => error) : Promise.reject(error);
          }
          return runner.run(metadata, this, args, wrapped);
        },
    );
    descriptor.value = wrapper as unknown as M;
    return descriptor;
  };
}

/** Options with defaults applied and values checked. */
interface NormalizedLockedOptions {
  ttl: number | undefined;
  waitMs: number;
  onBusy: LockedBusyPolicy;
  minHoldMs: number;
  label: string | undefined;
  retryAfter: number;
  mode: LockMode;
  permits: number;
}

function normalizeOptions(
  name: unknown,
  ttlOrOptions: number | LockedOptions | undefined,
): NormalizedLockedOptions {
  if (typeof name === 'string') validateLockName(name);
  else if (typeof name !== 'function') {
    throw new LockConfigError(
      'name',
      '@Locked takes a lock name or a function that returns one',
      name,
    );
  }
  const options: LockedOptions =
    typeof ttlOrOptions === 'number' ? { ttl: ttlOrOptions } : (ttlOrOptions ?? {});
  if (options === null || typeof options !== 'object') {
    throw new LockConfigError(
      '@Locked',
      'the second argument is a TTL or an options object',
      options,
    );
  }
  rejectUnknownKeys(options, LOCKED_OPTION_KEYS, '@Locked');
  const onBusy = options.onBusy ?? ZZLOCK_NEST_DEFAULTS.onBusy;
  if (onBusy !== 'throw' && onBusy !== 'skip') {
    throw new LockConfigError('onBusy', "onBusy is 'throw' or 'skip'", onBusy);
  }
  if (options.label !== undefined) validateLabel(options.label);
  const retryAfter = options.retryAfter ?? ZZLOCK_NEST_DEFAULTS.retryAfterSeconds;
  if (typeof retryAfter !== 'number' || !Number.isInteger(retryAfter) || retryAfter < 1) {
    throw new LockConfigError(
      'retryAfter',
      'retryAfter is a whole number of seconds, 1 or more',
      retryAfter,
    );
  }
  return {
    ttl: options.ttl === undefined ? undefined : validateTtl(options.ttl),
    waitMs: validateDurationMs(options.waitMs ?? ZZLOCK_DEFAULTS.decoratorWaitMs, 'waitMs'),
    onBusy,
    minHoldMs: validateDurationMs(
      options.minHoldMs ?? ZZLOCK_NEST_DEFAULTS.minHoldMs,
      'minHoldMs',
      false,
    ),
    label: options.label,
    retryAfter,
    ...validateLockMode(options.permits, options.shared),
  };
}

function validateLabel(label: unknown): void {
  if (typeof label !== 'string' || label.length === 0) {
    throw new LockConfigError('label', 'a label is a non-empty string', label);
  }
}

function isObservableType(type: unknown): boolean {
  return (
    typeof type === 'function' && (type === Observable || type.prototype instanceof Observable)
  );
}
