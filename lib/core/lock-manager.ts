import { AsyncLocalStorage } from 'node:async_hooks';
import { failureCode } from './acquire-outcome.js';
import { createClosingController } from './closing-controller.js';
import { ZZLOCK_DEFAULTS } from './defaults.js';
import { Election } from './election.js';
import { LockClientClosedError } from './errors/lock-client-closed.error.js';
import { LockAbortedError } from './errors/lock-aborted.error.js';
import { LockBusyError } from './errors/lock-busy.error.js';
import { LockConfigError } from './errors/lock-config.error.js';
import { LockNotHeldError } from './errors/lock-not-held.error.js';
import { storeOutageMessage, storeRecoveredMessage } from './errors/messages.js';
import type { LockBackend, LockGrant, LockMode } from './lock-backend.js';
import type { LockHandle, LockHandleJson } from './lock-handle.js';
import {
  ACQUIRE_OPTION_KEYS,
  TRY_ACQUIRE_OPTION_KEYS,
  type AcquireOptions,
  type TryAcquireOptions,
  type WithLockOptions,
} from './lock-options.js';
import type { LockObserver } from './lock-observer.js';
import { ObserverSet, reportObserverErrorAsWarning, type EventOf } from './observer-set.js';
import {
  AcquireTrace,
  openTelemetryLoading,
  preloadOpenTelemetry,
  type HoldTrace,
} from './tracing/lock-tracing.js';
import {
  rejectUnknownKeys,
  validateDurationMs,
  validateLockMode,
  validateLockName,
  validateSignal,
  validateTtl,
  type LockModeRequest,
} from './validation.js';

/** Defaults a {@link LockManager} applies to calls that leave options out. */
export interface LockManagerDefaults {
  /** Lease TTL in seconds. */
  ttl: number;
  /** Wait of `acquire()` in ms. */
  waitMs: number;
  /** How long `close()` lets holders finish, in ms. */
  shutdownGraceMs: number;
}

/**
 * What a {@link LockManager} tells beyond its observers.
 *
 * @example
 * new LockManager(backend, defaults, {
 *   onObserverError: (hook, error) => log.warn(`observer ${hook} threw: ${String(error)}`),
 * });
 */
export interface LockManagerHooks {
  /**
   * Told when an observer's hook throws: once per observer and hook, not per event (the error is
   * otherwise ignored, and the observer keeps being called).
   * @default a Node warning (`process.emitWarning`, type `ZZLockWarning`, code
   *   `ZZLOCK_OBSERVER_ERROR`): one line on stderr
   */
  onObserverError?: (hook: keyof LockObserver, error: unknown) => void;
  /**
   * Told once when an outage of a background store operation (lease keepalives) starts and once
   * when it ends, not per failed attempt (the `storeError` observers see every attempt).
   * @default one Node warning (`ZZLockWarning`) each time
   */
  onStoreOutage?: (event: StoreOutageEvent) => void;
}

/** An outage of a background store operation started or ended. */
export interface StoreOutageEvent {
  /** `started` at its first failure, `ended` at its first success after. */
  readonly change: 'started' | 'ended';
  /** The operation (`lease keepalive`). */
  readonly operation: string;
  /** The first error of the outage (`started`). */
  readonly error?: unknown;
  /** Failed attempts during the outage (`ended`). */
  readonly failures?: number;
  /** One line saying what happened, for a log. */
  readonly message: string;
}

/** The store operation that renews leases. */
const KEEPALIVE = 'lease keepalive';

/** Background operations whose outages are logged once (they report their recovery). */
const OUTAGE_OPERATIONS: ReadonlySet<string> = new Set([KEEPALIVE]);

/** Reports an outage change as one Node warning: the core has no logger. */
const reportOutageAsWarning = (event: StoreOutageEvent): void =>
  process.emitWarning(event.message, { type: 'ZZLockWarning', code: 'ZZLOCK_STORE_OUTAGE' });

/** One granted lock and its nested holds in a call chain. */
class HeldLock {
  holds = 1;
  readonly acquiredAt = performance.now();
  releasing?: Promise<void>;

  constructor(
    readonly grant: LockGrant,
    readonly label: string,
    readonly permits: number,
    /** The rule asked for (and granted): a lock's, never an election's. */
    readonly mode: LockMode,
    /** Its `zzlock.hold` span, if traced. */
    readonly trace: HoldTrace,
  ) {}

  get name(): string {
    return this.grant.name;
  }
}

/** The handle users hold: one per acquire call, sharing a {@link HeldLock} when re-entered. */
class ReentrantLockHandle implements LockHandle {
  #released = false;

  constructor(
    private readonly held: HeldLock,
    private readonly releaseHeld: (held: HeldLock) => Promise<void>,
  ) {}

  get name(): string {
    return this.held.grant.name;
  }
  get mode(): LockMode {
    return this.held.mode;
  }
  get permits(): number {
    return this.held.permits;
  }
  get fencingToken(): bigint {
    return this.held.grant.fencingToken;
  }
  get signal(): AbortSignal {
    return this.held.grant.lost;
  }
  get holdCount(): number {
    return this.held.holds;
  }
  get released(): boolean {
    return this.#released;
  }

  release(): Promise<void> {
    if (this.#released) return this.held.releasing ?? Promise.resolve();
    this.#released = true;
    this.held.holds -= 1;
    if (this.held.holds > 0) return Promise.resolve();
    return this.releaseHeld(this.held);
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.release();
  }

  toJSON(): LockHandleJson {
    return {
      name: this.name,
      mode: this.mode,
      permits: this.permits,
      fencingToken: this.fencingToken.toString(),
    };
  }
}

/**
 * Why a call chain that holds `held` may not re-enter it with `requested`, or `undefined` when it
 * may (the hold count is then raised):
 * - the same permits and mode: re-entrant;
 * - shared inside exclusive: re-entrant on the exclusive hold (it already excludes everyone);
 * - exclusive inside shared: `LockConfigError` at once, since it would queue behind its own
 *   shared hold forever;
 * - other permits than held (a semaphore inside a mutex or a shared hold, a mutex or a shared
 *   request inside a semaphore, a semaphore of another size): `LockConfigError` naming both, as
 *   between two processes.
 */
function reentryError(held: HeldLock, requested: LockModeRequest): LockConfigError | undefined {
  if (held.permits !== requested.permits) {
    return LockConfigError.permitsMismatch(held.name, held.permits, requested.permits);
  }
  if (held.mode === 'shared' && requested.mode === 'exclusive') {
    return LockConfigError.exclusiveInsideShared(held.name);
  }
  return undefined;
}

/** Locks held by the current async call chain, innermost scope last. Never mutated. */
type ChainScope = ReadonlyMap<string, { held: HeldLock; handle: LockHandle }>;

/**
 * The framework-free core of zzlock: validates input, applies defaults, makes handles, tracks
 * re-entrancy per async call chain and reports to observers. It sits on a {@link LockBackend}.
 * `LockClient` and the Nest `LockService` are thin fronts over it.
 *
 * @example
 * const manager = new LockManager(new MemoryBackend(), { ttl: 15, waitMs: 10_000, shutdownGraceMs: 10_000 });
 * await manager.withLock('report', async (lock) => buildReport(lock.fencingToken));
 */
export class LockManager {
  readonly #scope = new AsyncLocalStorage<ChainScope>();
  readonly #held = new Set<HeldLock>();
  /** The held lock behind each handle this manager gave out. */
  readonly #handles = new WeakMap<LockHandle, HeldLock>();
  readonly #onStoreOutage: (event: StoreOutageEvent) => void;
  /** Failed attempts of each background operation in an outage now. */
  readonly #outages = new Map<string, number>();
  readonly #observers: ObserverSet<LockObserver>;
  readonly #closing = createClosingController();
  #closed?: Promise<void>;
  #drained?: () => void;

  /**
   * @param backend Where locks live.
   * @param defaults Values for options a call leaves out.
   * @param hooks Where a throwing observer is reported.
   */
  constructor(
    readonly backend: LockBackend,
    private readonly defaults: LockManagerDefaults,
    hooks: LockManagerHooks = {},
  ) {
    this.#observers = new ObserverSet(hooks.onObserverError ?? reportObserverErrorAsWarning);
    this.#onStoreOutage = hooks.onStoreOutage ?? reportOutageAsWarning;
    preloadOpenTelemetry();
  }

  /**
   * Adds an observer of lock events (metrics, logs). Events are plain frozen objects; a hook that
   * throws is reported once (see {@link LockManagerHooks.onObserverError}) and called again later.
   */
  observe(observer: LockObserver): void {
    this.#observers.add(observer);
  }

  /** Reports a store failure to the observers (backends call this). */
  reportStoreError(operation: string, error: unknown): void {
    this.#emit('storeError', { operation, error });
    // Which lease failed is not told, so every hold of this process gets the event.
    if (operation === KEEPALIVE) for (const held of this.#held) held.trace.keepaliveFailed(error);
    if (!OUTAGE_OPERATIONS.has(operation)) return;
    const failures = this.#outages.get(operation) ?? 0;
    this.#outages.set(operation, failures + 1);
    if (failures === 0) {
      const message = storeOutageMessage(operation, error);
      this.#onStoreOutage({ change: 'started', operation, error, message });
    }
  }

  /** Reports that a store operation that failed succeeds again (backends call this). */
  reportStoreRecovered(operation: string): void {
    this.#emit('storeRecovered', { operation });
    const failures = this.#outages.get(operation);
    if (failures === undefined) return;
    this.#outages.delete(operation);
    const message = storeRecoveredMessage(operation, failures);
    this.#onStoreOutage({ change: 'ended', operation, failures, message });
  }

  /** True once `close()` has started. */
  get closing(): boolean {
    return this.#closing.signal.aborted;
  }

  /**
   * Waits for the lock, up to `waitMs`: exclusive by default, one of `permits`, or `shared`.
   * Inside `withLock()` or a `@Locked` method holding the same name, returns at once with the
   * hold count raised; a shared acquire inside an exclusive hold too. An exclusive acquire inside
   * a shared hold, or other `permits` than held, is a `LockConfigError` at once (never a hang).
   * @throws LockTimeoutError, LockBusyError (waitMs 0), LockAbortedError, StoreUnavailableError,
   *   LockClientClosedError, LockConfigError (bad input, before any network call; `permits`
   *   other than the lock's holders')
   */
  async acquire(name: string, options: AcquireOptions = {}): Promise<LockHandle> {
    // `options` may be anything a caller passed (null too): #acquire rejects it as LockConfigError.
    const handle = await this.#acquire(name, options, options?.waitMs, 'acquire');
    // Never null: a busy acquire() throws inside its trace already. This narrows the type.
    if (handle === null) throw new LockBusyError(name);
    return handle;
  }

  /**
   * Takes the lock if it can be granted right now (free; for a semaphore, a permit left; for a
   * shared request, only shared holders and no exclusive request waiting); `null` otherwise.
   * Never waits.
   */
  tryAcquire(name: string, options: TryAcquireOptions = {}): Promise<LockHandle | null> {
    return this.#acquire(name, options, 0, 'tryAcquire');
  }

  /**
   * Runs `fn` holding the lock and releases it after, also when `fn` throws. Nested `withLock`,
   * `acquire` or `@Locked` on the same name inside `fn` are re-entrant.
   */
  async withLock<T>(
    name: string,
    fn: (lock: LockHandle) => T | Promise<T>,
    options: WithLockOptions = {},
  ): Promise<T> {
    const lock = await this.acquire(name, options);
    try {
      return await this.runHolding(lock, () => fn(lock));
    } finally {
      await lock.release();
    }
  }

  /**
   * Runs `fn` in a call chain that counts as holding `lock`, so nested acquisitions of the same
   * name are re-entrant and {@link current} finds it, with the lock's `zzlock.hold` span active
   * (OpenTelemetry), so spans started in `fn` are its children. The caller keeps ownership of
   * `lock`.
   */
  runHolding<T>(lock: LockHandle, fn: () => T): T {
    const entry = this.#scope.getStore()?.get(lock.name);
    const held = this.#handles.get(lock);
    if (held === undefined || entry?.held === held) return fn();
    const scope = new Map(this.#scope.getStore());
    scope.set(lock.name, { held, handle: lock });
    return this.#scope.run(scope, () => held.trace.run(fn));
  }

  /**
   * The handle of a lock held by the current call chain: the named one, or the innermost one.
   * @throws LockNotHeldError when there is none
   */
  current(name?: string): LockHandle {
    const scope = this.#scope.getStore();
    const entry = name === undefined ? [...(scope?.values() ?? [])].at(-1) : scope?.get(name);
    if (entry === undefined) throw new LockNotHeldError(name);
    // A look at the lock: a lease past its deadline is declared lost now, before it is handed out.
    void entry.held.grant.lost;
    return entry.handle;
  }

  /**
   * The election `name`: campaign in it, ask who leads, observe every change (see
   * {@link Election}). Elections live apart from locks: a lock and an election of one name never
   * share a queue. Holds nothing by itself; leaderships it grants are lost when this manager
   * closes (their `signal` aborts), and its observers end.
   * @throws LockConfigError for a bad name (the rules of lock names), before any network call
   * @example
   * const leadership = await manager.election('ingest').campaign({ value: 'replica-1' });
   */
  election(name: string): Election {
    validateLockName(name);
    return new Election(name, {
      backend: this.backend,
      ttl: this.defaults.ttl,
      closing: this.#closing.signal,
    });
  }

  /** Number of locks this manager holds right now (outermost holds). */
  get heldCount(): number {
    return this.#held.size;
  }

  /**
   * Stops new acquisitions, lets running holders finish for up to `shutdownGraceMs`, then closes
   * the backend (which deletes remaining keys and revokes leases). Idempotent.
   */
  close(): Promise<void> {
    this.#closed ??= this.#close();
    return this.#closed;
  }

  /**
   * First step of shutdown, on its own: refuses new acquisitions and ends waiting ones with
   * `LockClientClosedError`; locks already held stay held. Call it as early as shutdown starts
   * (Nest: `beforeApplicationShutdown`), then `close()` once the work in flight has ended.
   * Idempotent.
   */
  stopAcquiring(): void {
    if (!this.closing) this.#closing.abort(new LockClientClosedError());
  }

  async #close(): Promise<void> {
    this.stopAcquiring();
    if (this.#held.size > 0) {
      const drained = new Promise<void>((resolve) => (this.#drained = resolve));
      let timer: NodeJS.Timeout | undefined;
      const grace = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, this.defaults.shutdownGraceMs);
      });
      await Promise.race([drained, grace]);
      clearTimeout(timer);
    }
    await this.backend.close();
    // The backend has given up the locks still held: their hold spans end here.
    for (const held of this.#held) held.trace.end();
  }

  async #acquire(
    name: string,
    options: AcquireOptions,
    waitMsOption: number | undefined,
    call: 'acquire' | 'tryAcquire',
  ): Promise<LockHandle | null> {
    validateLockName(name);
    if (options === null || typeof options !== 'object') {
      throw new LockConfigError('options', 'options must be an object', options);
    }
    // A typo (`waitMS`, `permit`) or an option of another call (`waitMs` on a try) must not fall
    // back to a default: `{ permit: 3 }` would quietly be a mutex.
    rejectUnknownKeys(
      options,
      call === 'acquire' ? ACQUIRE_OPTION_KEYS : TRY_ACQUIRE_OPTION_KEYS,
      call === 'acquire' ? 'acquire()/withLock()' : 'tryAcquire()',
    );
    const ttl = validateTtl(options.ttl ?? this.defaults.ttl);
    const waitMs = validateDurationMs(waitMsOption ?? this.defaults.waitMs, 'waitMs');
    const signal = validateSignal(options.signal);
    const rule = validateLockMode(options.permits, options.shared);
    const label = options.label ?? ZZLOCK_DEFAULTS.label;
    const loading = openTelemetryLoading(); // the first acquisitions of the process, if any
    if (loading !== undefined) await loading;
    const trace = new AcquireTrace({ name, label, mode: rule.mode, call, waitMs });
    return trace.run(() => this.#acquireTraced(rule, ttl, signal, trace));
  }

  /** The acquisition of `trace.message`, its input validated. */
  async #acquireTraced(
    rule: LockModeRequest,
    ttl: number,
    signal: AbortSignal | undefined,
    trace: AcquireTrace,
  ): Promise<LockHandle | null> {
    const { name, label, waitMs } = trace.message;
    const { mode, permits } = rule;
    const startedAt = trace.startedAt;

    const entry = this.#scope.getStore()?.get(name);
    if (entry !== undefined && entry.held.holds > 0) {
      const refused = reentryError(entry.held, rule);
      if (refused !== undefined) throw refused;
      if (entry.held.grant.lost.aborted) throw entry.held.grant.lost.reason;
      entry.held.holds += 1;
      trace.reentrant();
      this.#emit('acquired', {
        name,
        label,
        mode: entry.held.mode,
        waitedMs: 0,
        contended: false,
        reentrant: true,
      });
      return this.#handleFor(entry.held);
    }
    if (this.closing) throw new LockClientClosedError(name);

    let grant: LockGrant | null;
    try {
      grant = await this.backend.acquire({
        name,
        mode,
        permits,
        ttl,
        waitMs,
        signal:
          signal === undefined
            ? this.#closing.signal
            : AbortSignal.any([signal, this.#closing.signal]),
      });
    } catch (error) {
      const abortedByClose = error instanceof LockAbortedError && this.closing && !signal?.aborted;
      const thrown = abortedByClose ? new LockClientClosedError(name) : error;
      this.#emit('acquireFailed', {
        name,
        label,
        mode,
        waitedMs: performance.now() - startedAt,
        outcome: failureCode(thrown),
        error: thrown,
      });
      throw thrown;
    }
    const waitedMs = performance.now() - startedAt;
    if (grant === null) {
      this.#emit('acquireFailed', { name, label, mode, waitedMs, outcome: 'ZZLOCK_BUSY' });
      // acquire() with no wait fails in its trace; a try's busy is an outcome, not an error.
      if (trace.message.call === 'acquire') throw new LockBusyError(name);
      trace.busy();
      return null;
    }
    const held = new HeldLock(grant, label, permits, mode, trace.granted(grant));
    this.#held.add(held);
    // Events of a grant tell the rule it was granted under, so acquired and released always meet.
    grant.lost.addEventListener(
      'abort',
      () => {
        held.trace.lost(grant.lost.reason);
        this.#emit('lost', { name, label, mode: held.mode });
      },
      { once: true },
    );
    this.#emit('acquired', {
      name,
      label,
      mode: held.mode,
      waitedMs,
      contended: grant.waited,
      reentrant: false,
    });
    return this.#handleFor(held);
  }

  #handleFor(held: HeldLock): LockHandle {
    const handle = new ReentrantLockHandle(held, this.#release);
    this.#handles.set(handle, held);
    return handle;
  }

  /** Releases a hold's lock; one function for every handle (no closure per handle). */
  readonly #release = (held: HeldLock): Promise<void> => this.#releaseHeld(held);

  #releaseHeld(held: HeldLock): Promise<void> {
    held.releasing ??= (async () => {
      let failure: unknown;
      try {
        await this.backend.release(held.grant);
      } catch (error) {
        failure = error;
        throw error;
      } finally {
        held.trace.end(failure);
        this.#held.delete(held);
        this.#emit('released', {
          name: held.name,
          label: held.label,
          mode: held.mode,
          heldMs: performance.now() - held.acquiredAt,
        });
        if (this.#held.size === 0) this.#drained?.();
      }
    })();
    return held.releasing;
  }

  #emit<K extends keyof LockObserver>(hook: K, event: EventOf<LockObserver[K]>): void {
    this.#observers.emit(hook, event);
  }
}
