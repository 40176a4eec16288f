import type { Etcd3, ICompare, IKeyValue, IRangeRequest, ITxnResponse } from 'etcd3';
import type { GrantMode, Leader } from '../lock-backend.js';
import { electionPrefix, prefixRangeEnd, queuePrefix } from './etcd-keys.js';
import { type GrantRule, newestKeys, oldestKey, permitsOf } from './grant-rule.js';

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

/**
 * The queue of lock `name` under `namespace`, or of election `name` when `mode` is `election`
 * (elections have a key space of their own, see `electionPrefix`). @internal
 */
export function queueOf(namespace: string, name: string, mode?: GrantMode): Queue {
  const prefix =
    mode === 'election' ? electionPrefix(namespace, name) : queuePrefix(namespace, name);
  return { name, prefix, end: prefixRangeEnd(prefix) };
}

/** How the permits of a queue key are read: by the grant rule (an election's keys carry none). */
type PermitsOf = (kv: Pick<IKeyValue, 'value'>) => number;

/** A key ahead of ours that can block it under our grant rule. @internal */
export interface Blocker {
  readonly key: Buffer;
  /** Its create revision: compared with ours, and what its watch waits to see deleted. */
  readonly revision: bigint;
  /** The permits it was put with (1 unless a semaphore's): all holders of a name must agree. */
  readonly permits: number;
}

/** Where a queued key stands after the enqueue txn. @internal */
export interface Enqueued {
  /** Create revision of our key: the fencing token if granted. */
  readonly revision: bigint;
  /**
   * The keys that block ours, newest first, read in the same txn as our put (so at
   * {@link revision}); `undefined` when unknown (a retried txn found its key already there).
   */
  readonly blockers: readonly Blocker[] | undefined;
  /** The oldest key of the queue, whose permits every request must agree with; none if empty. */
  readonly head?: Blocker;
}

/** What a confirm read found: our key is gone, or the revision read at, the blockers and the head. */
export type Confirmed =
  | 'gone'
  | { readonly revision: bigint; readonly blockers: readonly Blocker[]; readonly head?: Blocker };

/**
 * The oldest key of the whole queue (any mode): the one a request's permits are checked against,
 * as the holder that has been there longest (a newer key that disagrees with it is a request
 * being refused, on its way out, and must not get others refused too).
 */
function headRange(queue: Queue): IRangeRequest {
  return oldestKey({ key: queue.prefix, range_end: queue.end });
}

/** `key` exists with this create revision (`0`: does not exist). */
function createdAt(key: Buffer, revision: bigint | 0): ICompare {
  return { key, target: 'Create', result: 'Equal', create_revision: revision.toString() };
}

function blockerRead(queue: Queue, rule: GrantRule, createdBefore?: bigint): IRangeRequest {
  return newestKeys(rule.blockerRange(queue.prefix, queue.end), rule.blockerLimit, createdBefore);
}

function blockersOf(kvs: readonly IKeyValue[] | undefined, permitsIn: PermitsOf): Blocker[] {
  return (kvs ?? []).map((kv) => ({
    key: kv.key,
    revision: BigInt(kv.create_revision),
    permits: permitsIn(kv),
  }));
}

/**
 * For a rule of one permit (exclusive, shared): puts `key` only if no key could block it, so a
 * busy lock costs no write. Else reads `key` and the oldest key that could block it: a retried
 * txn whose first attempt succeeded finds its key with nothing older ahead; a key of that name
 * found behind a blocker (an earlier txn of the name that committed late) is no grant.
 * @internal
 */
export function tryAcquireTxn(
  queue: Queue,
  rule: GrantRule,
  key: Buffer,
  value: Buffer,
  leaseId: string,
): TxnRequest {
  const range = rule.blockerRange(queue.prefix, queue.end);
  const nothingBlocks: RangeCompare = {
    ...range,
    target: 'Create',
    result: 'Equal',
    create_revision: 0,
  };
  return {
    compare: [nothingBlocks],
    success: [{ request_put: { key, value, lease: leaseId } }],
    failure: [{ request_range: { key } }, { request_range: oldestKey(range) }],
  };
}

/**
 * The fencing token of a {@link tryAcquireTxn}, or `null` when the lock is busy (a key of ours
 * found behind a blocker must be cleaned up, see {@link writtenRevision}).
 * @internal
 */
export function decodeTryAcquire(response: ITxnResponse): bigint | null {
  if (response.succeeded) return BigInt(response.header.revision);
  const own = response.responses[0]?.response_range.kvs[0];
  const oldest = response.responses[1]?.response_range.kvs[0];
  if (!own) return null;
  const ours = BigInt(own.create_revision);
  // The oldest key that could block ours is ours (exclusive) or newer (shared): nothing blocks.
  return !oldest || BigInt(oldest.create_revision) >= ours ? ours : null;
}

/** The oldest key that blocked a {@link tryAcquireTxn} that found the lock busy. @internal */
export function oldestBlocker(
  response: ITxnResponse,
  permitsIn: PermitsOf = permitsOf,
): Blocker | undefined {
  if (response.succeeded) return undefined;
  return blockersOf(response.responses[1]?.response_range.kvs, permitsIn)[0];
}

/**
 * Reads the keys that could block ours and puts `key` behind them, in one round trip; a retried
 * txn whose first attempt succeeded reads its own key instead.
 * @internal
 */
export function enqueueTxn(
  queue: Queue,
  rule: GrantRule,
  key: Buffer,
  value: Buffer,
  leaseId: string,
): TxnRequest {
  return {
    compare: [createdAt(key, 0)],
    success: [
      { request_range: blockerRead(queue, rule) },
      { request_range: headRange(queue) },
      { request_put: { key, value, lease: leaseId } },
    ],
    failure: [{ request_range: { key } }],
  };
}

/**
 * Where an {@link enqueueTxn} left our key; `permitsIn` reads the permits of the keys found (the
 * rule's: an election's keys carry none). @internal
 */
export function decodeEnqueue(response: ITxnResponse, permitsIn: PermitsOf = permitsOf): Enqueued {
  if (response.succeeded) {
    return {
      revision: BigInt(response.header.revision),
      // The ranges run before the put: every key they found is older than ours.
      blockers: blockersOf(response.responses[0]?.response_range.kvs, permitsIn),
      head: blockersOf(response.responses[1]?.response_range.kvs, permitsIn)[0],
    };
  }
  const own = response.responses[0]?.response_range.kvs[0];
  return {
    revision: BigInt(own?.create_revision ?? response.header.revision),
    blockers: undefined,
  };
}

/**
 * Confirms our key (created at `revision`) is still there and reads the keys older than it that
 * block it under `rule`.
 * @internal
 */
export function confirmTxn(
  queue: Queue,
  rule: GrantRule,
  key: Buffer,
  revision: bigint,
): TxnRequest {
  return {
    compare: [createdAt(key, revision)],
    success: [
      { request_range: blockerRead(queue, rule, revision) },
      { request_range: headRange(queue) },
    ],
    failure: [],
  };
}

/** What a {@link confirmTxn} found (`permitsIn` as for {@link decodeEnqueue}). @internal */
export function decodeConfirm(response: ITxnResponse, permitsIn: PermitsOf = permitsOf): Confirmed {
  if (!response.succeeded) return 'gone';
  return {
    revision: BigInt(response.header.revision),
    blockers: blockersOf(response.responses[0]?.response_range.kvs, permitsIn),
    head: blockersOf(response.responses[1]?.response_range.kvs, permitsIn)[0],
  };
}

/**
 * Puts `value` on our key, keeping its lease, only if the key still exists in the incarnation
 * created at `revision`: a leader's proclaim, which never recreates a key that is gone.
 * @internal
 */
export function proclaimTxn(
  key: Buffer,
  revision: bigint,
  value: Buffer,
  leaseId: string,
): TxnRequest {
  return {
    compare: [createdAt(key, revision)],
    success: [{ request_put: { key, value, lease: leaseId } }],
    failure: [],
  };
}

/** The oldest key of a queue: an election's leader (etcd's `Election.Leader` reads the same). @internal */
export function leaderRead(queue: Queue): IRangeRequest {
  return headRange(queue);
}

/** The leader a {@link leaderRead} found, `null` when the queue is empty. @internal */
export function decodeLeader(kvs: readonly IKeyValue[]): Leader | null {
  const head = kvs[0];
  return head === undefined
    ? null
    : { value: head.value.toString(), term: BigInt(head.create_revision) };
}

/**
 * How many blockers a {@link stillBlockedTxn} compares at most: etcd caps a txn's operations
 * (`--max-txn-ops`, 128 by default), and past a few the full confirm read is as cheap.
 * @internal
 */
export const STILL_BLOCKED_MAX_COMPARES = 32;

/**
 * Succeeds when our key (created at `revision`) and every one of `blockers` still exist in the
 * incarnations we read: a waiter's recheck with nothing to sort, where a confirm read sorts the
 * whole queue (etcd fetches every key of a sorted range). It writes and reads nothing.
 * @internal
 */
export function stillBlockedTxn(
  key: Buffer,
  revision: bigint,
  blockers: readonly Blocker[],
): TxnRequest {
  return {
    compare: [createdAt(key, revision), ...blockers.map((b) => createdAt(b.key, b.revision))],
    success: [],
    failure: [],
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
