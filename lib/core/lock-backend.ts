import type { StoreInspection } from './lock-inspection.js';

/**
 * How a lock is held, one grant rule over the same FIFO queue:
 * - `exclusive`: one holder at a time (a mutex); granted when nothing is ahead of it;
 * - `semaphore`: up to `permits` holders at once; granted when fewer than `permits` are ahead;
 * - `shared`: held together with other shared holders; granted when no exclusive request is
 *   ahead of it (so a shared request that arrives after a waiting exclusive one waits behind it).
 */
export type LockMode = 'exclusive' | 'semaphore' | 'shared';

/**
 * The grant rule of a queued key, as a backend is asked for it: a lock's {@link LockMode}, or
 * `election`, a candidate of a leader election. An election is the exclusive rule (granted, that
 * is elected, when no older key is queued) over a queue of its own, whose keys carry the value the
 * candidate proclaims instead of an owner and permits: the oldest key's value is the leader's.
 */
export type GrantMode = LockMode | 'election';

/**
 * The leader of an election as the store reports it.
 *
 * @example
 * { value: 'replica-1', term: 1042n }
 */
export interface Leader {
  /** What the leader proclaimed (its campaign value, or the last `proclaim()`). */
  readonly value: string;
  /**
   * The leader's term: the create revision of its key, strictly increasing across leaders of one
   * election. A fencing token: pass it to what the leader writes to, and reject smaller ones.
   */
  readonly term: bigint;
}

/** What a backend is asked for; every field is already validated. */
export interface AcquireRequest {
  /** The lock name. */
  readonly name: string;
  /** The grant rule. */
  readonly mode: GrantMode;
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
  /**
   * What an `election` candidate proclaims: the value of its key, read by every observer of the
   * election (and by etcd's own `Election` on the same prefix). Required for `election`, ignored
   * otherwise.
   */
  readonly value?: string;
}

/** A lock granted by a backend. */
export interface LockGrant {
  /** The lock name. */
  readonly name: string;
  /** The grant rule it was granted under. */
  readonly mode: GrantMode;
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
  /**
   * Changes the value of an `election` grant's key, keeping its term and its lease: only if the
   * key still exists in the incarnation it was granted (created at its fencing token).
   * @throws LockLostError when the key is gone (the grant is then marked lost), or it was lost
   *   already; StoreUnavailableError when the store did not answer (the value may or may not have
   *   changed)
   */
  proclaim(grant: LockGrant, value: string): Promise<void>;
  /**
   * The leader of election `name` right now: the value and term of its oldest candidate, `null`
   * when there is none.
   * @throws StoreUnavailableError
   */
  leader(name: string): Promise<Leader | null>;
  /**
   * The leader of election `name` (or `null`) now, then each time it changes (another term, or
   * a new value): never a change missed, never a stale leader after a reconnect. Ends when
   * `signal` aborts or the backend closes; rides out store failures meanwhile, except a refusal
   * (`StoreRejectedError`, thrown from the iteration).
   */
  observeLeader(name: string, signal: AbortSignal): AsyncIterable<Leader | null>;
  /**
   * Every lock and election of the namespace, with holders (owner, lease, fencing token, lease
   * time left), leaders and how many wait, from one read of the store (plus a lease lookup per
   * holder's lease). Read-only: it writes nothing and holds nothing.
   * @throws StoreUnavailableError, StoreRejectedError (etcd refused the read),
   *   LockClientClosedError
   */
  inspect(): Promise<StoreInspection>;
}
