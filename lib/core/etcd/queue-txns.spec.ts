// Unit spec of the lock queue's etcd requests, as plain data: what each txn compares and does,
// and how each reply decodes. No etcd here; test/core/*.test.ts send them to a real one.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { IKeyValue, ITxnResponse } from 'etcd3';
import {
  confirmTxn,
  decodeConfirm,
  decodeEnqueue,
  decodeLeader,
  decodeTryAcquire,
  deleteTxn,
  enqueueTxn,
  leaderRead,
  oldestBlocker,
  proclaimTxn,
  queueOf,
  stillBlockedTxn,
  tryAcquireTxn,
  writtenRevision,
} from './queue-txns.js';
import { grantRuleOf, keyValue, newestKeys, permitsOf, sharedRange } from './grant-rule.js';

const queue = queueOf('ns/', 'a/b');
const key = Buffer.from('ns/a%2Fb/694d.0');
const value = Buffer.from('host:1');

const exclusive = grantRuleOf('exclusive', 1);
const semaphore = grantRuleOf('semaphore', 3);
const shared = grantRuleOf('shared', 1);

/** A queue key as a range returns it. */
function kv(createRevision: string, owner = 'host:2') {
  return {
    key: Buffer.from(`ns/a%2Fb/1.${createRevision}`),
    create_revision: createRevision,
    value: Buffer.from(owner),
  };
}

/** The blocker a {@link kv} decodes to. */
function blocker(createRevision: string) {
  return { key: kv(createRevision).key, revision: BigInt(createRevision), permits: 1 };
}

/** A txn reply with the fields the decoders read. */
function reply(
  succeeded: boolean,
  revision: number,
  ranges: { kvs: ReturnType<typeof kv>[]; count?: string }[] = [],
): ITxnResponse {
  return {
    succeeded,
    header: { revision: String(revision) },
    responses: ranges.map((range) => ({
      response_range: { kvs: range.kvs, count: range.count ?? String(range.kvs.length) },
    })),
  } as unknown as ITxnResponse;
}

describe('queue txns', () => {
  it('names the queue so no lock’s prefix covers another’s', () => {
    assert.equal(queue.prefix.toString(), 'ns/a%2Fb/');
    assert.equal(queue.end.toString(), 'ns/a%2Fb0');
  });

  it('reads the newest keys a rule needs, optionally older than a revision', () => {
    const range = { key: queue.prefix, range_end: queue.end };
    assert.deepEqual(newestKeys(range, 1), {
      ...range,
      sort_target: 'Create',
      sort_order: 'Descend',
      limit: 1,
    });
    assert.equal(newestKeys(range, 3, 10n).max_create_revision, '9');
  });

  it('keeps shared keys under r/, and their blockers (the other keys) in one range', () => {
    assert.deepEqual(exclusive.keyPrefix(queue.prefix), queue.prefix);
    assert.equal(shared.keyPrefix(queue.prefix).toString(), 'ns/a%2Fb/r/');
    assert.deepEqual(exclusive.blockerRange(queue.prefix, queue.end), {
      key: queue.prefix,
      range_end: queue.end,
    });
    const readers = shared.blockerRange(queue.prefix, queue.end);
    assert.equal(readers.key.toString(), 'ns/a%2Fb/');
    assert.equal(readers.range_end.toString(), 'ns/a%2Fb/r/');
    // Lease ids are lower-case hex: no exclusive key sorts at or after 'r/'.
    assert.ok(Buffer.from('ns/a%2Fb/ffffffffffffffff.9').compare(readers.range_end) < 0);
    assert.deepEqual(sharedRange(queue.prefix), {
      key: Buffer.from('ns/a%2Fb/r/'),
      range_end: Buffer.from('ns/a%2Fb/r0'),
    });
  });

  it('grants by rule: nothing ahead, fewer than permits ahead, or no exclusive key ahead', () => {
    assert.equal(exclusive.isGranted(0), true);
    assert.equal(exclusive.isGranted(1), false);
    assert.equal(semaphore.isGranted(2), true);
    assert.equal(semaphore.isGranted(3), false);
    assert.equal(semaphore.blockerLimit, 3);
    assert.equal(exclusive.blockerLimit, 1);
    assert.equal(shared.isGranted(0), true);
    assert.equal(shared.isGranted(1), false);
  });

  it('records a semaphore key’s permits in its value; other keys count as one permit', () => {
    assert.equal(keyValue('host:1', semaphore).toString(), 'host:1 permits=3');
    assert.equal(keyValue('host:1', exclusive).toString(), 'host:1');
    assert.equal(permitsOf({ value: Buffer.from('host:1 permits=3') }), 3);
    assert.equal(permitsOf({ value: Buffer.from('host:1') }), 1);
    assert.equal(permitsOf({ value: Buffer.alloc(0) }), 1); // etcd's own lock recipe
  });

  it('tryAcquire puts the key only when nothing blocks it, and finds its own key on a retry', () => {
    const txn = tryAcquireTxn(queue, exclusive, key, value, '7');
    assert.equal(txn.compare?.[0].create_revision, 0);
    assert.deepEqual(txn.success, [{ request_put: { key, value, lease: '7' } }]);
    assert.deepEqual(txn.failure, [
      { request_range: { key } },
      {
        request_range: {
          ...newestKeys({ key: queue.prefix, range_end: queue.end }, 1),
          sort_order: 'Ascend',
        },
      },
    ]);
    assert.equal(decodeTryAcquire(reply(true, 42)), 42n);
    const own = kv('42');
    // A retried txn whose first attempt put the key: it is the head, a grant.
    assert.equal(decodeTryAcquire(reply(false, 50, [{ kvs: [own] }, { kvs: [own] }])), 42n);
    // A key of this name behind another holder's (a late txn): held, and ours to clean up.
    const behind = reply(false, 50, [{ kvs: [own] }, { kvs: [kv('40', 'host:2 permits=3')] }]);
    assert.equal(decodeTryAcquire(behind), null);
    assert.equal(writtenRevision(behind), 42n);
    assert.equal(oldestBlocker(behind)?.permits, 3);
    assert.equal(decodeTryAcquire(reply(false, 50, [{ kvs: [] }, { kvs: [own] }])), null);
    // Shared: the oldest exclusive key is newer than ours: nothing blocks it.
    assert.equal(decodeTryAcquire(reply(false, 50, [{ kvs: [own] }, { kvs: [kv('45')] }])), 42n);
    // Its compare covers the exclusive keys only.
    const sharedTry = tryAcquireTxn(queue, shared, key, value, '7');
    assert.equal(String(sharedTry.compare?.[0].range_end), 'ns/a%2Fb/r/');
  });

  it('enqueue reads what blocks it, and the head, before its put', () => {
    const txn = enqueueTxn(queue, semaphore, key, value, '7');
    assert.deepEqual(txn.compare, [
      { key, target: 'Create', result: 'Equal', create_revision: '0' },
    ]);
    const whole = { key: queue.prefix, range_end: queue.end };
    assert.deepEqual(txn.success, [
      { request_range: newestKeys(whole, 3) },
      { request_range: { ...newestKeys(whole, 1), sort_order: 'Ascend' } },
      { request_put: { key, value, lease: '7' } },
    ]);
    assert.deepEqual(decodeEnqueue(reply(true, 42, [{ kvs: [] }, { kvs: [] }])), {
      revision: 42n,
      blockers: [],
      head: undefined,
    });
    const behind = reply(true, 42, [
      { kvs: [kv('40'), kv('38')] },
      { kvs: [kv('30', 'h:1 permits=3')] },
    ]);
    assert.deepEqual(decodeEnqueue(behind), {
      revision: 42n,
      blockers: [blocker('40'), blocker('38')],
      head: { ...blocker('30'), permits: 3 },
    });
    // A retried txn whose first attempt had put the key: its place is unknown, read it.
    assert.deepEqual(decodeEnqueue(reply(false, 50, [{ kvs: [kv('42')] }])), {
      revision: 42n,
      blockers: undefined,
    });
  });

  it('confirm checks our own key and reads what blocks it, and the head', () => {
    const txn = confirmTxn(queue, exclusive, key, 42n);
    assert.deepEqual(txn.compare, [
      { key, target: 'Create', result: 'Equal', create_revision: '42' },
    ]);
    const whole = { key: queue.prefix, range_end: queue.end };
    assert.deepEqual(txn.success, [
      { request_range: newestKeys(whole, 1, 42n) },
      { request_range: { ...newestKeys(whole, 1), sort_order: 'Ascend' } },
    ]);
    assert.equal(decodeConfirm(reply(false, 60)), 'gone');
    assert.deepEqual(decodeConfirm(reply(true, 60, [{ kvs: [] }, { kvs: [kv('42')] }])), {
      revision: 60n,
      blockers: [],
      head: blocker('42'),
    });
    assert.deepEqual(decodeConfirm(reply(true, 60, [{ kvs: [kv('41')] }, { kvs: [kv('41')] }])), {
      revision: 60n,
      blockers: [blocker('41')],
      head: blocker('41'),
    });
  });

  it('rechecks by compares alone: our key and each blocker in the incarnation read', () => {
    assert.deepEqual(stillBlockedTxn(key, 42n, [blocker('40'), blocker('38')]), {
      compare: [
        { key, target: 'Create', result: 'Equal', create_revision: '42' },
        { key: kv('40').key, target: 'Create', result: 'Equal', create_revision: '40' },
        { key: kv('38').key, target: 'Create', result: 'Equal', create_revision: '38' },
      ],
      success: [],
      failure: [],
    });
  });

  it('deletes only the incarnation of a key created at its revision', () => {
    assert.deepEqual(deleteTxn(key, 42n), {
      compare: [{ key, target: 'Create', result: 'Equal', create_revision: '42' }],
      success: [{ request_delete_range: { key } }],
      failure: [],
    });
  });

  it('tells what an acquire txn wrote, for the cleanup of a given-up acquisition', () => {
    assert.equal(writtenRevision(reply(true, 42, [{ kvs: [] }])), 42n);
    assert.equal(writtenRevision(reply(false, 50, [{ kvs: [kv('42')] }])), 42n);
    assert.equal(writtenRevision(reply(false, 50, [{ kvs: [] }])), undefined);
  });

  it('puts elections in a key space of their own, where no lock queue reaches, nor lock names nest', () => {
    const election = queueOf('ns/', 'a/b', 'election');
    assert.equal(election.prefix.toString(), 'ns/%election/a%2Fb/');
    // etcd's Election for the name 'ns/%election/a%2Fb' uses this very prefix (name + '/').
    for (const lock of ['%election', 'election', '%election/a', 'a/b', '%25election']) {
      const lockPrefix = queueOf('ns/', lock).prefix.toString();
      assert.ok(!election.prefix.toString().startsWith(lockPrefix), `lock ${lock} covers it`);
      assert.ok(!lockPrefix.startsWith(election.prefix.toString()), `it covers lock ${lock}`);
    }
    assert.ok(!queueOf('ns/', 'a', 'election').prefix.equals(queueOf('ns/', 'a').prefix));
    const nested = queueOf('ns/', 'a/b/c', 'election').prefix.toString();
    assert.ok(!nested.startsWith(election.prefix.toString()), 'election a/b covers a/b/c');
  });

  it('an election key’s value is the proclaimed value, never read as permits or agreed on', () => {
    const election = grantRuleOf('election', 1);
    assert.equal(election.keyValue('host:1', 'replica permits=3').toString(), 'replica permits=3');
    assert.equal(election.keyValue('host:1').toString(), '');
    assert.equal(election.permitsOf({ value: Buffer.from('replica permits=3') }), 1);
    assert.equal(election.agreesOnPermits, false);
    assert.equal(semaphore.agreesOnPermits, true);
    assert.equal(election.isGranted(0), true);
    assert.equal(election.isGranted(1), false);
    const read = reply(true, 42, [
      { kvs: [kv('41', 'x permits=3')] },
      { kvs: [kv('41', 'x permits=3')] },
    ]);
    assert.deepEqual(decodeEnqueue(read, (kv) => election.permitsOf(kv)).head, blocker('41'));
    assert.equal(decodeEnqueue(read).head?.permits, 3, 'a lock reads permits');
  });

  it('proclaims only on the key’s own incarnation, keeping its lease; reads the oldest key as leader', () => {
    assert.deepEqual(proclaimTxn(key, 42n, value, '7'), {
      compare: [{ key, target: 'Create', result: 'Equal', create_revision: '42' }],
      success: [{ request_put: { key, value, lease: '7' } }],
      failure: [],
    });
    const election = queueOf('ns/', 'e', 'election');
    assert.deepEqual(leaderRead(election), {
      key: election.prefix,
      range_end: election.end,
      sort_target: 'Create',
      sort_order: 'Ascend',
      limit: 1,
    });
    assert.equal(decodeLeader([]), null);
    assert.deepEqual(decodeLeader([kv('41', 'replica-1') as unknown as IKeyValue]), {
      value: 'replica-1',
      term: 41n,
    });
  });
});
