import { ZZLockErrorCode } from './error-codes.js';
import { lockTimeoutMessage } from './messages.js';
import { ZZLockError } from './zzlock.error.js';

/**
 * The lock was not granted within `waitMs`. Nothing is left behind in the store: the queued key
 * was deleted before this error was thrown.
 */
export class LockTimeoutError extends ZZLockError {
  readonly code = ZZLockErrorCode.Timeout;

  /**
   * @param lockName The lock that could not be acquired.
   * @param waitMs How long the caller waited, in milliseconds.
   */
  constructor(
    lockName: string,
    readonly waitMs: number,
  ) {
    super(lockTimeoutMessage(lockName, waitMs), lockName);
  }
}
