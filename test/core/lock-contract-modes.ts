// The lock contract's grant rules beyond the mutex, part of `contract()` (lock-contract.ts), so that
// every backend runs them: semaphores (`permits`), shared locks, holders agreeing on permits,
// re-entrancy across modes, and bad permits/shared values.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  LockAbortedError,
  LockBusyError,
  LockClientClosedError,
  LockConfigError,
  LockTimeoutError,
  type LockHandle,
} from '../../lib/core/index.js';
import { waitFor } from '../support/wait-for.js';
import type { Locks, Store } from './lock-contract.js';

/** An acquisition under way, and whether it has been granted yet. */
interface Pending {
  readonly lock: Promise<LockHandle>;
  readonly granted: () => boolean;
}

function pending(lock: Promise<LockHandle>): Pending {
  let granted = false;
  void lock.then(
    () => (granted = true),
    () => undefined,
  );
  return { lock, granted: () => granted };
}

/** Lets settled grants run their callbacks (no time passes: nothing is timed). */
const settle = () => new Promise((resolve) => setImmediate(resolve));

/** A LockConfigError naming `option` (and the lock, and these texts, when given). */
const configError =
  (option: string, lockName?: string, ...texts: string[]) =>
  (error: unknown) => {
    assert.ok(error instanceof LockConfigError, `expected LockConfigError, got ${String(error)}`);
    assert.equal(error.code, 'ZZLOCK_CONFIG');
    assert.equal(error.option, option, error.message);
    if (lockName !== undefined) assert.equal(error.lockName, lockName, error.message);
    for (const text of texts) assert.ok(error.message.includes(text), error.message);
    return true;
  };

const ascending = (tokens: readonly bigint[]) =>
  tokens.every((token, i) => i === 0 || token > tokens[i - 1]);

/** Bad permits/shared values: [what, option named, options]. */
const BAD_MODE_OPTIONS: readonly [string, string, Record<string, unknown>][] = [
  ['permits 0', 'permits', { permits: 0 }],
  ['negative permits', 'permits', { permits: -2 }],
  ['fractional permits', 'permits', { permits: 2.5 }],
  ['permits NaN', 'permits', { permits: Number.NaN }],
  ['permits Infinity', 'permits', { permits: Infinity }],
  ['permits above 256', 'permits', { permits: 257 }],
  ['permits as a string', 'permits', { permits: '3' }],
  ['permits with shared: true', 'permits', { permits: 3, shared: true }],
  ['shared as a string', 'shared', { shared: 'true' }],
  ['shared as a number', 'shared', { shared: 0 }],
];

/** Declares the grant-rule cases of the contract against `store`. */
export function modeContract(store: () => Store, locks: () => Locks): void {
  /** Waits until `name` has `keys` queue keys (where the store counts them), then one tick more. */
  const queued = async (name: string, keys: number) => {
    await waitFor(`${keys} keys of ${name}`, async () =>
      [keys, undefined].includes(await store().keysOf(name)),
    );
    await settle();
  };

  /** Runs `fn` with `count` extra fronts on the store (other processes), closed after. */
  const withFronts = async (count: number, fn: (...fronts: Locks[]) => Promise<void>) => {
    const fronts = Array.from({ length: count }, () => store().open());
    try {
      await fn(...fronts);
    } finally {
      await Promise.all(fronts.map((front) => front.close()));
    }
  };

  describe('semaphores (permits)', () => {
    it('admits up to permits holders at once, each with its own increasing token', () =>
      withFronts(2, async (other, third) => {
        const first = await locks().acquire('sem', { permits: 3, waitMs: 5000 });
        const second = await other.acquire('sem', { permits: 3, waitMs: 5000 });
        const last = await third.tryAcquire('sem', { permits: 3 });
        assert.ok(last, 'the third permit is free for tryAcquire');
        for (const lock of [first, second, last]) {
          assert.equal(lock.mode, 'semaphore');
          assert.equal(lock.permits, 3);
          assert.equal(lock.holdCount, 1);
          assert.equal(lock.signal.aborted, false);
        }
        const tokens = [first.fencingToken, second.fencingToken, last.fencingToken];
        assert.ok(ascending(tokens), `tokens in grant order: ${tokens.join(', ')}`);

        assert.equal(await other.tryAcquire('sem', { permits: 3 }), null, 'no permit left');
        await assert.rejects(other.acquire('sem', { permits: 3, waitMs: 0 }), LockBusyError);
        const fourth = pending(other.acquire('sem', { permits: 3, waitMs: 10_000 }));
        await queued('sem', 4);
        assert.equal(fourth.granted(), false);
        await second.release();
        const granted = await fourth.lock;
        assert.ok(granted.fencingToken > last.fencingToken, 'a later grant, a larger token');
        await Promise.all([first.release(), last.release(), granted.release()]);
        await queued('sem', 0);
      }));

    it('grants waiters in arrival order as permits free up (fewer than permits ahead)', () =>
      withFronts(1, async (other) => {
        const holders = [
          await locks().acquire('sem-fifo', { permits: 2, waitMs: 5000 }),
          await other.acquire('sem-fifo', { permits: 2, waitMs: 5000 }),
        ];
        const waiters: Pending[] = [];
        for (let i = 0; i < 4; i += 1) {
          const front = i % 2 === 0 ? locks() : other;
          waiters.push(pending(front.acquire('sem-fifo', { permits: 2, waitMs: 10_000 })));
          await queued('sem-fifo', 3 + i);
        }
        const tokens = [holders[0].fencingToken, holders[1].fencingToken];
        await holders[0].release();
        const w0 = await waiters[0].lock;
        await settle();
        assert.deepEqual(
          waiters.map((w) => w.granted()),
          [true, false, false, false],
          'one permit freed, one waiter granted: the first',
        );
        await holders[1].release();
        const w1 = await waiters[1].lock;
        await w0.release();
        const w2 = await waiters[2].lock;
        await settle();
        assert.equal(waiters[3].granted(), false, 'two permits held: the last still waits');
        await w1.release();
        const w3 = await waiters[3].lock;
        tokens.push(w0.fencingToken, w1.fencingToken, w2.fencingToken, w3.fencingToken);
        assert.ok(ascending(tokens), `tokens in grant order: ${tokens.join(', ')}`);
        await Promise.all([w2.release(), w3.release()]);
      }));

    it('a waiter that times out or is aborted leaves no key; await using gives a permit back', () =>
      withFronts(1, async (other) => {
        {
          await using held = await locks().acquire('sem-wait', { permits: 2, waitMs: 5000 });
          const also = await other.acquire('sem-wait', { permits: 2, waitMs: 5000 });
          await assert.rejects(
            other.acquire('sem-wait', { permits: 2, waitMs: 150 }),
            LockTimeoutError,
          );
          const controller = new AbortController();
          const aborted = other.acquire('sem-wait', {
            permits: 2,
            waitMs: 10_000,
            signal: controller.signal,
          });
          await queued('sem-wait', 3);
          controller.abort();
          await assert.rejects(aborted, LockAbortedError);
          await waitFor('the given-up keys to go', async () =>
            [2, undefined].includes(await store().keysOf('sem-wait')),
          );
          assert.equal(held.released, false);
          await also.release();
        }
        const free = await other.tryAcquire('sem-wait', { permits: 2 });
        assert.ok(free, 'the permits came back');
        await free.release();
      }));

    it('permits: 1 is a mutex, the same lock as the default exclusive one', () =>
      withFronts(1, async (other) => {
        const one = await locks().acquire('sem-one', { permits: 1 });
        assert.equal(one.mode, 'exclusive');
        assert.equal(one.permits, 1);
        assert.equal(await other.tryAcquire('sem-one'), null);
        assert.equal(await other.tryAcquire('sem-one', { permits: 1 }), null);
        await one.release();
        const plain = await other.tryAcquire('sem-one');
        assert.ok(plain);
        assert.equal(plain.mode, 'exclusive');
        await plain.release();
      }));
  });

  describe('shared locks', () => {
    it('holds readers together; a writer waits for every one of them', () =>
      withFronts(1, async (other) => {
        const r1 = await locks().acquire('rw', { shared: true, waitMs: 5000 });
        const r2 = await other.acquire('rw', { shared: true, waitMs: 5000 });
        const r3 = await other.tryAcquire('rw', { shared: true });
        assert.ok(r3, 'tryAcquire shares with readers');
        for (const lock of [r1, r2, r3]) {
          assert.equal(lock.mode, 'shared');
          assert.equal(lock.permits, 1);
        }
        assert.ok(ascending([r1.fencingToken, r2.fencingToken, r3.fencingToken]));
        assert.equal(await other.tryAcquire('rw'), null, 'no exclusive lock while readers hold');
        const writer = pending(other.acquire('rw', { waitMs: 10_000 }));
        await queued('rw', 4);
        await r1.release();
        await r3.release();
        await settle();
        assert.equal(writer.granted(), false, 'one reader still holds');
        await r2.release();
        const w = await writer.lock;
        assert.equal(w.mode, 'exclusive');
        assert.ok(w.fencingToken > r3.fencingToken);
        assert.equal(await locks().tryAcquire('rw', { shared: true }), null, 'the writer excludes');
        await w.release();
      }));

    it('a reader that arrives after a waiting writer waits behind it (no writer starvation)', () =>
      withFronts(2, async (other, third) => {
        const r1 = await locks().acquire('starve', { shared: true, waitMs: 5000 });
        const writer = pending(other.acquire('starve', { waitMs: 10_000 }));
        await queued('starve', 2);
        assert.equal(
          await third.tryAcquire('starve', { shared: true }),
          null,
          'a writer waits ahead: no reader may pass it',
        );
        const reader = pending(third.acquire('starve', { shared: true, waitMs: 10_000 }));
        await queued('starve', 3);
        await settle();
        assert.equal(reader.granted(), false, 'the late reader does not join the holding one');
        await r1.release();
        const w = await writer.lock;
        await settle();
        assert.equal(reader.granted(), false, 'the reader waits for the writer');
        await w.release();
        const r2 = await reader.lock;
        assert.ok(ascending([r1.fencingToken, w.fencingToken, r2.fencingToken]));
        await r2.release();
      }));

    it('grants the readers queued behind a writer together, up to the next writer', () =>
      withFronts(2, async (other, third) => {
        const w1 = await locks().acquire('batch', { waitMs: 5000 });
        const r1 = pending(other.acquire('batch', { shared: true, waitMs: 10_000 }));
        await queued('batch', 2);
        const r2 = pending(third.acquire('batch', { shared: true, waitMs: 10_000 }));
        await queued('batch', 3);
        const w2 = pending(other.acquire('batch', { waitMs: 10_000 }));
        await queued('batch', 4);
        const r3 = pending(third.acquire('batch', { shared: true, waitMs: 10_000 }));
        await queued('batch', 5);
        await w1.release();
        const [l1, l2] = await Promise.all([r1.lock, r2.lock]);
        await settle();
        assert.deepEqual([w2.granted(), r3.granted()], [false, false], 'behind the next writer');
        await l1.release();
        await l2.release();
        const lw2 = await w2.lock;
        await settle();
        assert.equal(r3.granted(), false);
        await lw2.release();
        const l3 = await r3.lock;
        const tokens = [w1, l1, l2, lw2, l3].map((lock) => lock.fencingToken);
        assert.ok(ascending(tokens), `tokens in grant order: ${tokens.join(', ')}`);
        await l3.release();
      }));

    it('a writer that gives up lets the readers queued behind it in', () =>
      withFronts(2, async (other, third) => {
        const r1 = await locks().acquire('giveup', { shared: true, waitMs: 5000 });
        const writer = other.acquire('giveup', { waitMs: 400 });
        writer.catch(() => undefined);
        await queued('giveup', 2);
        const reader = pending(third.acquire('giveup', { shared: true, waitMs: 10_000 }));
        await queued('giveup', 3);
        await assert.rejects(writer, LockTimeoutError);
        const r2 = await reader.lock;
        assert.equal(r1.signal.aborted, false, 'granted while the first reader still holds');
        await queued('giveup', 2);
        await Promise.all([r1.release(), r2.release()]);
      }));

    it('stopAcquiring() ends shared and semaphore waits, and keeps their holders', async () => {
      const front = store().openStandalone();
      const reader = await front.acquire('stop-rw', { shared: true });
      const writer = front.acquire('stop-rw', { waitMs: 10_000 });
      const permit = await front.acquire('stop-sem', { permits: 2, waitMs: 3000 });
      const second = await front.acquire('stop-sem', { permits: 2, waitMs: 3000 });
      const third = front.acquire('stop-sem', { permits: 2, waitMs: 10_000 });
      for (const waiting of [writer, third]) waiting.catch(() => undefined);
      front.stopAcquiring();
      await assert.rejects(writer, LockClientClosedError);
      await assert.rejects(third, LockClientClosedError);
      for (const held of [reader, permit, second]) assert.equal(held.signal.aborted, false);
      await Promise.all([reader.release(), permit.release(), second.release()]);
      await front.close();
    });
  });

  describe('holders of one name agree on permits', () => {
    it('refuses other permits than the holders asked for, naming both values', () =>
      withFronts(1, async (other) => {
        const held = await locks().acquire('agree', { permits: 3 });
        for (const [options, asked] of [
          [{ permits: 2 }, 2],
          [{ permits: 4 }, 4],
          [{}, 1],
          [{ permits: 1 }, 1],
          [{ shared: true }, 1],
        ] as const) {
          const refused = configError(
            'permits',
            'agree',
            'held with permits 3',
            `asked for permits ${asked}`,
          );
          await assert.rejects(other.acquire('agree', { ...options, waitMs: 2000 }), refused);
          await assert.rejects(other.tryAcquire('agree', options), refused, 'never null');
        }
        const agreeing = await other.tryAcquire('agree', { permits: 3 });
        assert.ok(agreeing, 'the same permits are granted');
        await Promise.all([held.release(), agreeing.release()]);
        await queued('agree', 0);
        const later = await other.tryAcquire('agree', { permits: 2 });
        assert.ok(later, 'once nobody holds the name, it takes any permits again');
        await later.release();
      }));

    it('exclusive and shared holders agree (both count as 1); a semaphore does not', () =>
      withFronts(1, async (other) => {
        const exclusive = await locks().acquire('agree-rw');
        assert.equal(await other.tryAcquire('agree-rw', { shared: true }), null, 'busy, agreed');
        await assert.rejects(
          other.acquire('agree-rw', { permits: 2, waitMs: 2000 }),
          configError('permits', 'agree-rw', 'held with permits 1', 'asked for permits 2'),
        );
        await exclusive.release();
        const shared = await locks().acquire('agree-rw', { shared: true });
        assert.equal(await other.tryAcquire('agree-rw'), null, 'busy, agreed');
        await assert.rejects(
          other.tryAcquire('agree-rw', { permits: 4 }),
          configError('permits', 'agree-rw', 'held with permits 1', 'asked for permits 4'),
        );
        await shared.release();
      }));
  });

  describe('re-entrancy across modes', () => {
    it('returns the held permit or shared hold with the count raised', async () => {
      await locks().withLock(
        're-sem',
        async (outer) => {
          assert.equal(outer.mode, 'semaphore');
          const inner = await locks().acquire('re-sem', { permits: 3, waitMs: 0 });
          assert.equal(inner.fencingToken, outer.fencingToken);
          assert.equal(inner.holdCount, 2);
          assert.equal(inner.permits, 3);
          await locks().withLock('re-sem', (third) => assert.equal(third.holdCount, 3), {
            permits: 3,
          });
          await inner.release();
          assert.equal(outer.holdCount, 1);
        },
        { permits: 3 },
      );
      await locks().withLock(
        're-shared',
        async (outer) => {
          const inner = await locks().tryAcquire('re-shared', { shared: true });
          assert.ok(inner);
          assert.equal(inner.fencingToken, outer.fencingToken);
          assert.equal(inner.holdCount, 2);
          assert.equal(inner.mode, 'shared');
          await inner.release();
        },
        { shared: true },
      );
      await withFronts(1, async (other) => {
        const free = await other.tryAcquire('re-sem', { permits: 3 });
        assert.ok(free, 'the outermost release gave the permit back');
        await free.release();
      });
    });

    it('a shared acquire inside an exclusive hold re-enters the exclusive hold', async () => {
      await locks().withLock('re-x', async (outer) => {
        const inner = await locks().acquire('re-x', { shared: true, waitMs: 0 });
        assert.equal(inner.fencingToken, outer.fencingToken);
        assert.equal(inner.mode, 'exclusive', 'the outer hold it shares');
        assert.equal(inner.holdCount, 2);
        const mutex = await locks().acquire('re-x', { permits: 1, waitMs: 0 });
        assert.equal(mutex.holdCount, 3);
        await mutex.release();
        await inner.release();
        await withFronts(1, async (other) => {
          assert.equal(await other.tryAcquire('re-x', { shared: true }), null, 'still exclusive');
        });
      });
    });

    it('an exclusive acquire inside a shared hold is a LockConfigError at once, not a hang', async () => {
      await locks().withLock(
        're-deadlock',
        async (outer) => {
          const refused = configError('shared', 're-deadlock', 'held shared by this call chain');
          await assert.rejects(locks().acquire('re-deadlock', { waitMs: Infinity }), refused);
          await assert.rejects(locks().acquire('re-deadlock', { permits: 1 }), refused);
          await assert.rejects(locks().tryAcquire('re-deadlock'), refused);
          let ran = false;
          await assert.rejects(
            locks().withLock('re-deadlock', () => (ran = true)),
            refused,
          );
          assert.equal(ran, false);
          assert.equal(outer.holdCount, 1, 'the shared hold is untouched');
          assert.equal(outer.signal.aborted, false);
        },
        { shared: true },
      );
    });

    it('other permits than the chain holds are a LockConfigError naming both', async () => {
      await locks().withLock(
        're-other',
        async (outer) => {
          for (const [options, asked] of [
            [{ permits: 2 }, 2],
            [{}, 1],
            [{ shared: true }, 1],
          ] as const) {
            await assert.rejects(
              locks().acquire('re-other', { ...options, waitMs: Infinity }),
              configError(
                'permits',
                're-other',
                'held with permits 3',
                `asked for permits ${asked}`,
              ),
            );
          }
          assert.equal(outer.holdCount, 1);
        },
        { permits: 3 },
      );
      for (const held of [{}, { shared: true }] as const) {
        await locks().withLock(
          're-other-1',
          () =>
            assert.rejects(
              locks().acquire('re-other-1', { permits: 4, waitMs: Infinity }),
              configError('permits', 're-other-1', 'held with permits 1', 'asked for permits 4'),
            ),
          held,
        );
      }
    });
  });

  describe('bad permits and shared values', () => {
    for (const [what, option, options] of BAD_MODE_OPTIONS) {
      it(`${what} is a LockConfigError naming ${option}, nothing queued`, async () => {
        let ran = false;
        for (const call of [
          () => locks().acquire('bad-mode', options as never),
          () => locks().tryAcquire('bad-mode', options as never),
          () => locks().withLock('bad-mode', () => (ran = true), options as never),
        ]) {
          await assert.rejects(call(), configError(option));
        }
        assert.equal(ran, false);
        assert.ok([0, undefined].includes(await store().keysOf('bad-mode')), 'no key queued');
      });
    }
  });
}
