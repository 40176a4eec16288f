import { ZZLockErrorCode } from './error-codes.js';
import { lockAbortedMessage } from './messages.js';
import { ZZLockError } from './zzlock.error.js';

/**
 * The caller's `AbortSignal` fired while the lock was being acquired. The queued key was deleted;
 * the signal's reason is kept as `cause`.
 */
export class LockAbortedError extends ZZLockError {
  readonly code = ZZLockErrorCode.Aborted;

  /**
   * @param lockName The lock whose acquisition was abandoned.
   * @param reason The abort reason given to the signal.
   */
  constructor(lockName: string, reason: unknown) {
    super(lockAbortedMessage(lockName), lockName, { cause: reason });
  }
}
