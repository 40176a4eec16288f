import type { LockEventBase, LockObserver } from './core/index.js';

/**
 * A `@Locked` method did not run because its lock stayed busy (or could not be asked for) and it
 * says `onBusy: 'skip'`.
 *
 * @example
 * lockService.observe({ skipped: (e) => console.log(`${e.label} skipped (${e.reason})`) });
 */
export interface LockSkippedEvent extends LockEventBase {
  /**
   * Why: `busy` (held, `waitMs` 0), `timeout` (held past `waitMs`), `closed` (the application is
   * shutting down) or `unavailable` (etcd did not answer: `StoreUnavailableError`).
   */
  readonly reason: 'busy' | 'timeout' | 'closed' | 'unavailable';
  /** The method that was skipped, as `Class.method`. */
  readonly method: string;
}

/**
 * The core's lock lifecycle hooks, plus the Nest-only `skipped`. Add one with
 * `LockService.observe()`; each hook is optional and gets a plain frozen event. A hook must not
 * throw: one that does is logged as a `ZZLock` warning the first time (once per observer and
 * hook), and is still called for later events.
 *
 * @example
 * lockService.observe({
 *   acquired: (e) => logger.debug(`${e.label} after ${e.waitedMs} ms`),
 *   skipped: (e) => logger.debug(`${e.method} skipped`),
 * });
 */
export interface ZZLockObserver extends LockObserver {
  /** A `@Locked(..., { onBusy: 'skip' })` method was skipped. */
  skipped?(event: LockSkippedEvent): void;
}
