import type { ZZLockErrorCode } from './error-codes.js';

/**
 * Base class of every error zzlock throws. Each subclass sets a stable {@link ZZLockError.code}
 * and carries the lock name it is about, when there is one.
 *
 * @example
 * try {
 *   await locks.acquire('report', { waitMs: 100 });
 * } catch (error) {
 *   if (error instanceof ZZLockError && error.code === 'ZZLOCK_TIMEOUT') retryLater();
 * }
 */
export abstract class ZZLockError extends Error {
  /** Stable machine-readable code; see {@link ZZLockErrorCode}. */
  abstract readonly code: ZZLockErrorCode;

  /**
   * @param message What happened and what to do about it.
   * @param lockName The lock concerned, when there is one.
   * @param options Standard error options (`cause`).
   */
  protected constructor(
    message: string,
    readonly lockName?: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}
