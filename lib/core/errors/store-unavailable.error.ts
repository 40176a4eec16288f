import { ZZLockErrorCode } from './error-codes.js';
import { storeUnavailableMessage } from './messages.js';
import { ZZLockError } from './zzlock.error.js';

/**
 * The lock store did not answer within the call deadline (`callTimeoutMs`), or refused the
 * connection. The operation's outcome is unknown to the caller, but zzlock cleans up after itself:
 * a key it may have written is deleted in the background.
 */
export class StoreUnavailableError extends ZZLockError {
  readonly code = ZZLockErrorCode.StoreUnavailable;

  /**
   * @param operation What zzlock was doing (`acquire`, `release`, `lease grant`…).
   * @param lockName The lock concerned, when there is one.
   * @param cause The underlying client error.
   */
  constructor(
    readonly operation: string,
    lockName: string | undefined,
    cause: unknown,
  ) {
    super(storeUnavailableMessage(operation, lockName, cause), lockName, { cause });
  }
}
