// Unit spec of LockManager's observer calls, on the memory backend: every event is a plain frozen
// object (the lost event too, never the manager's own bookkeeping), and an observer that throws
// neither breaks locking nor floods the logs: its first error per hook is reported (to
// `onObserverError`, by default as a Node warning), later ones are not, and it keeps being called.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setImmediate as tick } from 'node:timers/promises';
import { LockManager, type LockManagerDefaults } from './lock-manager.js';
import type { LockEventBase, LockObserver } from './lock-observer.js';
import { MemoryBackend } from './memory/memory-backend.js';

const defaults: LockManagerDefaults = { ttl: 5, waitMs: 1_000, shutdownGraceMs: 0 };

describe('LockManager observers', () => {
  it('tell of a lost lock with a plain frozen { name, label, mode }', async () => {
    const backend = new MemoryBackend();
    const manager = new LockManager(backend, defaults);
    const lost: LockEventBase[] = [];
    manager.observe({ lost: (event) => lost.push(event) });
    const lock = await manager.acquire('job:1', { label: 'job' });
    backend.expire('job:1');
    assert.equal(lock.signal.aborted, true);
    assert.equal(lost.length, 1);
    const [event] = lost;
    assert.deepEqual(Object.keys(event!).sort(), ['label', 'mode', 'name']);
    assert.deepEqual({ ...event }, { name: 'job:1', label: 'job', mode: 'exclusive' });
    assert.equal(Object.getPrototypeOf(event), Object.prototype, 'a plain object');
    assert.ok(Object.isFrozen(event));
    await lock.release();
    await manager.close();
  });

  it('freezes every event, so one observer cannot change what the next one sees', async () => {
    const manager = new LockManager(new MemoryBackend(), defaults);
    const events: object[] = [];
    const record = (event: object) => events.push(event);
    manager.observe({ acquired: record, acquireFailed: record, released: record });
    const lock = await manager.acquire('a');
    assert.equal(await manager.tryAcquire('a'), null);
    await lock.release();
    assert.equal(events.length, 3);
    for (const event of events) assert.ok(Object.isFrozen(event), JSON.stringify(event));
    await manager.close();
  });

  it('report a throwing observer once per observer and hook, and keep calling it', async () => {
    const reports: [string, string][] = [];
    const manager = new LockManager(new MemoryBackend(), defaults, {
      onObserverError: (hook, error) => reports.push([hook, (error as Error).message]),
    });
    const calls = { a: 0, b: 0, released: 0, quiet: 0 };
    const throwing: LockObserver = {
      acquired: () => {
        calls.a += 1;
        throw new Error(`a ${calls.a}`);
      },
      released: () => {
        calls.released += 1;
        throw new Error(`released ${calls.released}`);
      },
    };
    const another: LockObserver = {
      acquired: () => {
        calls.b += 1;
        throw new Error(`b ${calls.b}`);
      },
    };
    manager.observe(throwing);
    manager.observe(another);
    manager.observe({ acquired: () => (calls.quiet += 1) });
    for (let round = 0; round < 3; round += 1) {
      assert.equal(await manager.withLock('x', () => round), round, 'locking goes on');
    }
    assert.deepEqual(calls, { a: 3, b: 3, released: 3, quiet: 3 });
    assert.deepEqual(reports, [
      ['acquired', 'a 1'],
      ['acquired', 'b 1'],
      ['released', 'released 1'],
    ]);
    await manager.close();
  });

  it('report it as one Node warning by default', async () => {
    const warnings: Error[] = [];
    const onWarning = (warning: Error) => warnings.push(warning);
    process.on('warning', onWarning);
    try {
      const manager = new LockManager(new MemoryBackend(), defaults);
      manager.observe({
        acquired: () => {
          throw new Error('dashboard\nis down');
        },
      });
      for (let round = 0; round < 3; round += 1) await manager.withLock('w', () => undefined);
      await tick();
      const ours = warnings.filter((warning) => warning.name === 'ZZLockWarning');
      assert.equal(ours.length, 1, ours.map(String).join('\n'));
      assert.equal((ours[0] as Error & { code?: string }).code, 'ZZLOCK_OBSERVER_ERROR');
      assert.match(ours[0]!.message, /"acquired" hook threw \(Error: dashboard is down\)/);
      assert.doesNotMatch(ours[0]!.message, /\n/, 'one line');
      await manager.close();
    } finally {
      process.off('warning', onWarning);
    }
  });

  it('tell the mode of every event: the grant rule asked for, or the outer hold re-entered', async () => {
    const backend = new MemoryBackend();
    const manager = new LockManager(backend, defaults);
    const seen: string[] = [];
    const record =
      (hook: string) =>
      ({ name, mode }: LockEventBase) =>
        seen.push(`${hook} ${name} ${mode}`);
    manager.observe({
      acquired: record('acquired'),
      acquireFailed: record('failed'),
      released: record('released'),
      lost: record('lost'),
    });
    const permit = await manager.acquire('export', { permits: 3 });
    await manager.withLock('catalog', async () => {
      const inner = await manager.acquire('catalog', { shared: true });
      await inner.release();
    });
    const reader = await manager.acquire('books', { shared: true });
    assert.equal(await manager.tryAcquire('books'), null);
    backend.expire('export');
    await Promise.all([permit.release(), reader.release()]);
    assert.deepEqual(seen, [
      'acquired export semaphore',
      'acquired catalog exclusive',
      'acquired catalog exclusive',
      'released catalog exclusive',
      'acquired books shared',
      'failed books exclusive',
      'lost export semaphore',
      'released export semaphore',
      'released books shared',
    ]);
    await manager.close();
  });
});
