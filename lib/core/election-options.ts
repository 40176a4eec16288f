/** Options of `election.campaign()`. */
export interface CampaignOptions {
  /**
   * What this candidate proclaims once elected (its address, its replica name): every observer
   * reads it, and so does etcd's `Election` (`etcdctl elect -l`). A string of at most 4096 bytes
   * in UTF-8 (`ZZLOCK_LIMITS.maxElectionValueBytes`); change it later with `proclaim()`.
   * @example
   * await election.campaign({ value: `${hostname()}:${port}` });
   */
  value: string;
  /**
   * Lease TTL in seconds: if this process dies while leading, another candidate is elected this
   * long after its last renewal. An integer from 1 to 86 400.
   * @default the client's `ttl` (15)
   */
  ttl?: number;
  /**
   * Abandons the campaign when it fires: the candidate leaves the queue and `campaign()` rejects
   * with `LockAbortedError`. A campaign has no other deadline.
   */
  signal?: AbortSignal;
}

/** Options of `election.observe()`. */
export interface ObserveLeaderOptions {
  /** Ends the iteration when it fires (so does closing the client, or a `break`). */
  signal?: AbortSignal;
}

/**
 * This process's leadership of an election: what `campaign()` resolves with, once elected. Keep it
 * as long as you lead; resign it exactly once, or let `await using` do it.
 *
 * @example
 * await using leadership = await election.campaign({ value: 'replica-1' });
 * while (!leadership.signal.aborted) await ingestBatch({ fence: leadership.term, signal: leadership.signal });
 */
export interface Leadership extends AsyncDisposable {
  /** The election's name, as given to `election()`. */
  readonly name: string;
  /**
   * The term: strictly increasing across the leaders of one election (etcd's create revision of
   * the candidate's key). A fencing token: pass it with every write the leader makes, and have the
   * resource reject a write that carries a smaller one.
   */
  readonly term: bigint;
  /** What this leader proclaims now: the campaign's value, or the last `proclaim()`. */
  readonly value: string;
  /**
   * Aborts, with a `LockLostError` as reason, the moment the library decides the leadership is
   * lost (its lease could not be renewed in time, its key is gone, or the client closed): before
   * etcd can expire the lease and elect someone else. Never aborts on `resign()`.
   */
  readonly signal: AbortSignal;
  /** True once `resign()` was called. */
  readonly resigned: boolean;
  /**
   * Changes the proclaimed value without a new election: the term stays, observers are told.
   * Proclaims of one leadership apply in call order.
   * @throws LockConfigError (bad value, before any network call), LockLostError (the leadership
   *   was lost), LockNotHeldError (it was resigned), StoreUnavailableError
   * @example
   * await leadership.proclaim('replica-1 v2');
   */
  proclaim(value: string): Promise<void>;
  /**
   * Gives the leadership up: the next candidate is elected within one round trip. Idempotent;
   * never throws for a leadership that was already lost.
   */
  resign(): Promise<void>;
}
