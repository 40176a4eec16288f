import type { Etcd3, ICompare, IRangeRequest, ITxnResponse } from 'etcd3';
import { prefixRangeEnd, queuePrefix } from './etcd-keys.js';

/**
 * The lock queue's etcd requests, built and decoded as plain data: no client, no I/O, so each is
 * unit-tested on its own. The backend sends them; the waiter and the janitor read the results.
 * @internal
 */

/** etcd's Compare also takes a range_end (proto field 64); etcd3's typings leave it out. */
type RangeCompare = ICompare & { range_end?: Buffer };

/** A txn request as etcd3's `kv.txn` takes it. */
export type TxnRequest = Parameters<Etcd3['kv']['txn']>[0];

/** A lock's queue in etcd: its name, prefix and range end. @internal */
export interface Queue {
  readonly name: string;
  readonly prefix: Buffer;
  readonly end: Buffer;
}

/** The queue of lock `name` under `namespace`. @internal */
export function queueOf(namespace: string, name: string): Queue {
  const prefix = queuePrefix(namespace, name);
  return { name, prefix, end: prefixRangeEnd(prefix) };
}

/** Where a queued key stands after the enqueue txn. @internal */
export interface Enqueued {
  /** Create revision of our key: the fencing token if granted. */
  readonly revision: bigint;
  /** Create revision of the key just ahead of ours; `null`: none (granted); `undefined`: unknown. */
  readonly predecessor: bigint | null | undefined;
  /** How many keys were ahead of ours when it was put; `undefined`: unknown. */
  readonly ahead: number | undefined;
}

/** What a confirm read found: our key is gone, or the revision read at and the predecessor. */
export type Confirmed = 'gone' | { readonly revision: bigint; readonly predecessor: bigint | null };

/** The newest key of the queue (by create revision), keys only. @internal */
export function lastKeyRange(queue: Queue, createdBefore?: bigint): IRangeRequest {
  return {
    key: queue.prefix,
    range_end: queue.end,
    sort_target: 'Create',
    sort_order: 'Descend',
    limit: 1,
    keys_only: true,
    ...(createdBefore === undefined
      ? {}
      : { max_create_revision: (createdBefore - 1n).toString() }),
  };
}

/** `key` exists with this create revision (`0`: does not exist). */
function createdAt(key: Buffer, revision: bigint | 0): ICompare {
  return { key, target: 'Create', result: 'Equal', create_revision: revision.toString() };
}

/**
 * Puts `key` if the queue is empty; else reads `key` and the head of the queue. A retried txn
 * whose first attempt succeeded finds its key at the head; a key of that name found anywhere else
 * (an earlier txn of the name that committed late) is no grant.
 * @internal
 */
export function tryAcquireTxn(
  queue: Queue,
  key: Buffer,
  value: Buffer,
  leaseId: string,
): TxnRequest {
  const queueIsEmpty: RangeCompare = {
    key: queue.prefix,
    range_end: queue.end,
    target: 'Create',
    result: 'Equal',
    create_revision: 0,
  };
  return {
    compare: [queueIsEmpty],
    success: [{ request_put: { key, value, lease: leaseId } }],
    failure: [{ request_range: { key } }, { request_range: firstKeyRange(queue) }],
  };
}

/** The oldest key of the queue (by create revision), keys only: the holder. @internal */
export function firstKeyRange(queue: Queue): IRangeRequest {
  return { ...lastKeyRange(queue), sort_order: 'Ascend' };
}

/**
 * The fencing token of a {@link tryAcquireTxn}, or `null` when the lock is held (by another key:
 * one of ours found behind the head must be cleaned up, see {@link writtenRevision}).
 * @internal
 */
export function decodeTryAcquire(response: ITxnResponse): bigint | null {
  if (response.succeeded) return BigInt(response.header.revision);
  const own = response.responses[0]?.response_range.kvs[0];
  const head = response.responses[1]?.response_range.kvs[0];
  return own && head && own.create_revision === head.create_revision
    ? BigInt(own.create_revision)
    : null;
}

/**
 * Reads the queue's tail and puts `key` behind it, in one round trip; a retried txn whose first
 * attempt succeeded reads its own key instead.
 * @internal
 */
export function enqueueTxn(queue: Queue, key: Buffer, value: Buffer, leaseId: string): TxnRequest {
  return {
    compare: [createdAt(key, 0)],
    success: [
      { request_range: lastKeyRange(queue) },
      { request_put: { key, value, lease: leaseId } },
    ],
    failure: [{ request_range: { key } }],
  };
}

/** Where an {@link enqueueTxn} left our key. @internal */
export function decodeEnqueue(response: ITxnResponse): Enqueued {
  if (response.succeeded) {
    const tail = response.responses[0]?.response_range;
    const last = tail?.kvs[0];
    return {
      revision: BigInt(response.header.revision),
      predecessor: last ? BigInt(last.create_revision) : null,
      // The range runs before the put, and without filters etcd counts every key it matched.
      ahead: tail ? Number(tail.count) : undefined,
    };
  }
  const own = response.responses[0]?.response_range.kvs[0];
  return {
    revision: BigInt(own?.create_revision ?? response.header.revision),
    predecessor: undefined,
    ahead: undefined,
  };
}

/**
 * Confirms our key (created at `revision`) is still there and finds the newest key older than it.
 * @internal
 */
export function confirmTxn(queue: Queue, key: Buffer, revision: bigint): TxnRequest {
  return {
    compare: [createdAt(key, revision)],
    success: [{ request_range: lastKeyRange(queue, revision) }],
    failure: [],
  };
}

/** What a {@link confirmTxn} found. @internal */
export function decodeConfirm(response: ITxnResponse): Confirmed {
  if (!response.succeeded) return 'gone';
  const previous = response.responses[0]?.response_range.kvs[0];
  return {
    revision: BigInt(response.header.revision),
    predecessor: previous ? BigInt(previous.create_revision) : null,
  };
}

/**
 * Deletes `key` only in the incarnation created at `revision`, so a late or repeated delete can
 * never remove a later key of the same name.
 * @internal
 */
export function deleteTxn(key: Buffer, revision: bigint): TxnRequest {
  return {
    compare: [createdAt(key, revision)],
    success: [{ request_delete_range: { key } }],
    failure: [],
  };
}

/**
 * The create revision of our key after an acquire txn ({@link tryAcquireTxn} or
 * {@link enqueueTxn}) settled, or `undefined` when it wrote nothing: the key to clean up if the
 * acquisition is given up.
 * @internal
 */
export function writtenRevision(response: ITxnResponse): bigint | undefined {
  if (response.succeeded) return BigInt(response.header.revision);
  const own = response.responses[0]?.response_range.kvs[0];
  return own ? BigInt(own.create_revision) : undefined;
}
