/**
 * Stable machine-readable codes carried by every {@link ZZLockError}. Match on these, not on
 * messages or class names: they never change between releases.
 */
export const ZZLockErrorCode = {
  /** The lock could not be acquired before `waitMs` ran out. */
  Timeout: 'ZZLOCK_TIMEOUT',
  /** The lock is held by someone else and the caller chose not to wait. */
  Busy: 'ZZLOCK_BUSY',
  /** The caller's `AbortSignal` fired while waiting for the lock. */
  Aborted: 'ZZLOCK_ABORTED',
  /** A held lock was lost: its lease could not be renewed in time. */
  Lost: 'ZZLOCK_LOST',
  /** An operation needs the lock to be held, and it is not. */
  NotHeld: 'ZZLOCK_NOT_HELD',
  /** A lock name, TTL, wait or module option is invalid. */
  Config: 'ZZLOCK_CONFIG',
  /**
   * The lock store (etcd) did not answer within the call deadline, or the connection failed:
   * transient, worth retrying later.
   */
  StoreUnavailable: 'ZZLOCK_STORE_UNAVAILABLE',
  /**
   * The lock store (etcd) answered and refused the call for a reason retrying will not fix
   * (permission denied, authentication failed, database space exceeded, corrupt cluster).
   */
  StoreRejected: 'ZZLOCK_STORE_REJECTED',
  /** The client is closing or closed and takes no new acquisitions. */
  Closed: 'ZZLOCK_CLOSED',
  /**
   * An entry of the package was loaded without the peer dependencies it needs (the Nest entry
   * `zzlock` without `@nestjs/common`, say).
   */
  PeerMissing: 'ZZLOCK_PEER_MISSING',
} as const;

/** One of the {@link ZZLockErrorCode} values. */
export type ZZLockErrorCode = (typeof ZZLockErrorCode)[keyof typeof ZZLockErrorCode];
