import type { ZZLockErrorCode } from './errors/error-codes.js';
import type { LockMode } from './lock-backend.js';

/** Names the lock an event is about. */
export interface LockEventBase {
  /** The lock name (may be a per-entity key: do not use as a metric label). */
  readonly name: string;
  /**
   * The call's `label` (`@Locked`: its declared name or `label`, else `Class.method`), or
   * `'unlabelled'` when a call gives none: bounded, safe as a metric label.
   */
  readonly label: string;
  /**
   * How the lock was asked for or is held (`exclusive`, `semaphore`, `shared`): three values,
   * safe as a metric label. A re-entrant hold reports the outer hold's mode.
   */
  readonly mode: LockMode;
}

/** A lock was granted. */
export interface LockAcquiredEvent extends LockEventBase {
  /** From the call to the grant, in ms. */
  readonly waitedMs: number;
  /** True when the lock was held by someone else when asked for. */
  readonly contended: boolean;
  /** True when the grant was a nested hold in the same call chain. */
  readonly reentrant: boolean;
}

/** An acquisition ended without a lock. */
export interface LockAcquireFailedEvent extends LockEventBase {
  /** From the call to the failure, in ms. */
  readonly waitedMs: number;
  /** Why: `ZZLOCK_BUSY` for a busy try, the error code otherwise, `ERROR` for anything unexpected. */
  readonly outcome: ZZLockErrorCode | 'ERROR';
  /** The error the acquisition failed with; absent for a try that found the lock busy. */
  readonly error?: unknown;
}

/** A lock was released (outermost hold). */
export interface LockReleasedEvent extends LockEventBase {
  /** From the grant to the release, in ms. */
  readonly heldMs: number;
}

/** The store failed a call. */
export interface StoreErrorEvent {
  /** What zzlock was doing. */
  readonly operation: string;
  /** The error. */
  readonly error: unknown;
}

/** A store operation that had failed succeeds again: its outage is over. */
export interface StoreRecoveredEvent {
  /** What zzlock was doing (`lease keepalive`, …). */
  readonly operation: string;
}

/**
 * Hooks into the lock lifecycle; zzlock's Prometheus metrics are one observer. Each hook is
 * optional and gets a plain frozen event object. A hook must not throw: one that does breaks no
 * lock, is reported the first time (once per observer and hook: a Node warning from
 * `LockClient`, a `ZZLock` warning in Nest, `onObserverError` of a `LockManager` you build) and
 * is still called for later events.
 *
 * @example
 * locks.observe({ lost: ({ name, label }) => alerts.send(`lock ${name} (${label}) lost`) });
 */
export interface LockObserver {
  /** A lock was granted. */
  acquired?(event: LockAcquiredEvent): void;
  /** An acquisition ended without a lock (busy, timeout, abort, store error…). */
  acquireFailed?(event: LockAcquireFailedEvent): void;
  /** A lock was released. */
  released?(event: LockReleasedEvent): void;
  /** A held lock was lost. */
  lost?(event: LockEventBase): void;
  /** A call to the store failed (every failed attempt). */
  storeError?(event: StoreErrorEvent): void;
  /** A store operation that had failed succeeds again. */
  storeRecovered?(event: StoreRecoveredEvent): void;
}
