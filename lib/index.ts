/**
 * zzlock: distributed locks for NestJS services, backed by etcd v3. The framework-free core
 * (`LockClient`, `LockManager`, errors) and the Nest surface (`ZZLockModule`, `LockService`,
 * `@Locked`, `@LeaderOnly`, `@OnLeadership`, `LockInterceptor`, `ZZLockHealthIndicator`, metrics).
 *
 * Everything public is exported here and nothing else: the module's internals (its explorer, its
 * factories, `@Locked`'s runner) are not part of the API.
 * @packageDocumentation
 */
export * from './core/index.js';
export {
  ZZLOCK_LEADER_ONLY_METADATA,
  ZZLOCK_LOCKED_METADATA,
  ZZLOCK_MANAGER,
  ZZLOCK_MODULE_OPTIONS,
  ZZLOCK_NEST_DEFAULTS,
  ZZLOCK_ON_LEADERSHIP_METADATA,
  ZZLOCK_OPTIONS,
} from './zzlock.constants.js';
export type {
  ResolvedZZLockElectionOptions,
  ResolvedZZLockMetricsOptions,
  ResolvedZZLockOptions,
  ZZLockElectionOptions,
  ZZLockMetricsOptions,
  ZZLockMetricsRegistry,
  ZZLockModuleOptions,
  ZZLockStore,
} from './zzlock-module-options.js';
export type {
  ZZLockForRootAsyncOptions,
  ZZLockForRootOptions,
  ZZLockModuleExtras,
  ZZLockOptionsFactory,
} from './zzlock.module-definition.js';
export { ZZLockModule } from './zzlock.module.js';
export { LockService } from './lock.service.js';
export type {
  LeaderOnlySkippedEvent,
  LeadershipChange,
  LeadershipChangeEvent,
  LockSkippedEvent,
  ZZLockObserver,
} from './zzlock-observer.js';
export {
  Locked,
  type LockedBusyPolicy,
  type LockedMetadata,
  type LockedName,
  type LockedOptions,
} from './locked.decorator.js';
export { LeaderOnly, type LeaderOnlyMetadata } from './leadership/leader-only.decorator.js';
export { OnLeadership, type OnLeadershipMetadata } from './leadership/on-leadership.decorator.js';
export {
  LockInterceptor,
  type LockedResponseBody,
  type LockServerErrorResponseBody,
  type LockUnavailableResponseBody,
} from './lock.interceptor.js';
export {
  ZZLockHealthIndicator,
  type EtcdMemberHealth,
  type ZZLockElectionHealth,
  type ZZLockHealthCheckOptions,
  type ZZLockHealthDetails,
  type ZZLockHealthResult,
} from './health/zzlock.health-indicator.js';
export { ZZLOCK_METRIC_NAMES } from './metrics/zzlock-metrics.js';
