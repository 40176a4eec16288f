/**
 * Every default zzlock uses, in one place. forRoot, forRootAsync, LockClient and @Locked all read
 * from here; none repeats a literal.
 */
export const ZZLOCK_DEFAULTS = {
  /** Key prefix under which every lock lives in etcd. */
  namespace: 'zzlock/',
  /** Lease TTL of a lock, in seconds: how long a dead holder keeps it. */
  ttl: 15,
  /** How long `acquire()` waits for a held lock before `LockTimeoutError`, in ms. */
  acquireWaitMs: 10_000,
  /** How long a `@Locked` method waits for a held lock before its busy policy applies, in ms. */
  decoratorWaitMs: 0,
  /** Deadline of every single call to etcd, in ms; past it the call fails with StoreUnavailableError. */
  callTimeoutMs: 5_000,
  /** How long close() lets running holders finish before deleting their keys, in ms. */
  shutdownGraceMs: 10_000,
  /**
   * How long a lease may go unused (no lock held or waited for on it) before it is revoked and its
   * keepalives stop, in ms. The next acquisition grants a fresh lease (one more round trip).
   */
  leaseIdleMs: 60_000,
  /**
   * How long a waiter goes without a watch event before it reads the queue again, in ms: the
   * safety net for a watch stream stuck on a frozen or cut-off member. Handoffs are event-driven.
   */
  waiterRecheckMs: 2_000,
  /** The longest a waiter goes without reading, in ms: the recheck doubles up to it while quiet. */
  waiterRecheckMaxMs: 16_000,
  /**
   * How long a watch on a queue key stays open after its last waiter left, in ms: a cycling queue
   * puts the same process behind the same key again, and finds the watch already there.
   */
  watchLingerMs: 1_000,
  /**
   * Label of the events (and metric series) of a call that gives no `label`: one constant, so a
   * per-entity name (`order:123`) never becomes a label of its own. `@Locked` gives its declared
   * name or `Class.method` instead.
   */
  label: 'unlabelled',
} as const;

/** Limits on input, checked before any network call. */
export const ZZLOCK_LIMITS = {
  /** Longest lock name, in characters. */
  maxNameLength: 256,
  /** Smallest lease TTL, in seconds. */
  minTtl: 1,
  /** Largest lease TTL, in seconds (one day). */
  maxTtl: 86_400,
  /**
   * Most `permits` of a semaphore: each holder is a key in the lock's queue that every waiter may
   * have to read past, so a semaphore stays small.
   */
  maxPermits: 256,
  /**
   * Largest value an election candidate proclaims, in UTF-8 bytes: every observer reads it at each
   * change, and it is stored in etcd as it is.
   */
  maxElectionValueBytes: 4096,
} as const;
