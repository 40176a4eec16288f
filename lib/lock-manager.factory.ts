import { EtcdBackend, LockManager, MemoryBackend } from './core/index.js';
import type { ResolvedZZLockOptions } from './zzlock-module-options.js';

/**
 * Builds the application's {@link LockManager} on the configured store: an `EtcdBackend` whose
 * store errors reach the manager's observers, or a `MemoryBackend`. No network call is made here;
 * etcd is first contacted by the first acquisition. The `ZZLOCK_MANAGER` provider.
 * @internal not exported from the package
 *
 * @example
 * const manager = createLockManager(resolveModuleOptions({ store: 'memory' }));
 */
export function createLockManager(options: ResolvedZZLockOptions): LockManager {
  const { client } = options;
  if (options.store === 'memory') return new LockManager(new MemoryBackend(), client);
  const manager: LockManager = new LockManager(
    new EtcdBackend(client, {
      storeError: (operation, error) => manager.reportStoreError(operation, error),
      storeRecovered: (operation) => manager.reportStoreRecovered(operation),
    }),
    client,
  );
  return manager;
}
