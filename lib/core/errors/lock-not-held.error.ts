import { ZZLockErrorCode } from './error-codes.js';
import { lockNotHeldMessage } from './messages.js';
import { ZZLockError } from './zzlock.error.js';

/** An operation needs a lock to be held in the current call chain, and it is not. */
export class LockNotHeldError extends ZZLockError {
  readonly code = ZZLockErrorCode.NotHeld;

  /** @param lockName The lock that was expected to be held, if a specific one was. */
  constructor(lockName?: string) {
    super(lockNotHeldMessage(lockName), lockName);
  }
}
