// The lock contract (lock-contract.ts) against MemoryBackend, through LockManager: the unit tier
// (`npm run test:unit`), no etcd.
import { LockManager, MemoryBackend } from '../../lib/core/index.js';
import { contract, type Locks } from './lock-contract.js';

/** A LockManager front whose close() leaves the shared backend open. */
function sharedFront(backend: MemoryBackend): Locks {
  const manager = new LockManager(backend, { ttl: 5, waitMs: 10_000, shutdownGraceMs: 0 });
  return {
    acquire: (name, options) => manager.acquire(name, options),
    tryAcquire: (name, options) => manager.tryAcquire(name, options),
    withLock: (name, fn, options) => manager.withLock(name, fn, options),
    current: (name) => manager.current(name),
    stopAcquiring: () => manager.stopAcquiring(),
    close: async () => undefined,
  };
}

const memory = new MemoryBackend();
contract('memory', () => ({
  open: () => sharedFront(memory),
  openStandalone: () =>
    new LockManager(new MemoryBackend(), { ttl: 5, waitMs: 10_000, shutdownGraceMs: 0 }),
  keysOf: async () => undefined,
}));
