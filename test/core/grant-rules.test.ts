// The grant rules of the one queue engine, against real etcd through EtcdBackend itself: a
// semaphore admits at most `permits` holders and reaches that many, a shared lock admits readers
// together but never past a waiting writer, holders of a name must agree on permits, and each
// waiter watches only the keys that block it.
import assert from 'node:assert/strict';
import { setTimeout as delay } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';

import { LockConfigError } from '../../lib/core/index.js';
import { EtcdBackend } from '../../lib/core/etcd/etcd-backend.js';
import type { AcquireRequest, LockGrant, LockMode } from '../../lib/core/lock-backend.js';
import { resolveClientOptions } from '../../lib/core/validation.js';
import { leftovers, startEtcd, waitFor, type EtcdCluster } from '../support/index.js';

const namespace = 'rules/';
let etcd: EtcdCluster;
const backends: EtcdBackend[] = [];
before(async () => {
  etcd = await startEtcd();
});
after(async () => {
  await Promise.all(backends.map((backend) => backend.close()));
  await etcd?.stop();
});

/** A backend of its own, as another process would have. */
function backend(): EtcdBackend {
  const created = new EtcdBackend(resolveClientOptions({ endpoints: etcd.endpoints, namespace }));
  backends.push(created);
  return created;
}

function request(name: string, mode: LockMode, permits = 1, waitMs = 20_000): AcquireRequest {
  return { name, mode, permits, ttl: 10, waitMs };
}

async function grant(store: EtcdBackend, req: AcquireRequest): Promise<LockGrant> {
  const granted = await store.acquire(req);
  assert.ok(granted, `${req.name} granted`);
  return granted;
}

/** Number of queue keys of `name` in etcd. */
async function keysOf(name: string): Promise<number> {
  const { keys } = await leftovers(etcd.endpoints, `${namespace}${name}/`);
  return keys.length;
}

/** Settles within `ms` or not: to tell a waiting acquire from a granted one. */
async function settlesWithin<T>(promise: Promise<T>, ms: number): Promise<boolean> {
  return Promise.race([promise.then(() => true), delay(ms).then(() => false)]);
}

describe('grant rules on etcd', () => {
  it('a semaphore of 3 permits: never more than 3 holders, and 3 reached', async () => {
    const stores = [backend(), backend(), backend(), backend()];
    let holding = 0;
    let most = 0;
    const tokens = new Set<bigint>();
    const loop = async (store: EtcdBackend) => {
      for (let i = 0; i < 15; i += 1) {
        const held = await grant(store, request('export', 'semaphore', 3));
        assert.equal(held.mode, 'semaphore');
        holding += 1;
        most = Math.max(most, holding);
        assert.ok(holding <= 3, `${holding} holders of a 3-permit semaphore`);
        assert.ok(!tokens.has(held.fencingToken), 'fencing tokens are unique');
        tokens.add(held.fencingToken);
        await delay(5);
        holding -= 1;
        await store.release(held);
      }
    };
    await Promise.all(stores.flatMap((store) => [loop(store), loop(store), loop(store)]));
    assert.equal(most, 3, 'the semaphore admitted as many holders as it has permits');
    assert.equal(tokens.size, 4 * 3 * 15);
    await waitFor('the semaphore queue to empty', async () => (await keysOf('export')) === 0);
  });

  it('a semaphore admits its next waiter when any holder releases, not only the oldest', async () => {
    const [a, b] = [backend(), backend()];
    const holders = [
      await grant(a, request('slots', 'semaphore', 2)),
      await grant(a, request('slots', 'semaphore', 2)),
    ];
    const waiting = grant(b, request('slots', 'semaphore', 2));
    assert.equal(await settlesWithin(waiting, 300), false, 'waits while both permits are held');
    await a.release(holders[1]); // the newer holder: the one just ahead of the waiter's window
    const admitted = await waiting;
    assert.ok(admitted.fencingToken > holders[1].fencingToken);
    await Promise.all([a.release(holders[0]), b.release(admitted)]);
  });

  it('tryAcquire of a full semaphore is null and leaves no key', async () => {
    const store = backend();
    const held = [
      await grant(store, request('full', 'semaphore', 2)),
      await grant(store, request('full', 'semaphore', 2)),
    ];
    assert.equal(await store.acquire(request('full', 'semaphore', 2, 0)), null);
    await waitFor('the try to leave no key', async () => (await keysOf('full')) === 2);
    await store.release(held[0]);
    const third = await store.acquire(request('full', 'semaphore', 2, 0));
    assert.ok(third, 'a freed permit is taken by a try');
    await Promise.all([store.release(held[1]), store.release(third)]);
  });

  it('shared: readers together, a writer waits for them, a later reader waits behind it', async () => {
    const [readers, writers, late] = [backend(), backend(), backend()];
    const r1 = await grant(readers, request('catalog', 'shared'));
    const r2 = await grant(readers, request('catalog', 'shared'));
    assert.equal(r1.mode, 'shared');
    const writer = grant(writers, request('catalog', 'exclusive'));
    assert.equal(await settlesWithin(writer, 300), false, 'the writer waits for the readers');
    const r3 = grant(late, request('catalog', 'shared'));
    assert.equal(await settlesWithin(r3, 300), false, 'a reader behind a waiting writer waits');
    assert.equal(
      await readers.acquire(request('catalog', 'shared', 1, 0)),
      null,
      'a shared try behind the waiting writer is busy too',
    );
    await readers.release(r1);
    assert.equal(await settlesWithin(writer, 300), false, 'one reader still holds');
    await readers.release(r2);
    const w = await writer;
    assert.equal(await settlesWithin(r3, 300), false, 'the late reader waits for the writer');
    await writers.release(w);
    const r = await r3;
    assert.ok(r.fencingToken > w.fencingToken);
    await late.release(r);
    await waitFor('the queue to empty', async () => (await keysOf('catalog')) === 0);
  });

  it('holders must agree on permits: a different number is a LockConfigError naming both', async () => {
    const [holder, other] = [backend(), backend()];
    const held = await grant(holder, request('agree', 'semaphore', 3));
    for (const [mode, permits, waitMs] of [
      ['exclusive', 1, 5000],
      ['semaphore', 2, 5000],
      ['shared', 1, 5000],
      ['exclusive', 1, 0],
      ['semaphore', 4, 0],
    ] as const) {
      await assert.rejects(
        other.acquire(request('agree', mode, permits, waitMs)),
        (error: unknown) =>
          error instanceof LockConfigError &&
          error.option === 'permits' &&
          error.message.includes('permits 3') &&
          error.message.includes(`permits ${permits}`),
        `${mode} with permits ${permits} (waitMs ${waitMs}) against a semaphore of 3`,
      );
      // The refused request's key goes in the background; the next case must not meet it.
      await waitFor(
        'the refused request to leave no key',
        async () => (await keysOf('agree')) === 1,
      );
    }
    await holder.release(held);
  });

  it('each waiter watches only the key that blocks it', async () => {
    const stores = [backend(), backend(), backend()];
    // The watches of earlier cases linger a moment after their waiters left (watchLingerMs).
    await waitFor('the watches of earlier cases to close', async () => (await watchers()) === 0);
    const holder = await grant(stores[0], request('line', 'exclusive'));
    const before = await watchers();
    const waiting: Promise<LockGrant>[] = [];
    for (let i = 0; i < 6; i += 1) {
      waiting.push(grant(stores[i % 3], request('line', 'exclusive')));
      await waitFor('the waiter to queue', async () => (await keysOf('line')) === i + 2);
    }
    // Each waiter watches the key just ahead of it (the first: the holder's), nothing else.
    await waitFor('each waiter to watch', async () => (await watchers()) - before === 6);
    let previous = holder;
    let owner = stores[0];
    await owner.release(previous);
    for (const [i, next] of waiting.entries()) {
      previous = await next;
      owner = stores[i % 3];
      await owner.release(previous);
    }
    await waitFor('the watches to close', async () => (await watchers()) === before);
  });
});

/** Watchers etcd has registered (its own gauge). */
async function watchers(): Promise<number> {
  const text = await (await fetch(`${etcd.endpoints[0]}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith('etcd_debugging_mvcc_watcher_total '));
  return Number(line?.split(' ')[1] ?? NaN);
}
