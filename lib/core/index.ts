/**
 * zzlock's framework-free core: use it from plain Node, or through the Nest module.
 * @packageDocumentation
 */
export * from './errors/index.js';
export { ZZLOCK_DEFAULTS, ZZLOCK_LIMITS } from './defaults.js';
export type { LockHandle, LockHandleJson } from './lock-handle.js';
export type {
  AcquireOptions,
  TryAcquireOptions,
  WithLockOptions,
  LockClientOptions,
  LockAuthOptions,
  LockTlsOptions,
} from './lock-options.js';
export { Election } from './election.js';
export type { CampaignOptions, Leadership, ObserveLeaderOptions } from './election-options.js';
export type {
  AcquireRequest,
  GrantMode,
  Leader,
  LeaseState,
  LockMode,
  LockBackend,
  LockGrant,
  StoreMemberHealth,
} from './lock-backend.js';
export type { ElectionInfo, LockHolderInfo, LockInfo, StoreInspection } from './lock-inspection.js';
export type * from './lock-observer.js';
export type { LockAcquireOutcome } from './acquire-outcome.js';
export { ZZLOCK_TRACING } from './tracing/tracing-names.js';
export type { LockAcquireMessage } from './tracing/acquire-channel.js';
export {
  LockManager,
  type LockManagerDefaults,
  type LockManagerHooks,
  type StoreOutageEvent,
} from './lock-manager.js';
export { LockClient } from './lock-client.js';
export { EtcdBackend, type EtcdBackendHooks } from './etcd/etcd-backend.js';
export { MemoryBackend } from './memory/memory-backend.js';
export {
  resolveClientOptions,
  rejectUnknownKeys,
  validateLockName,
  validateTtl,
  validateDurationMs,
  validateLockMode,
  validateElectionValue,
  type LockModeRequest,
  type ResolvedClientOptions,
} from './validation.js';
