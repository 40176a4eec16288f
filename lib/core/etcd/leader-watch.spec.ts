// Unit spec of an election's observer over a scripted watch: it reads only once etcd registered the
// watch, tells the oldest candidate, applies later events (skipping those its read already saw),
// tells each change once, reads again after a reconnect before telling anything more, and opens a
// new watch when etcd cancels one. Against real etcd: test/core/election-*.test.ts.
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { describe, it } from 'node:test';
import type { IKeyValue, IWatchResponse, Watcher } from 'etcd3';
import { StoreRejectedError } from '../errors/store-rejected.error.js';
import type { Leader } from '../lock-backend.js';
import { watchLeader, type LeaderWatchDeps } from './leader-watch.js';
import { queueOf } from './queue-txns.js';

const queue = queueOf('ns/', 'e', 'election');

/** A candidate key as etcd returns it. */
function kv(slot: string, createRevision: number, value: string, modRevision = createRevision) {
  return {
    key: Buffer.from(`ns/%election/e/${slot}`),
    create_revision: String(createRevision),
    mod_revision: String(modRevision),
    value: Buffer.from(value),
  } as unknown as IKeyValue;
}

/** A watch response of events. */
function events(...list: [type: 'Put' | 'Delete', kv: IKeyValue][]): IWatchResponse {
  return { events: list.map(([type, kv]) => ({ type, kv })) } as unknown as IWatchResponse;
}

/** A fake backend: scripted reads, and watches the test drives. */
function fakeDeps(reads: { kvs: IKeyValue[]; revision: bigint }[]) {
  const watchers: (EventEmitter & { cancelled: boolean })[] = [];
  let streamsReplaced = 0;
  let readsDone = 0;
  const deps: LeaderWatchDeps = {
    watchPrefix: () => {
      const watcher = Object.assign(new EventEmitter(), { cancelled: false });
      (watcher as unknown as { cancel: () => Promise<void> }).cancel = async () => {
        watcher.cancelled = true;
      };
      watchers.push(watcher);
      return { watcher: watcher as unknown as Watcher, cancelled: () => (streamsReplaced += 1) };
    },
    readQueue: async () => {
      const read = reads[readsDone];
      readsDone += 1;
      assert.ok(read, `read ${readsDone} was not scripted`);
      return read;
    },
  };
  return {
    deps,
    watchers,
    reads: () => readsDone,
    streamsReplaced: () => streamsReplaced,
  };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('watchLeader', () => {
  it('reads once the watch is registered, then applies later events and tells each change once', async () => {
    const fake = fakeDeps([{ kvs: [kv('a', 10, 'a'), kv('b', 12, 'b')], revision: 20n }]);
    const controller = new AbortController();
    const leaders = watchLeader(queue, fake.deps, controller.signal);
    const first = leaders.next();
    await tick();
    assert.equal(fake.reads(), 0, 'no read before etcd registered the watch');
    fake.watchers[0].emit('connected');
    assert.deepEqual((await first).value, { value: 'a', term: 10n });

    const told: (Leader | null)[] = [];
    const following = (async () => {
      for (;;) {
        const { value, done } = await leaders.next();
        if (done) return;
        told.push(value);
      }
    })();
    const watcher = fake.watchers[0];
    // Seen by the read already (mod revision ≤ 20): skipped.
    watcher.emit('data', events(['Delete', kv('a', 10, 'a', 19)]));
    watcher.emit('data', events(['Put', kv('a', 10, 'a v2', 21)])); // a proclaims
    watcher.emit('data', events(['Put', kv('c', 22, 'c')])); // a new candidate: no change
    watcher.emit('data', events(['Delete', kv('a', 10, '', 23)], ['Delete', kv('b', 12, '', 24)]));
    watcher.emit('data', events(['Delete', kv('c', 22, '', 25)]));
    await tick();
    controller.abort();
    await following;
    assert.deepEqual(told, [
      { value: 'a v2', term: 10n },
      { value: 'b', term: 12n }, // told even though it went in the same response
      { value: 'c', term: 22n },
      null,
    ]);
    assert.equal(fake.reads(), 1, 'no read for a change the events tell');
    assert.ok(watcher.cancelled, 'the watch is cancelled when the observer ends');
  });

  it('after a reconnect, reads again before telling anything more: no stale leader', async () => {
    const fake = fakeDeps([
      { kvs: [kv('a', 10, 'a')], revision: 20n },
      { kvs: [kv('c', 30, 'c')], revision: 40n },
    ]);
    const controller = new AbortController();
    const leaders = watchLeader(queue, fake.deps, controller.signal);
    const first = leaders.next();
    fake.watchers[0].emit('connected');
    assert.deepEqual((await first).value, { value: 'a', term: 10n });
    const second = leaders.next();
    const watcher = fake.watchers[0];
    watcher.emit('disconnected');
    watcher.emit('connected'); // resumed: the events it replays come after
    watcher.emit('data', events(['Put', kv('b', 25, 'b')]));
    assert.deepEqual((await second).value, { value: 'c', term: 30n }, 'what the read found');
    assert.equal(fake.reads(), 2);
    controller.abort();
    assert.equal((await leaders.next()).done, true);
  });

  it('opens a new watch on a new stream when etcd cancels one, and reads on it', async () => {
    const fake = fakeDeps([
      { kvs: [], revision: 5n },
      { kvs: [kv('a', 7, 'a')], revision: 8n },
    ]);
    const controller = new AbortController();
    const leaders = watchLeader(queue, fake.deps, controller.signal);
    const first = leaders.next();
    fake.watchers[0].emit('connected');
    assert.equal((await first).value, null);
    const second = leaders.next();
    fake.watchers[0].emit('error', new Error('Watcher canceled: compacted'));
    await new Promise((resolve) => setTimeout(resolve, 400)); // its backoff
    assert.equal(fake.streamsReplaced(), 1);
    assert.ok(fake.watchers[0].cancelled);
    assert.equal(fake.watchers.length, 2);
    fake.watchers[1].emit('connected');
    assert.deepEqual((await second).value, { value: 'a', term: 7n });
    controller.abort();
    assert.equal((await leaders.next()).done, true);
  });
});

describe('watchLeader and a refusing etcd', () => {
  it('ends with StoreRejectedError when etcd refuses the read or cancels the watch for permission', async () => {
    const refused = new StoreRejectedError(
      'observe leader',
      'e',
      'permission-denied',
      new Error('etcdserver: permission denied'),
    );
    const fake = fakeDeps([]);
    const deps: LeaderWatchDeps = { ...fake.deps, readQueue: () => Promise.reject(refused) };
    const leaders = watchLeader(queue, deps, new AbortController().signal);
    const first = leaders.next();
    fake.watchers[0].emit('connected');
    await assert.rejects(first, StoreRejectedError);

    const cancelled = fakeDeps([]);
    const again = watchLeader(queue, cancelled.deps, new AbortController().signal);
    const next = again.next();
    cancelled.watchers[0].emit(
      'error',
      new Error('Watcher canceled: etcdserver: permission denied'),
    );
    await assert.rejects(next, StoreRejectedError);
    assert.equal(cancelled.streamsReplaced(), 0, 'no new watch for a refusal');
  });
});
