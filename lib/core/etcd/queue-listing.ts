import type { IKeyValue, IRangeRequest } from 'etcd3';
import type { LockMode } from '../lock-backend.js';
import { ELECTION_SEGMENT, prefixRangeEnd } from './etcd-keys.js';
import { SHARED_SUBPREFIX, grantRuleOf, permitsOf } from './grant-rule.js';

/**
 * Every queue of a namespace, decoded from one range read of it: which keys are held under their
 * lock's grant rule, which wait, and who leads each election. Plain data, no I/O: the lease times
 * are filled in afterwards (see `store-inspector.ts`).
 * @internal
 */

/** A holder's key as read: lease ids stay etcd's decimal strings until they are shown. */
export interface ListedHolder {
  readonly owner: string;
  /** The lease id as etcd sends it (decimal); `'0'` for a key on no lease. */
  readonly leaseId: string;
  readonly fencingToken: bigint;
}

/** A lock's queue as read. */
export interface ListedLock {
  readonly name: string;
  readonly mode: LockMode;
  readonly permits: number;
  readonly holders: readonly ListedHolder[];
  readonly waiting: number;
}

/** An election's queue as read. */
export interface ListedElection {
  readonly name: string;
  readonly leader: { readonly value: string; readonly term: bigint; readonly leaseId: string };
  readonly waiting: number;
}

/** The queues of a namespace. */
export interface QueueListing {
  readonly locks: readonly ListedLock[];
  readonly elections: readonly ListedElection[];
}

/** The one read of a namespace: every key under it, oldest first. @internal */
export function namespaceRead(namespace: string): IRangeRequest {
  const key = Buffer.from(namespace);
  return { key, range_end: prefixRangeEnd(key), sort_target: 'Create', sort_order: 'Ascend' };
}

/** The inverse of `encodeName` (etcd-keys.ts): `%2F` is `/`, `%25` is `%`. */
function decodeName(encoded: string): string {
  return encoded.replace(/%(25|2F)/g, (_, code: string) => (code === '25' ? '%' : '/'));
}

/** One key of a queue: the mode and permits its rule was put with. */
interface QueuedKey {
  readonly kv: IKeyValue;
  readonly shared: boolean;
  readonly permits: number;
}

/** `<encoded name>/<rest>` split at the first `/` (encoded names have none); undefined if none. */
function splitQueueKey(path: string): { name: string; rest: string } | undefined {
  const slash = path.indexOf('/');
  if (slash <= 0 || slash === path.length - 1) return undefined;
  return { name: decodeName(path.slice(0, slash)), rest: path.slice(slash + 1) };
}

/**
 * Which keys of a lock's queue (oldest first) are granted, by the rule each was put with, as the
 * waiters themselves decide: a shared key counts the older keys that are not shared, any other the
 * older keys of every mode.
 */
function lockOf(name: string, queue: readonly QueuedKey[]): ListedLock {
  const holders: ListedHolder[] = [];
  let older = 0;
  let olderNotShared = 0;
  for (const { kv, shared, permits } of queue) {
    const mode: LockMode = shared ? 'shared' : permits > 1 ? 'semaphore' : 'exclusive';
    if (grantRuleOf(mode, permits).isGranted(shared ? olderNotShared : older)) {
      holders.push({
        owner: ownerOf(kv),
        leaseId: kv.lease,
        fencingToken: BigInt(kv.create_revision),
      });
    }
    older += 1;
    if (!shared) olderNotShared += 1;
  }
  const head = queue[0];
  return {
    name,
    mode: head.shared ? 'shared' : head.permits > 1 ? 'semaphore' : 'exclusive',
    permits: head.permits,
    holders,
    waiting: queue.length - holders.length,
  };
}

/** The owner a key's value names: `host:pid`, without a semaphore's ` permits=N`. */
function ownerOf(kv: IKeyValue): string {
  return kv.value.toString().replace(/ permits=\d+$/, '');
}

/**
 * The locks and elections of `namespace` from its keys, oldest first (as {@link namespaceRead}
 * returns them), each list by name. Keys that are no queue key (no `/` after a name) are left out.
 * @internal
 * @example
 * listQueues((await client.kv.range(namespaceRead('shop/'))).kvs, 'shop/');
 */
export function listQueues(kvs: readonly IKeyValue[], namespace: string): QueueListing {
  const locks = new Map<string, QueuedKey[]>();
  const elections = new Map<string, IKeyValue[]>();
  for (const kv of kvs) {
    const path = kv.key.toString().slice(namespace.length);
    if (path.startsWith(ELECTION_SEGMENT)) {
      const key = splitQueueKey(path.slice(ELECTION_SEGMENT.length));
      if (key !== undefined) append(elections, key.name, kv);
      continue;
    }
    const key = splitQueueKey(path);
    if (key === undefined) continue;
    const shared = key.rest.startsWith(SHARED_SUBPREFIX);
    append(locks, key.name, { kv, shared, permits: shared ? 1 : permitsOf(kv) });
  }
  // Sorted by create revision already, and a queue's keys keep that order within their group.
  const byName = <T extends { name: string }>(a: T, b: T) =>
    a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
  return {
    locks: [...locks].map(([name, queue]) => lockOf(name, queue)).sort(byName),
    elections: [...elections]
      .map(([name, [head, ...behind]]) => ({
        name,
        leader: {
          value: head.value.toString(),
          term: BigInt(head.create_revision),
          leaseId: head.lease,
        },
        waiting: behind.length,
      }))
      .sort(byName),
  };
}

function append<T>(groups: Map<string, T[]>, name: string, item: T): void {
  const group = groups.get(name);
  if (group === undefined) groups.set(name, [item]);
  else group.push(item);
}
