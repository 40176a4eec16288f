import { ZZLockErrorCode } from './error-codes.js';
import { clientClosedMessage } from './messages.js';
import { ZZLockError } from './zzlock.error.js';

/** The lock client is shutting down or closed, so it takes no new acquisitions. */
export class LockClientClosedError extends ZZLockError {
  readonly code = ZZLockErrorCode.Closed;

  /** @param lockName The lock whose acquisition was refused. */
  constructor(lockName?: string) {
    super(clientClosedMessage(lockName), lockName);
  }
}
