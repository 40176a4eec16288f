/**
 * Injection tokens, metadata keys and the Nest-side defaults of zzlock. Tokens are Symbols, so
 * they never clash with a user's string token; metadata keys are namespaced with `zzlock:`.
 */

/**
 * Token of the options exactly as given to `ZZLockModule.forRoot()` / `forRootAsync()`, exported
 * by `ZZLockModule`. Most code wants {@link ZZLOCK_OPTIONS} (validated, defaults applied) instead.
 *
 * @example
 * constructor(@Inject(ZZLOCK_MODULE_OPTIONS) private readonly raw: ZZLockModuleOptions) {}
 */
export const ZZLOCK_MODULE_OPTIONS: unique symbol = Symbol('zzlock:module-options');

/**
 * Token of the validated options ({@link ResolvedZZLockOptions}), defaults applied.
 *
 * @example
 * constructor(@Inject(ZZLOCK_OPTIONS) private readonly options: ResolvedZZLockOptions) {}
 */
export const ZZLOCK_OPTIONS: unique symbol = Symbol('zzlock:options');

/**
 * Token of the application's {@link LockManager}: the framework-free core behind `LockService`.
 *
 * @example
 * constructor(@Inject(ZZLOCK_MANAGER) private readonly manager: LockManager) {}
 */
export const ZZLOCK_MANAGER: unique symbol = Symbol('zzlock:manager');

/**
 * Metadata key under which `@Locked` stores its {@link LockedMetadata} on the method it wraps.
 *
 * @example
 * const locked = Reflect.getMetadata(ZZLOCK_LOCKED_METADATA, Reports.prototype.nightly);
 */
export const ZZLOCK_LOCKED_METADATA = 'zzlock:locked';

/**
 * Metadata key under which `@LeaderOnly` stores its {@link LeaderOnlyMetadata} on the method it
 * wraps.
 *
 * @example
 * const { election } = Reflect.getMetadata(ZZLOCK_LEADER_ONLY_METADATA, Ingest.prototype.poll);
 */
export const ZZLOCK_LEADER_ONLY_METADATA = 'zzlock:leader-only';

/**
 * Metadata key under which `@OnLeadership` stores its {@link OnLeadershipMetadata} on the method.
 *
 * @example
 * const { election } = Reflect.getMetadata(ZZLOCK_ON_LEADERSHIP_METADATA, Ingest.prototype.lead);
 */
export const ZZLOCK_ON_LEADERSHIP_METADATA = 'zzlock:on-leadership';

/**
 * Hidden property that ties an instance with `@Locked` or `@LeaderOnly` methods to the runners
 * of the `ZZLockModule` whose `LockService` its module sees. Set by the explorer at module init; not
 * part of the public API.
 * @internal
 */
export const ZZLOCK_INSTANCE_BINDING: unique symbol = Symbol('zzlock:runners');

/**
 * Defaults of the Nest surface (the core's are in `ZZLOCK_DEFAULTS`). forRoot, forRootAsync,
 * `@Locked`, the interceptor, the health indicator and the metrics all read them from here.
 *
 * @example
 * ZZLOCK_NEST_DEFAULTS.retryAfterSeconds; // 1
 */
export const ZZLOCK_NEST_DEFAULTS = {
  /** The lock store of `ZZLockModule`. */
  store: 'etcd',
  /** Whether the module is global. */
  isGlobal: true,
  /** Whether the module registers `LockInterceptor` as a global interceptor. */
  interceptor: true,
  /** Whether Prometheus metrics are registered (when prom-client is installed). */
  metrics: true,
  /** Prefix of every metric name. */
  metricsPrefix: 'zzlock_',
  /** `onBusy` of `@Locked`: what a method does when the lock stays busy. */
  onBusy: 'throw',
  /** `minHoldMs` of `@Locked`: how long a lock is kept at least, from its acquisition, in ms. */
  minHoldMs: 0,
  /** `Retry-After` of a 423 answer, in seconds, when `@Locked` does not say. */
  retryAfterSeconds: 1,
  /**
   * First wait before campaigning again after a leadership was lost or a campaign failed, in ms;
   * it doubles at each failure in a row (a leadership lost before it lasted its TTL counts as one),
   * with jitter, up to `campaignRetryMaxMs`.
   */
  campaignRetryMs: 1_000,
  /** Longest wait between two campaigns of one election, in ms. */
  campaignRetryMaxMs: 30_000,
  /** Deadline of each health probe of one etcd member, in ms. */
  healthProbeTimeoutMs: 1_000,
  /** Key of the health indicator in terminus's report. */
  healthKey: 'zzlock',
  /** Histogram buckets of acquire and wait durations, in seconds. */
  waitBuckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
  /** Histogram buckets of hold durations, in seconds. */
  holdBuckets: [0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 3600],
} as const;
