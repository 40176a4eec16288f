/**
 * How a lock is held, one grant rule over the same FIFO queue:
 * - `exclusive`: one holder at a time (a mutex); granted when nothing is ahead of it;
 * - `semaphore`: up to `permits` holders at once; granted when fewer than `permits` are ahead;
 * - `shared`: held together with other shared holders; granted when no exclusive request is
 *   ahead of it (so a shared request that arrives after a waiting exclusive one waits behind it).
 */
export type LockMode = 'exclusive' | 'semaphore' | 'shared';

/** What a backend is asked for; every field is already validated. */
export interface AcquireRequest {
  /** The lock name. */
  readonly name: string;
  /** The grant rule. */
  readonly mode: LockMode;
  /**
   * Holders allowed at once: 1 for `exclusive` and `shared` (a shared request counts as one of
   * the lock's single exclusive-or-shared permit), 2 or more for `semaphore`. Every holder of a
   * name must ask for the same number, else the backend rejects with `LockConfigError`.
   */
  readonly permits: number;
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
  /** The grant rule it was granted under. */
  readonly mode: LockMode;
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
 * The state of one lease (session) a backend holds for a TTL, as health checks report it.
 *
 * @example
 * { ttl: 15, leaseId: '694d8a2f1c3b7e01', sinceKeepaliveMs: 812, lost: false }
 */
export interface LeaseState {
  /** The TTL the lease was granted with, in seconds. */
  readonly ttl: number;
  /** The lease id in hex. */
  readonly leaseId: string;
  /** Milliseconds since the store last confirmed a keepalive. */
  readonly sinceKeepaliveMs: number;
  /** True once the library considers it lost. */
  readonly lost: boolean;
}

/**
 * What one member of the store's cluster said about itself, or why it said nothing.
 *
 * @example
 * { endpoint: 'http://10.0.0.1:2379', reachable: true, latencyMs: 3, memberId: '8e9e05c52164694d',
 *   leaderId: '8e9e05c52164694d', raftTerm: 2, dbSize: 20480, errors: [] }
 */
export interface StoreMemberHealth {
  /** The configured client URL. */
  endpoint: string;
  /** True when the member answered its status within the probe deadline. */
  reachable: boolean;
  /** Round trip of the status call, in ms (also for a failure). */
  latencyMs: number;
  /** The member's id, in hex as etcdctl prints it. */
  memberId?: string;
  /** The leader this member follows, in hex; absent when it knows of none. */
  leaderId?: string;
  /** The member's Raft term. */
  raftTerm?: number;
  /** Size of the member's database file, in bytes. */
  dbSize?: number;
  /** The member's server version. */
  version?: string;
  /** Alarms the member reports (e.g. `NOSPACE`), empty when none. */
  errors?: string[];
  /** Why the member could not be probed. */
  error?: string;
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
  /** The live lease behind each TTL in use, for health reports; `[]` for a store without leases. */
  leaseStates(): LeaseState[];
  /**
   * Asks every configured member of the store for its status, each within `timeoutMs` (its own
   * deadline, whatever the store's call timeout), through connections the backend keeps anyway:
   * a probe opens none. Never rejects: an unreachable member, or a closed backend, is reported
   * as such. `[]` for a store without members.
   */
  probeMembers(timeoutMs: number): Promise<StoreMemberHealth[]>;
}
