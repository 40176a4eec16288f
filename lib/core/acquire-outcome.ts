import type { ZZLockErrorCode } from './errors/error-codes.js';
import { ZZLockError } from './errors/zzlock.error.js';

/** `ZZLOCK_STORE_UNAVAILABLE` → `store_unavailable`. */
type OutcomeOfCode<C> = C extends `ZZLOCK_${infer Rest}` ? Lowercase<Rest> : never;

/**
 * How an acquisition ended, as metrics (`outcome` label) and traces (`zzlock.acquire.outcome`)
 * tell it: `acquired`, `reentrant` (a nested hold in the same call chain), or the error code
 * without its prefix in lower case (`busy`, `timeout`, `aborted`, `closed`, `store_unavailable`,
 * `store_rejected`, `config`, `lost`, …), `error` for an error that is no `ZZLockError`.
 *
 * @example
 * const outcome: LockAcquireOutcome = 'timeout';
 */
export type LockAcquireOutcome =
  'acquired' | 'reentrant' | OutcomeOfCode<ZZLockErrorCode> | 'error';

/**
 * The outcome of a failed acquisition from its error code (`'ERROR'` for an unexpected error).
 * @internal
 */
export function failedOutcome(code: ZZLockErrorCode | 'ERROR'): LockAcquireOutcome {
  return code.replace(/^ZZLOCK_/, '').toLowerCase() as LockAcquireOutcome;
}

/**
 * The code an observer's `acquireFailed` event gives for `error`.
 * @internal
 */
export function failureCode(error: unknown): ZZLockErrorCode | 'ERROR' {
  return error instanceof ZZLockError ? error.code : 'ERROR';
}
