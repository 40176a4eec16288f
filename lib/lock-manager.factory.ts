import { Logger } from '@nestjs/common';
import { observerErrorMessage } from './core/errors/messages.js';
import { EtcdBackend, LockManager, MemoryBackend, type LockManagerHooks } from './core/index.js';
import type { ResolvedZZLockOptions } from './zzlock-module-options.js';

const logger = new Logger('ZZLock');

/** A throwing observer is logged as a ZZLock warning (once per observer and hook). */
const hooks: LockManagerHooks = {
  onObserverError: (hook, error) => logger.warn(observerErrorMessage(hook, error)),
  onStoreOutage: ({ change, message }) =>
    change === 'started' ? logger.warn(message) : logger.log(message),
};

/**
 * Builds the application's {@link LockManager} on the configured store: an `EtcdBackend` whose
 * store errors reach the manager's observers, or a `MemoryBackend`; an observer that throws is
 * logged with Nest's logger (context `ZZLock`), as `LockService` logs. No network call is made
 * here; etcd is first contacted by the first acquisition. The `ZZLOCK_MANAGER` provider.
 * @internal not exported from the package
 *
 * @example
 * const manager = createLockManager(resolveModuleOptions({ store: 'memory' }));
 */
export function createLockManager(options: ResolvedZZLockOptions): LockManager {
  const { client } = options;
  if (options.store === 'memory') return new LockManager(new MemoryBackend(), client, hooks);
  const manager: LockManager = new LockManager(
    new EtcdBackend(client, {
      storeError: (operation, error) => manager.reportStoreError(operation, error),
      storeRecovered: (operation) => manager.reportStoreRecovered(operation),
    }),
    client,
    hooks,
  );
  return manager;
}
