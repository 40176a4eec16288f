// The lock contract every backend keeps, as a suite to run against one: against EtcdBackend on a
// real etcd (lock-contract-etcd.test.ts) and against MemoryBackend, the in-process store users get
// for their own unit tests (lock-contract-memory.unit.test.ts, which starts no etcd). The grant
// rules beyond the mutex (permits, shared) are in lock-contract-modes.ts, part of this suite.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  LockAbortedError,
  LockBusyError,
  LockClientClosedError,
  LockNotHeldError,
  LockTimeoutError,
  type LockClient,
  type LockHandle,
} from '../../lib/core/index.js';
import { waitFor } from '../support/wait-for.js';
import { modeContract } from './lock-contract-modes.js';

const eventually = (check: () => Promise<boolean>) => waitFor('the store to settle', check);

/** What the contract needs from a lock front: LockClient and LockManager both fit. */
export interface Locks {
  stopAcquiring(): void;
  acquire: LockClient['acquire'];
  tryAcquire: LockClient['tryAcquire'];
  withLock: LockClient['withLock'];
  current: LockClient['current'];
  close(): Promise<void>;
}

/** The store a contract run is against. */
export interface Store {
  /** A fresh lock front on the shared store (as another process on the same etcd). */
  open(): Locks;
  /** A lock front on a store of its own, free to close. */
  openStandalone(): Locks;
  /** Number of queue keys of `name` in the store; undefined where the store has no keys to count. */
  keysOf(name: string): Promise<number | undefined>;
}

/** Declares the contract's suite, `lock contract: <label>`, against `store`. */
export function contract(label: string, store: () => Store): void {
  describe(`lock contract: ${label}`, () => {
    let locks: Locks;
    before(() => {
      locks = store().open();
    });
    after(() => locks.close());

    it('grants a free lock with a fencing token and releases it', async () => {
      const lock = await locks.acquire('free');
      assert.equal(lock.name, 'free');
      assert.equal(typeof lock.fencingToken, 'bigint');
      assert.equal(lock.signal.aborted, false);
      assert.equal(lock.holdCount, 1);
      await lock.release();
      assert.equal(lock.released, true);
      await lock.release(); // idempotent
      const again = await locks.tryAcquire('free');
      assert.ok(again, 'free again after release');
      assert.ok(again.fencingToken > lock.fencingToken, 'tokens increase across grants');
      await again.release();
    });

    it('tryAcquire on a held lock returns null at once', async () => {
      const holder = await locks.acquire('held');
      const other = store().open();
      try {
        assert.equal(await other.tryAcquire('held'), null);
        assert.ok((await store().keysOf('held')) !== 2, 'a failed try leaves no key');
      } finally {
        await holder.release();
        await other.close();
      }
    });

    it('acquire with waitMs times out with LockTimeoutError and leaves no key', async () => {
      const holder = await locks.acquire('timeout');
      const other = store().open();
      try {
        await assert.rejects(other.acquire('timeout', { waitMs: 150 }), (error: unknown) => {
          assert.ok(error instanceof LockTimeoutError);
          assert.equal(error.code, 'ZZLOCK_TIMEOUT');
          assert.equal(error.lockName, 'timeout');
          return true;
        });
        await assert.rejects(other.acquire('timeout', { waitMs: 0 }), LockBusyError);
        await eventually(async () => (await store().keysOf('timeout')) !== 2);
      } finally {
        await holder.release();
        await other.close();
      }
    });

    it('abort via signal rejects with LockAbortedError and leaves no key', async () => {
      const holder = await locks.acquire('abort');
      const other = store().open();
      try {
        const controller = new AbortController();
        const waiting = other.acquire('abort', { waitMs: 10_000, signal: controller.signal });
        setTimeout(() => controller.abort(new Error('user gave up')), 100);
        await assert.rejects(waiting, (error: unknown) => {
          assert.ok(error instanceof LockAbortedError);
          assert.equal((error.cause as Error).message, 'user gave up');
          return true;
        });
        await assert.rejects(
          other.acquire('abort', { signal: AbortSignal.abort() }),
          LockAbortedError,
          'an already aborted signal fails before queueing',
        );
        await eventually(async () => (await store().keysOf('abort')) !== 2);
      } finally {
        await holder.release();
        await other.close();
      }
    });

    it('grants waiters in arrival order with increasing fencing tokens', async () => {
      const holder = await locks.acquire('fifo');
      const order: number[] = [];
      const tokens: bigint[] = [];
      const waiters: Promise<void>[] = [];
      for (let i = 0; i < 5; i += 1) {
        waiters.push(
          locks.acquire('fifo', { waitMs: 10_000 }).then(async (lock) => {
            order.push(i);
            tokens.push(lock.fencingToken);
            await lock.release();
          }),
        );
        await eventually(async () => [i + 2, undefined].includes(await store().keysOf('fifo')));
        await new Promise((resolve) => setImmediate(resolve));
      }
      await holder.release();
      await Promise.all(waiters);
      assert.deepEqual(order, [0, 1, 2, 3, 4]);
      assert.deepEqual(
        [...tokens].sort((a, b) => (a < b ? -1 : 1)),
        tokens,
      );
    });

    it('is re-entrant within one call chain and counts holds', async () => {
      await locks.withLock('nested', async (outer) => {
        assert.equal(outer.holdCount, 1);
        const inner = await locks.acquire('nested', { waitMs: 0 });
        assert.equal(inner.fencingToken, outer.fencingToken);
        assert.equal(inner.holdCount, 2);
        await locks.withLock('nested', async (third) => assert.equal(third.holdCount, 3));
        assert.equal(outer.holdCount, 2);
        await inner.release();
        await inner.release(); // a handle releases its own hold once
        assert.equal(outer.holdCount, 1);
        assert.equal(locks.current('nested'), outer);
        const other = store().open();
        assert.equal(await other.tryAcquire('nested'), null, 'still held by the outer hold');
        await other.close();
      });
      const after = await locks.tryAcquire('nested');
      assert.ok(after, 'released when the outermost hold ends');
      await after.release();
    });

    it('does not treat a sibling call chain as re-entrant', async () => {
      const holder = await locks.acquire('siblings');
      await assert.rejects(locks.acquire('siblings', { waitMs: 50 }), LockTimeoutError);
      await holder.release();
      assert.throws(() => locks.current('siblings'), LockNotHeldError);
    });

    it('withLock releases when fn throws, and await using releases at scope end', async () => {
      await assert.rejects(
        locks.withLock('scoped', () => {
          throw new Error('boom');
        }),
        /boom/,
      );
      {
        await using lock: LockHandle = await locks.acquire('scoped');
        assert.equal(lock.released, false);
      }
      const free = await locks.tryAcquire('scoped');
      assert.ok(free);
      await free.release();
    });

    it('stopAcquiring() ends waits and refuses new acquisitions, but keeps held locks', async () => {
      const front = store().openStandalone();
      const holder = await front.acquire('stopping');
      const waiting = front.acquire('stopping', { waitMs: 10_000 });
      waiting.catch(() => undefined);
      front.stopAcquiring();
      await assert.rejects(waiting, (error: unknown) => {
        assert.ok(error instanceof LockClientClosedError);
        assert.equal(error.lockName, 'stopping', 'each waiter gets its own error, naming its lock');
        return true;
      });
      await assert.rejects(front.tryAcquire('other'), LockClientClosedError);
      assert.equal(holder.signal.aborted, false, 'a held lock stays held');
      await holder.release();
      await front.close();
    });

    it('close() refuses new acquisitions with LockClientClosedError', async () => {
      const closing = store().openStandalone();
      await closing.close();
      await assert.rejects(closing.acquire('closed'), LockClientClosedError);
    });

    modeContract(store, () => locks);
  });
}
