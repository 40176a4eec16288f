/** What a backend is asked for; every field is already validated. */
export interface AcquireRequest {
  /** The lock name. */
  readonly name: string;
  /** Lease TTL in seconds. */
  readonly ttl: number;
  /** How long to wait in ms; `0` means "try once", `Infinity` "until granted or aborted". */
  readonly waitMs: number;
  /** Abandons the wait when it fires. */
  readonly signal?: AbortSignal;
}

/** A lock granted by a backend. */
export interface LockGrant {
  /** The lock name. */
  readonly name: string;
  /** Strictly increasing across grants of one name. */
  readonly fencingToken: bigint;
  /** Aborted with a `LockLostError` when the backend decides the lock is lost. */
  readonly lost: AbortSignal;
  /** True when the grant had to wait behind another holder. */
  readonly waited: boolean;
  /** Backend-specific identity of the holder (etcd lease in hex), for errors and logs. */
  readonly owner?: string;
}

/**
 * A lock store. zzlock ships {@link EtcdBackend} (production) and {@link MemoryBackend} (one
 * process, for unit tests and local development); both keep the same contract:
 * mutual exclusion, FIFO grants, strictly increasing fencing tokens, nothing left behind on
 * timeout, abort or close.
 */
export interface LockBackend {
  /**
   * Queues for the lock and resolves when granted. Resolves `null` when `waitMs` is 0 and the lock
   * is held. Rejects with `LockTimeoutError`, `LockAbortedError`, `StoreUnavailableError` or
   * `LockClientClosedError`, leaving nothing queued.
   */
  acquire(request: AcquireRequest): Promise<LockGrant | null>;
  /** Gives a grant up. Idempotent; resolves also for a lost grant. */
  release(grant: LockGrant): Promise<void>;
  /** Refuses new acquisitions, abandons waits, deletes every key and lease it holds. */
  close(): Promise<void>;
}
