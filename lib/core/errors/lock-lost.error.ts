import { ZZLockErrorCode } from './error-codes.js';
import { lockLostMessage } from './messages.js';
import { ZZLockError } from './zzlock.error.js';

/**
 * A held lock was lost: its lease was not renewed within its TTL (store unreachable, process
 * paused), so another holder may already have it. Set as the `reason` of the handle's `signal`.
 */
export class LockLostError extends ZZLockError {
  readonly code = ZZLockErrorCode.Lost;

  /**
   * @param lockName The lock that was lost.
   * @param leaseId The etcd lease (hex) the lock was attached to, when there is one.
   * @param detail Why the library considers the lock lost.
   */
  constructor(
    lockName: string,
    readonly leaseId: string | undefined,
    detail: string,
  ) {
    super(lockLostMessage(lockName, detail), lockName);
  }
}
