/** Per-call options of `acquire()`. */
export interface AcquireOptions {
  /**
   * Lease TTL in seconds: if this process dies, the lock frees itself this long after its last
   * renewal. An integer from 1 to 86 400.
   * @default the client's `ttl` (15)
   */
  ttl?: number;
  /**
   * How long to wait for a held lock, in ms; `0` fails at once with `LockBusyError`, `Infinity`
   * waits until granted or aborted.
   * @default 10000
   */
  waitMs?: number;
  /** Abandons the wait when it fires: the queued key is deleted and `LockAbortedError` thrown. */
  signal?: AbortSignal;
  /**
   * Label of this lock in observer events and metric series: a bounded name for the kind of lock
   * (`'order'` for `order:${id}`), never a per-entity key. Without it every call shares the one
   * label `'unlabelled'` (`ZZLOCK_DEFAULTS.label`), so that per-entity names cannot multiply the
   * series: give one to tell your locks apart in metrics.
   * @default 'unlabelled'
   */
  label?: string;
  /**
   * Makes the lock a semaphore: up to this many holders at once, across processes, granted in
   * arrival order (a request is granted when fewer than `permits` requests are ahead of it). A
   * whole number from 1 to 256 (`ZZLOCK_LIMITS.maxPermits`); 1 is a mutex. Every holder of a
   * name must ask for the same number (a mutex and a shared lock count as 1): another number is
   * a `LockConfigError` naming both. Not together with `shared: true`.
   * @default 1
   * @example
   * await using permit = await locks.acquire('export', { permits: 3, waitMs: 10_000 });
   */
  permits?: number;
  /**
   * Takes the lock shared (a reader): held together with other shared holders, granted in
   * arrival order once no exclusive request is ahead of it, so a reader that arrives after a
   * waiting writer waits behind it (writers do not starve). Exclusive (`false`) is the default;
   * shared and exclusive holders of one name agree with each other (both count as permits 1).
   * @default false
   * @example
   * await locks.withLock('catalog', () => readCatalog(), { shared: true });
   */
  shared?: boolean;
}

/** Per-call options of `tryAcquire()`. */
export type TryAcquireOptions = Pick<AcquireOptions, 'ttl' | 'label' | 'permits' | 'shared'>;

/** Per-call options of `withLock()`: those of `acquire()`. */
export type WithLockOptions = AcquireOptions;

/** One entry per key of `T`, so that a key added to an options type must be listed too. */
type EveryKey<T> = { readonly [K in keyof Required<T>]: K };

/**
 * The keys `acquire()` and `withLock()` accept; any other is a `LockConfigError`.
 * @internal
 * @example
 * ACQUIRE_OPTION_KEYS; // ['ttl', 'waitMs', 'signal', 'label', 'permits', 'shared']
 */
export const ACQUIRE_OPTION_KEYS: readonly string[] = Object.values({
  ttl: 'ttl',
  waitMs: 'waitMs',
  signal: 'signal',
  label: 'label',
  permits: 'permits',
  shared: 'shared',
} satisfies EveryKey<AcquireOptions>);

/**
 * The keys `tryAcquire()` accepts; any other (`waitMs`, `signal` too) is a `LockConfigError`.
 * @internal
 * @example
 * TRY_ACQUIRE_OPTION_KEYS; // ['ttl', 'label', 'permits', 'shared']
 */
export const TRY_ACQUIRE_OPTION_KEYS: readonly string[] = Object.values({
  ttl: 'ttl',
  label: 'label',
  permits: 'permits',
  shared: 'shared',
} satisfies EveryKey<TryAcquireOptions>);

/** TLS settings for etcd's client port. PEM strings or buffers. */
export interface LockTlsOptions {
  /** CA certificate(s) that signed etcd's server certificate. */
  ca?: string | Buffer;
  /** Client certificate, for etcd's `--client-cert-auth`. */
  cert?: string | Buffer;
  /** Client private key, with `cert`. */
  key?: string | Buffer;
}

/** etcd's username/password authentication. */
export interface LockAuthOptions {
  /** etcd user name. */
  username: string;
  /** etcd user password. */
  password: string;
}

/**
 * Options of a {@link LockClient}, and the etcd part of `ZZLockModule.forRoot()`.
 *
 * @example
 * new LockClient({ endpoints: ['http://10.0.0.1:2379', 'http://10.0.0.2:2379'], ttl: 10 });
 */
export interface LockClientOptions {
  /** etcd client URLs, every member of the cluster (`http://host:2379` or `https://…`). */
  endpoints: string | readonly string[];
  /**
   * Key prefix of every lock; give each application its own.
   * @default 'zzlock/'
   */
  namespace?: string;
  /**
   * Default lease TTL in seconds.
   * @default 15
   */
  ttl?: number;
  /**
   * Default wait of `acquire()`, in ms.
   * @default 10000
   */
  waitMs?: number;
  /**
   * Deadline of each call to etcd, in ms. An unreachable etcd surfaces as
   * `StoreUnavailableError` after at most this long, never as a hang.
   * @default 5000
   */
  callTimeoutMs?: number;
  /**
   * How long `close()` lets running holders finish before deleting their keys, in ms.
   * @default 10000
   */
  shutdownGraceMs?: number;
  /**
   * How long a lease may go unused (no lock of this TTL held or waited for by this client) before
   * it is revoked and its keepalives stop, in ms; `Infinity` keeps it for the client's life. The
   * next acquisition then grants a fresh lease, one more round trip.
   * @default 60000
   */
  leaseIdleMs?: number;
  /** etcd username/password authentication. */
  auth?: LockAuthOptions;
  /** TLS for `https://` endpoints. */
  tls?: LockTlsOptions;
}
