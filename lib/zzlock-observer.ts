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
 * How this replica's standing in an election declared by `@LeaderOnly` or `@OnLeadership` changed:
 * - `campaigning`: it stands (again) and waits to be elected;
 * - `elected`: it leads;
 * - `lost`: it stopped leading because the leadership was lost (its lease could not be renewed in
 *   time, its key is gone, the store closed);
 * - `resigned`: it gave the leadership up (shutdown, or an `@OnLeadership` method's `resign()`).
 *
 * @example
 * 'elected'
 */
export type LeadershipChange = 'campaigning' | 'elected' | 'lost' | 'resigned';

/**
 * This replica's standing in an election changed (see {@link LeadershipChange}).
 *
 * @example
 * lockService.observe({
 *   leadership: (e) => console.log(`${e.election}: ${e.change}${e.term ? ` (term ${e.term})` : ''}`),
 * });
 */
export interface LeadershipChangeEvent {
  /** The election, as the decorators declare it. */
  readonly election: string;
  /** What happened. */
  readonly change: LeadershipChange;
  /** True from `elected` until `lost` or `resigned`. */
  readonly leading: boolean;
  /** What this replica proclaims (the module's `elections.value`). */
  readonly value: string;
  /** The term of the leadership that began or ended; absent for `campaigning`. */
  readonly term?: bigint;
  /** Why it ended, for `lost`: the leadership signal's reason (a `LockLostError`). */
  readonly reason?: unknown;
}

/**
 * A `@LeaderOnly` method did not run because this replica does not lead its election.
 *
 * @example
 * lockService.observe({ leaderOnlySkipped: (e) => console.log(`${e.method} skipped: ${e.reason}`) });
 */
export interface LeaderOnlySkippedEvent {
  /** The election the method is reserved to the leader of. */
  readonly election: string;
  /** The method that was skipped, as `Class.method`. */
  readonly method: string;
  /**
   * `not-leader` (another replica leads, or none yet), or `closing` (this replica is shutting
   * down: it resigned or is about to).
   */
  readonly reason: 'not-leader' | 'closing';
}

/**
 * The core's lock lifecycle hooks, plus the Nest-only `skipped`, `leadership` and
 * `leaderOnlySkipped`. Add one with
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
  /** This replica's standing in an election its decorators declare changed. */
  leadership?(event: LeadershipChangeEvent): void;
  /** A `@LeaderOnly` method was skipped: this replica does not lead. */
  leaderOnlySkipped?(event: LeaderOnlySkippedEvent): void;
}
