import type { LockMode } from './lock-backend.js';

/**
 * One holder of a lock as the store shows it: who put the key, on which lease, with which
 * fencing token, and how long that lease has left.
 *
 * @example
 * { owner: 'api-7f9c:4242', lease: '694d8a2f1c3b7e01', fencingToken: 1042n, ttlLeft: 13 }
 */
export interface LockHolderInfo {
  /**
   * The process that holds it, `host:pid`, as written in its key. `''` for a key that names no
   * owner (one of etcd's own recipe, `etcdctl lock`).
   */
  readonly owner: string;
  /** The lease the key is on, in hex as etcdctl prints it; `null` for a store without leases. */
  readonly lease: string | null;
  /** The create revision of the holder's key: the fencing token its handle carries. */
  readonly fencingToken: bigint;
  /**
   * Seconds left on the lease when it was looked up (etcd's lease TimeToLive); `null` for a store
   * without leases, or when the lease was gone by then (it expired, or was revoked, just after the
   * keys were read).
   */
  readonly ttlLeft: number | null;
}

/**
 * One lock of a namespace, as its queue in the store stands at one moment: the holders that the
 * lock's grant rule admits, and how many keys wait behind them.
 *
 * @example
 * { name: 'export', mode: 'semaphore', permits: 3, holders: [ … 3 holders … ], waiting: 2 }
 */
export interface LockInfo {
  /** The lock name, as given to `acquire()`. */
  readonly name: string;
  /**
   * The mode of the lock's oldest key, which its other holders share (a queue is granted from its
   * head). Waiters may be of another mode: exclusive requests waiting behind shared holders.
   */
  readonly mode: LockMode;
  /** Holders allowed at once: the semaphore's permits, 1 for a mutex and for a shared lock. */
  readonly permits: number;
  /** The holders, oldest first. */
  readonly holders: readonly LockHolderInfo[];
  /** Keys queued behind the holders: acquisitions waiting for their turn. */
  readonly waiting: number;
}

/**
 * One election of a namespace: its leader (the oldest candidate) and how many candidates wait to
 * lead after it.
 *
 * @example
 * { name: 'ingest', leader: { value: 'replica-1', term: 2051n, lease: '694d…', ttlLeft: 14 }, waiting: 2 }
 */
export interface ElectionInfo {
  /** The election name, as given to `election()`. */
  readonly name: string;
  /** The leader: what it proclaimed, its term (its fencing token), its lease and time left. */
  readonly leader: {
    readonly value: string;
    readonly term: bigint;
    readonly lease: string | null;
    readonly ttlLeft: number | null;
  };
  /** Candidates campaigning behind the leader. */
  readonly waiting: number;
}

/**
 * Every lock and election of a namespace, read at one revision of the store (lease times are
 * looked up just after). Read-only: nothing is written, nothing is held.
 *
 * @example
 * const { locks, elections } = await lockClient.inspect();
 */
export interface StoreInspection {
  /** The locks, by name. */
  readonly locks: readonly LockInfo[];
  /** The elections, by name. */
  readonly elections: readonly ElectionInfo[];
}
