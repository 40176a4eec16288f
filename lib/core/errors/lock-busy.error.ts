import { ZZLockErrorCode } from './error-codes.js';
import { lockBusyMessage } from './messages.js';
import { ZZLockError } from './zzlock.error.js';

/** The lock is held by someone else and the caller asked not to wait (`waitMs: 0`). */
export class LockBusyError extends ZZLockError {
  readonly code = ZZLockErrorCode.Busy;

  /** @param lockName The lock that is held elsewhere. */
  constructor(lockName: string) {
    super(lockBusyMessage(lockName), lockName);
  }
}
