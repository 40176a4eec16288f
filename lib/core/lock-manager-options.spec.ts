// Unit spec of LockManager's per-call option checks, on the memory backend (no etcd): an option key
// acquire(), tryAcquire() or withLock() does not know is a LockConfigError naming it and listing
// the known ones, thrown before the backend is asked for anything. The same through LockClient and
// LockService against a real etcd is in test/safety/bad-input.test.ts.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LockConfigError } from './errors/lock-config.error.js';
import type { AcquireRequest, LockBackend } from './lock-backend.js';
import { LockManager } from './lock-manager.js';
import { MemoryBackend } from './memory/memory-backend.js';

/** A MemoryBackend that counts the acquisitions it is asked for. */
class CountingBackend extends MemoryBackend implements LockBackend {
  requests: AcquireRequest[] = [];
  override acquire(request: AcquireRequest) {
    this.requests.push(request);
    return super.acquire(request);
  }
}

const open = () => {
  const backend = new CountingBackend();
  const manager = new LockManager(backend, { ttl: 5, waitMs: 10_000, shutdownGraceMs: 0 });
  return { backend, manager };
};

const unknownKey = (option: string, known: string) => (error: unknown) => {
  assert.ok(error instanceof LockConfigError, `expected LockConfigError, got ${String(error)}`);
  assert.equal(error.code, 'ZZLOCK_CONFIG');
  assert.equal(error.option, option);
  assert.ok(error.message.includes(`no option "${option}"`), error.message);
  assert.ok(error.message.includes(`known options are ${known}`), error.message);
  return true;
};

const ACQUIRE_KEYS = 'ttl, waitMs, signal, label, permits, shared';
const TRY_KEYS = 'ttl, label, permits, shared';

describe('LockManager per-call options', () => {
  it('rejects an unknown key of acquire() and withLock() before asking the backend', async () => {
    const { backend, manager } = open();
    for (const [option, options] of [
      ['waitMS', { waitMS: 5 }],
      ['permit', { permit: 2 }],
      ['Shared', { Shared: true }],
      ['exclusive', { exclusive: true }],
      ['timeout', { ttl: 5, timeout: 100 }],
    ] as const) {
      await assert.rejects(
        manager.acquire('x', options as never),
        unknownKey(option, ACQUIRE_KEYS),
      );
      let ran = false;
      await assert.rejects(
        manager.withLock('x', () => (ran = true), options as never),
        unknownKey(option, ACQUIRE_KEYS),
      );
      assert.equal(ran, false, 'withLock ran fn despite a bad option');
    }
    assert.deepEqual(backend.requests, [], 'the backend was asked for a lock');
    await manager.close();
  });

  it('rejects waitMs, signal and unknown keys of tryAcquire(), which never waits', async () => {
    const { backend, manager } = open();
    for (const [option, options] of [
      ['waitMs', { waitMs: 0 }],
      ['signal', { signal: new AbortController().signal }],
      ['permit', { permit: 2 }],
      ['TTL', { TTL: 5 }],
    ] as const) {
      await assert.rejects(manager.tryAcquire('x', options as never), unknownKey(option, TRY_KEYS));
    }
    assert.deepEqual(backend.requests, []);
    await manager.close();
  });

  it('does not wait out the default wait for a misspelt waitMs on a held lock', async () => {
    const { manager } = open();
    const holder = await manager.acquire('held');
    // Before the check, { waitMS: 5 } waited the 10 s default; now it fails at once.
    await assert.rejects(
      manager.acquire('held', { waitMS: 5 } as never),
      unknownKey('waitMS', ACQUIRE_KEYS),
    );
    await holder.release();
    await manager.close();
  });

  it('rejects an unknown key on a re-entrant acquire too (no backend call there either)', async () => {
    const { manager } = open();
    await manager.withLock('nested', async (outer) => {
      await assert.rejects(
        manager.acquire('nested', { permit: 2 } as never),
        unknownKey('permit', ACQUIRE_KEYS),
      );
      assert.equal(outer.holdCount, 1);
    });
    await manager.close();
  });

  it('accepts every known key, also when its value is undefined (as @Locked passes them)', async () => {
    const { backend, manager } = open();
    const lock = await manager.acquire('known', {
      ttl: 5,
      waitMs: 100,
      signal: undefined,
      label: undefined,
      permits: undefined,
      shared: undefined,
    });
    await lock.release();
    const tried = await manager.tryAcquire('known', {
      ttl: 5,
      label: 'known',
      permits: undefined,
      shared: false,
    });
    assert.ok(tried);
    await tried.release();
    assert.equal(await manager.withLock('known', () => 'ran', { waitMs: 0 }), 'ran');
    assert.equal(backend.requests.length, 3);
    await manager.close();
  });

  it('rejects bad permits and shared values of every call before asking the backend', async () => {
    const { backend, manager } = open();
    const bad: [string, Record<string, unknown>][] = [
      ['permits', { permits: 0 }],
      ['permits', { permits: -1 }],
      ['permits', { permits: 1.5 }],
      ['permits', { permits: Number.NaN }],
      ['permits', { permits: Infinity }],
      ['permits', { permits: 257 }],
      ['permits', { permits: '3' }],
      ['permits', { permits: null }],
      ['permits', { permits: 3, shared: true }],
      ['permits', { permits: 1, shared: true }],
      ['shared', { shared: 'yes' }],
      ['shared', { shared: 1 }],
      ['shared', { shared: null }],
    ];
    for (const [option, options] of bad) {
      const named = (error: unknown) => {
        assert.ok(error instanceof LockConfigError, `${JSON.stringify(options)}: ${String(error)}`);
        assert.equal(error.option, option, JSON.stringify(options));
        return true;
      };
      await assert.rejects(manager.acquire('x', options as never), named);
      await assert.rejects(manager.tryAcquire('x', options as never), named);
      await assert.rejects(
        manager.withLock('x', () => 1, options as never),
        named,
      );
    }
    assert.deepEqual(backend.requests, [], 'the backend was asked for a lock');
    await manager.close();
  });

  it('asks the backend for the grant rule of permits and shared', async () => {
    const { backend, manager } = open();
    const rules: [Record<string, unknown>, string, number][] = [
      [{}, 'exclusive', 1],
      [{ permits: 1 }, 'exclusive', 1],
      [{ shared: false }, 'exclusive', 1],
      [{ permits: 2 }, 'semaphore', 2],
      [{ permits: 256, shared: false }, 'semaphore', 256],
      [{ shared: true }, 'shared', 1],
    ];
    for (const [options, mode, permits] of rules) {
      const lock = await manager.acquire(`rule-${mode}-${permits}`, options);
      assert.equal(lock.mode, mode, JSON.stringify(options));
      assert.equal(lock.permits, permits, JSON.stringify(options));
      await lock.release();
      const tried = await manager.tryAcquire(`rule-${mode}-${permits}`, options);
      assert.ok(tried);
      assert.equal(tried.mode, mode);
      await tried.release();
    }
    assert.deepEqual(
      backend.requests.map(({ mode, permits }) => [mode, permits]),
      rules.flatMap(([, mode, permits]) => [
        [mode, permits],
        [mode, permits],
      ]),
    );
    await manager.close();
  });
});
