import { ZZLockErrorCode } from './error-codes.js';
import { leadershipResignedMessage, lockNotHeldMessage } from './messages.js';
import { ZZLockError } from './zzlock.error.js';

/** An operation needs a lock to be held in the current call chain, and it is not. */
export class LockNotHeldError extends ZZLockError {
  readonly code = ZZLockErrorCode.NotHeld;

  /**
   * @param lockName The lock that was expected to be held, if a specific one was.
   * @param message What was expected, when not a lock of the call chain.
   */
  constructor(lockName?: string, message: string = lockNotHeldMessage(lockName)) {
    super(message, lockName);
  }

  /**
   * The error of a leadership used after it was resigned (a `proclaim()`).
   * @param election The election.
   * @example
   * throw LockNotHeldError.resigned('ingest'); // code 'ZZLOCK_NOT_HELD', lockName 'ingest'
   */
  static resigned(election: string): LockNotHeldError {
    return new LockNotHeldError(election, leadershipResignedMessage(election));
  }
}
