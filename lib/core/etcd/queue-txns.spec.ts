// Unit spec of the lock queue's etcd requests, as plain data: what each txn compares and does,
// and how each reply decodes. No etcd here; test/core/*.test.ts send them to a real one.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ITxnResponse } from 'etcd3';
import {
  confirmTxn,
  decodeConfirm,
  decodeEnqueue,
  decodeTryAcquire,
  deleteTxn,
  enqueueTxn,
  lastKeyRange,
  queueOf,
  tryAcquireTxn,
  writtenRevision,
} from './queue-txns.js';

const queue = queueOf('ns/', 'a/b');
const key = Buffer.from('ns/a%2Fb/694d.0');
const value = Buffer.from('host:1');

/** A txn reply with the fields the decoders read. */
function reply(
  succeeded: boolean,
  revision: number,
  ranges: { kvs: { create_revision: string }[]; count?: string }[] = [],
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

  it('reads the newest key, keys only, optionally older than a revision', () => {
    assert.deepEqual(lastKeyRange(queue), {
      key: queue.prefix,
      range_end: queue.end,
      sort_target: 'Create',
      sort_order: 'Descend',
      limit: 1,
      keys_only: true,
    });
    assert.equal(lastKeyRange(queue, 10n).max_create_revision, '9');
  });

  it('tryAcquire puts the key only on an empty queue, and finds its own key on a retry', () => {
    const txn = tryAcquireTxn(queue, key, value, '7');
    assert.equal(txn.compare?.[0].create_revision, 0);
    assert.deepEqual(txn.success, [{ request_put: { key, value, lease: '7' } }]);
    assert.deepEqual(txn.failure, [
      { request_range: { key } },
      { request_range: { ...lastKeyRange(queue), sort_order: 'Ascend' } },
    ]);
    assert.equal(decodeTryAcquire(reply(true, 42)), 42n);
    const own = { create_revision: '42' };
    // A retried txn whose first attempt put the key: it is the head, a grant.
    assert.equal(decodeTryAcquire(reply(false, 50, [{ kvs: [own] }, { kvs: [own] }])), 42n);
    // A key of this name behind another holder's (a late txn): held, and ours to clean up.
    const behind = reply(false, 50, [{ kvs: [own] }, { kvs: [{ create_revision: '40' }] }]);
    assert.equal(decodeTryAcquire(behind), null);
    assert.equal(writtenRevision(behind), 42n);
    assert.equal(decodeTryAcquire(reply(false, 50, [{ kvs: [] }, { kvs: [own] }])), null);
  });

  it('enqueue reads the tail before its put, and counts the keys ahead', () => {
    const txn = enqueueTxn(queue, key, value, '7');
    assert.deepEqual(txn.compare, [
      { key, target: 'Create', result: 'Equal', create_revision: '0' },
    ]);
    assert.deepEqual(txn.success?.[0], { request_range: lastKeyRange(queue) });
    assert.deepEqual(decodeEnqueue(reply(true, 42, [{ kvs: [] }])), {
      revision: 42n,
      predecessor: null,
      ahead: 0,
    });
    assert.deepEqual(
      decodeEnqueue(reply(true, 42, [{ kvs: [{ create_revision: '40' }], count: '3' }])),
      { revision: 42n, predecessor: 40n, ahead: 3 },
    );
    // A retried txn whose first attempt had put the key: its place is unknown, read it.
    assert.deepEqual(decodeEnqueue(reply(false, 50, [{ kvs: [{ create_revision: '42' }] }])), {
      revision: 42n,
      predecessor: undefined,
      ahead: undefined,
    });
  });

  it('confirm checks our own key and finds the newest older one', () => {
    const txn = confirmTxn(queue, key, 42n);
    assert.deepEqual(txn.compare, [
      { key, target: 'Create', result: 'Equal', create_revision: '42' },
    ]);
    assert.deepEqual(txn.success, [{ request_range: lastKeyRange(queue, 42n) }]);
    assert.equal(decodeConfirm(reply(false, 60)), 'gone');
    assert.deepEqual(decodeConfirm(reply(true, 60, [{ kvs: [] }])), {
      revision: 60n,
      predecessor: null,
    });
    assert.deepEqual(decodeConfirm(reply(true, 60, [{ kvs: [{ create_revision: '41' }] }])), {
      revision: 60n,
      predecessor: 41n,
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
    assert.equal(writtenRevision(reply(false, 50, [{ kvs: [{ create_revision: '42' }] }])), 42n);
    assert.equal(writtenRevision(reply(false, 50, [{ kvs: [] }])), undefined);
  });
});
