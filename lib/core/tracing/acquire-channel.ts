import diagnosticsChannel from 'node:diagnostics_channel';
import type { LockAcquireOutcome } from '../acquire-outcome.js';
import type { LockMode } from '../lock-backend.js';
import type { LockHandle } from '../lock-handle.js';
import { ZZLOCK_TRACING } from './tracing-names.js';

/**
 * The message of the `zzlock:acquire` tracing channel (`node:diagnostics_channel`): one object
 * per acquisition, the same object in each of its events, so a subscriber can keep state on it.
 * Events, as `tracingChannel.tracePromise` publishes them: `start` when the call begins (after
 * its input was validated: bad input publishes nothing), `end` when it has returned its promise,
 * then `error` (for a failure), `asyncStart` and `asyncEnd` once it settled. `outcome`,
 * `waitedMs` and `fencingToken` are set before the promise settles, so every settled event
 * sees them; Node sets `result` or `error`.
 *
 * @example
 * import diagnosticsChannel from 'node:diagnostics_channel';
 * diagnosticsChannel.tracingChannel<unknown, LockAcquireMessage>('zzlock:acquire').subscribe({
 *   start: () => {},
 *   end: () => {},
 *   asyncStart: (message) => console.log(message.label, message.outcome, message.waitedMs),
 *   asyncEnd: () => {},
 *   error: (message) => console.warn(message.label, message.error),
 * });
 */
export interface LockAcquireMessage {
  /** The lock name as asked for (may be a per-entity key). */
  readonly name: string;
  /** The call's bounded `label` (`'unlabelled'` when it gives none). */
  readonly label: string;
  /** `exclusive`, `semaphore` or `shared`. */
  readonly mode: LockMode;
  /** Which call: `acquire` (also `withLock` and `@Locked`) or `tryAcquire`. */
  readonly call: 'acquire' | 'tryAcquire';
  /** The wait allowed, in ms (0 for `tryAcquire`). */
  readonly waitMs: number;
  /** How it ended (set before the promise settles). */
  outcome?: LockAcquireOutcome;
  /** From the call to the grant or the failure, in ms (set before the promise settles). */
  waitedMs?: number;
  /** The grant's fencing token as a decimal string, once granted. */
  fencingToken?: string;
  /** Set by Node on success: the handle, or `null` for a `tryAcquire` that found it busy. */
  result?: LockHandle | null;
  /** Set by Node on failure: what the call threw. */
  error?: unknown;
}

const acquireChannel = diagnosticsChannel.tracingChannel<unknown, LockAcquireMessage>(
  ZZLOCK_TRACING.acquireChannel,
);

/**
 * Runs `body` as one traced acquisition on the `zzlock:acquire` channel, or just runs it when
 * nobody subscribes (Node before 20.13 has no `hasSubscribers`: traced then).
 * @internal
 */
export function publishAcquire<T>(message: LockAcquireMessage, body: () => Promise<T>): Promise<T> {
  const subscribed = (acquireChannel as { hasSubscribers?: boolean }).hasSubscribers ?? true;
  return subscribed ? acquireChannel.tracePromise(body, message) : body();
}
