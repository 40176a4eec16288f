import { ZZLockErrorCode } from './error-codes.js';
import { storeRejectedMessage } from './messages.js';
import { ZZLockError } from './zzlock.error.js';

/**
 * Why etcd refused a call, as {@link StoreRejectedError.reason}:
 * - `'permission-denied'`: the etcd user's roles do not grant read/write on the lock namespace;
 * - `'authentication-failed'`: wrong username or password, no credentials for an etcd with auth
 *   enabled, or credentials for an etcd without it;
 * - `'no-space'`: etcd's database is over its quota (`NOSPACE` alarm), so it refuses writes;
 * - `'corrupt'`: a member's data is corrupt (`CORRUPT` alarm).
 *
 * @example
 * if (error instanceof StoreRejectedError && error.reason === 'no-space') page('etcd is full');
 */
export type StoreRejectionReason =
  'permission-denied' | 'authentication-failed' | 'no-space' | 'corrupt';

/**
 * etcd answered and refused the call, for a reason that retrying will not fix: the credentials,
 * the user's permissions or the cluster's state must change first. zzlock does not retry these
 * (unlike {@link StoreUnavailableError}); the message says what to change. etcd's own error is
 * kept as `cause`.
 *
 * @example
 * try {
 *   await locks.acquire('report');
 * } catch (error) {
 *   if (error instanceof StoreRejectedError) logger.error(error.message); // fix config, no retry
 * }
 */
export class StoreRejectedError extends ZZLockError {
  readonly code = ZZLockErrorCode.StoreRejected;

  /**
   * @param operation What zzlock was doing (`acquire`, `release`, `lease grant`…).
   * @param lockName The lock concerned, when there is one.
   * @param reason Why etcd refused the call.
   * @param cause etcd's error.
   */
  constructor(
    readonly operation: string,
    lockName: string | undefined,
    readonly reason: StoreRejectionReason,
    cause: unknown,
  ) {
    super(storeRejectedMessage(operation, lockName, reason, cause), lockName, { cause });
  }
}
