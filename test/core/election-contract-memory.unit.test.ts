// The election contract (election-contract.ts) against MemoryBackend, through LockManager: the
// unit tier (`npm run test:unit`), no etcd. Also MemoryBackend.expireLeader(), its way to test
// the loss of leadership.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { LockLostError, LockManager, MemoryBackend } from '../../lib/core/index.js';
import { electionContract, type Electors } from './election-contract.js';

const defaults = { ttl: 5, waitMs: 10_000, shutdownGraceMs: 0 };

/** A LockManager front whose close() leaves the shared backend open. */
function sharedFront(backend: MemoryBackend): Electors {
  const manager = new LockManager(backend, defaults);
  return {
    election: (name) => manager.election(name),
    acquire: (name, options) => manager.acquire(name, options),
    tryAcquire: (name, options) => manager.tryAcquire(name, options),
    close: async () => undefined,
  };
}

const memory = new MemoryBackend();
electionContract('memory', () => ({
  open: () => sharedFront(memory),
  openStandalone: () => new LockManager(new MemoryBackend(), defaults),
  candidatesOf: async () => undefined,
}));

it('MemoryBackend.expireLeader() loses the leadership and elects the next candidate', async () => {
  const backend = new MemoryBackend();
  const manager = new LockManager(backend, defaults);
  const first = await manager.election('expiring').campaign({ value: 'first' });
  const second = manager.election('expiring').campaign({ value: 'second' });
  backend.expireLeader('expiring');
  assert.ok(first.signal.reason instanceof LockLostError);
  await assert.rejects(first.proclaim('again'), LockLostError);
  const next = await second;
  assert.ok(next.term > first.term);
  assert.deepEqual(await manager.election('expiring').leader(), {
    value: 'second',
    term: next.term,
  });
  await manager.close();
});
