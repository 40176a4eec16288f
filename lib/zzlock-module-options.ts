import { hostname } from 'node:os';
import {
  LockConfigError,
  ZZLOCK_LIMITS,
  rejectUnknownKeys,
  resolveClientOptions,
  validateElectionValue,
  validateTtl,
  type LockClientOptions,
  type ResolvedClientOptions,
} from './core/index.js';
import { resolveOptionsWithoutEndpoints } from './core/validation.js';
import { ZZLOCK_NEST_DEFAULTS } from './zzlock.constants.js';

/**
 * Where `ZZLockModule` keeps its locks: `'etcd'` coordinates every replica; `'memory'` only one
 * process, for your unit tests and local development.
 * @default 'etcd'
 * @example
 * ZZLockModule.forRoot({ store: 'memory' });
 */
export type ZZLockStore = 'etcd' | 'memory';

/**
 * The part of a prom-client `Registry` zzlock uses. Pass a real `Registry`; this structural type
 * keeps prom-client an optional peer.
 *
 * @example
 * import { Registry } from 'prom-client';
 * ZZLockModule.forRoot({ endpoints, metrics: { registry: new Registry() } });
 */
export interface ZZLockMetricsRegistry {
  /** The metric of that name, if one is registered. */
  getSingleMetric(name: string): unknown;
  /** The registry's metrics in Prometheus text format. */
  metrics(): Promise<string>;
}

/**
 * Where and how zzlock registers its Prometheus metrics.
 *
 * @example
 * { registry: new Registry(), prefix: 'payments_zzlock_' }
 */
export interface ZZLockMetricsOptions {
  /**
   * The prom-client registry to register in.
   * @default prom-client's global `register`
   */
  registry?: ZZLockMetricsRegistry;
  /**
   * Prefix of every metric name.
   * @default 'zzlock_'
   */
  prefix?: string;
}

/**
 * How this replica stands in the elections its `@LeaderOnly` and `@OnLeadership` methods declare.
 *
 * @example
 * ZZLockModule.forRoot({ endpoints, elections: { value: `${process.env.POD_NAME}:3000`, ttl: 10 } });
 */
export interface ZZLockElectionOptions {
  /**
   * What this replica proclaims when it leads: every observer of the election reads it (health,
   * `election.leader()`, `etcdctl elect -l`). A string of at most 4096 bytes in UTF-8.
   * @default `${os.hostname()}:${process.pid}`
   */
  value?: string;
  /**
   * Lease TTL of the candidacies, in seconds: a leader that dies is replaced this long after its
   * last renewal (plus a second).
   * @default the module's `ttl` (15)
   */
  ttl?: number;
}

/**
 * Options of `ZZLockModule.forRoot()` and of the factory of `forRootAsync()`: those of a
 * `LockClient`, plus the store and metrics. Validated when the application boots; a wrong value
 * fails the boot with a `LockConfigError` that names the option.
 *
 * @example
 * ZZLockModule.forRoot({ endpoints: ['http://etcd-0:2379', 'http://etcd-1:2379'], namespace: 'shop/' });
 * @example
 * ZZLockModule.forRoot({ store: 'memory' }); // unit tests: no etcd
 */
export interface ZZLockModuleOptions extends Omit<LockClientOptions, 'endpoints'> {
  /**
   * etcd client URLs, every member of the cluster. Required with `store: 'etcd'`; not read with
   * `store: 'memory'` (absent, empty or any URLs: the memory store connects to nothing).
   */
  endpoints?: LockClientOptions['endpoints'];
  /**
   * `'etcd'` (every replica shares the locks) or `'memory'` (one process; no endpoints needed).
   * @default 'etcd'
   */
  store?: ZZLockStore;
  /**
   * Prometheus metrics: `true` registers them in prom-client's global registry when prom-client is
   * installed, `false` turns them off, an object picks the registry or the name prefix.
   * @default true
   */
  metrics?: boolean | ZZLockMetricsOptions;
  /**
   * The candidate value and TTL of the elections `@LeaderOnly` and `@OnLeadership` declare.
   * @default { value: `${os.hostname()}:${process.pid}`, ttl: the module's `ttl` }
   */
  elections?: ZZLockElectionOptions;
}

/**
 * Election settings after validation.
 *
 * @example
 * { value: 'api-7f9c:4242', ttl: 15 }
 */
export interface ResolvedZZLockElectionOptions {
  /** What this replica proclaims when it leads. */
  value: string;
  /** Lease TTL of the candidacies, in seconds. */
  ttl: number;
}

/**
 * Metrics settings after validation.
 *
 * @example
 * { registry: undefined, prefix: 'zzlock_' } // prom-client's global registry
 */
export interface ResolvedZZLockMetricsOptions {
  /** The registry, or `undefined` for prom-client's global one. */
  registry?: ZZLockMetricsRegistry;
  /** Prefix of every metric name. */
  prefix: string;
}

/**
 * {@link ZZLockModuleOptions} validated, with every default applied. Inject it with
 * `ZZLOCK_OPTIONS`.
 *
 * @example
 * constructor(@Inject(ZZLOCK_OPTIONS) options: ResolvedZZLockOptions) {}
 */
export interface ResolvedZZLockOptions {
  /** The lock store. */
  store: ZZLockStore;
  /** The client options (for `'memory'`, `endpoints` is empty). */
  client: ResolvedClientOptions;
  /** Metrics settings, or `false` when turned off. */
  metrics: ResolvedZZLockMetricsOptions | false;
  /** How this replica stands in the elections its decorators declare. */
  elections: ResolvedZZLockElectionOptions;
}

/** Options of the module that the lock client does not have. */
const MODULE_ONLY_KEYS = ['store', 'metrics', 'elections'] as const;

/** Every key of {@link ZZLockElectionOptions}. */
const ELECTION_OPTION_KEYS = Object.keys({
  value: true,
  ttl: true,
} satisfies Record<keyof ZZLockElectionOptions, true>);

/**
 * Validates module options and applies defaults (the `ZZLOCK_OPTIONS` provider).
 * @throws LockConfigError naming the wrong option
 * @internal not exported from the package
 * @example
 * resolveModuleOptions({ store: 'memory', ttl: 5 }).client.ttl; // 5
 */
export function resolveModuleOptions(options: ZZLockModuleOptions): ResolvedZZLockOptions {
  if (options === null || typeof options !== 'object') {
    throw new LockConfigError('options', 'ZZLockModule options must be an object', options);
  }
  const store = options.store ?? ZZLOCK_NEST_DEFAULTS.store;
  if (store !== 'etcd' && store !== 'memory') {
    throw new LockConfigError('store', "the store is 'etcd' or 'memory'", store);
  }
  let client: ResolvedClientOptions;
  if (store === 'memory') {
    // Connects to nothing: endpoints (often the same config as production's, or empty) go unread.
    client = resolveOptionsWithoutEndpoints(options, MODULE_ONLY_KEYS);
  } else {
    if (options.endpoints === undefined) {
      throw new LockConfigError(
        'endpoints',
        "give the etcd URLs, such as ['http://127.0.0.1:2379'], or set store: 'memory'",
        options.endpoints,
      );
    }
    client = resolveClientOptions({ ...options, endpoints: options.endpoints }, MODULE_ONLY_KEYS);
  }
  return {
    store,
    client,
    metrics: resolveMetrics(options.metrics),
    elections: resolveElections(options.elections, client.ttl),
  };
}

/** The candidate value of a replica that sets none: which host and process leads, at a glance. */
function defaultCandidateValue(): string {
  return `${hostname()}:${process.pid}`;
}

function resolveElections(
  elections: ZZLockModuleOptions['elections'],
  moduleTtl: number,
): ResolvedZZLockElectionOptions {
  if (elections === undefined) return { value: defaultCandidateValue(), ttl: moduleTtl };
  if (elections === null || typeof elections !== 'object') {
    throw new LockConfigError('elections', 'elections is { value?, ttl? }', elections);
  }
  rejectUnknownKeys(elections, ELECTION_OPTION_KEYS, 'elections');
  let value: string;
  try {
    value = validateElectionValue(elections.value ?? defaultCandidateValue());
  } catch {
    throw new LockConfigError(
      'elections.value',
      'the candidate value is a string of well-formed Unicode, at most ' +
        `${ZZLOCK_LIMITS.maxElectionValueBytes} bytes in UTF-8 (what this replica proclaims ` +
        'when it leads, e.g. its address)',
      elections.value,
    );
  }
  return { value, ttl: validateTtl(elections.ttl ?? moduleTtl, 'elections.ttl') };
}

function resolveMetrics(
  metrics: ZZLockModuleOptions['metrics'],
): ResolvedZZLockMetricsOptions | false {
  const value = metrics ?? ZZLOCK_NEST_DEFAULTS.metrics;
  if (value === false) return false;
  if (value === true) return { prefix: ZZLOCK_NEST_DEFAULTS.metricsPrefix };
  if (value === null || typeof value !== 'object') {
    throw new LockConfigError('metrics', 'metrics is true, false or { registry?, prefix? }', value);
  }
  const prefix = value.prefix ?? ZZLOCK_NEST_DEFAULTS.metricsPrefix;
  if (typeof prefix !== 'string' || !/^([a-zA-Z_:][a-zA-Z0-9_:]*)?$/.test(prefix)) {
    throw new LockConfigError(
      'metrics.prefix',
      'a metric name prefix has letters, digits, _ and : only, and does not start with a digit',
      prefix,
    );
  }
  const { registry } = value;
  if (
    registry !== undefined &&
    (registry === null ||
      typeof registry.getSingleMetric !== 'function' ||
      typeof registry.metrics !== 'function')
  ) {
    throw new LockConfigError(
      'metrics.registry',
      'the registry is a prom-client Registry',
      registry,
    );
  }
  return { registry, prefix };
}
