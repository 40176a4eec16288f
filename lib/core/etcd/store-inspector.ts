import type { IKeyValue } from 'etcd3';
import type { LockHolderInfo, StoreInspection } from '../lock-inspection.js';
import { listQueues, namespaceRead } from './queue-listing.js';

/** What the inspector asks etcd, each call already under the backend's deadline and hooks. */
export interface InspectorCalls {
  /** One range read of the namespace (see `namespaceRead`). */
  readKeys(request: ReturnType<typeof namespaceRead>): Promise<readonly IKeyValue[]>;
  /** A lease's remaining TTL in seconds, as etcd's LeaseTimeToLive answers it (-1: gone). */
  timeToLive(leaseId: string): Promise<number>;
}

/**
 * Lease lookups in flight at once: enough to list a busy namespace quickly, few enough that an
 * inspection never floods etcd with a request per holder at the same instant.
 */
const TTL_LOOKUPS_AT_ONCE = 8;

const hex = (decimal: string): string => BigInt(decimal).toString(16);

/**
 * Reads every lock and election of `namespace`: one range read of its keys, then one lease
 * lookup per distinct lease of a holder or leader (waiters' leases are not looked up), at most
 * {@link TTL_LOOKUPS_AT_ONCE} at a time. Writes nothing.
 * @internal
 * @example
 * const inspection = await inspectStore('shop/', { readKeys, timeToLive });
 */
export async function inspectStore(
  namespace: string,
  calls: InspectorCalls,
): Promise<StoreInspection> {
  const listing = listQueues(await calls.readKeys(namespaceRead(namespace)), namespace);
  const leaseIds = new Set<string>();
  for (const lock of listing.locks) for (const holder of lock.holders) leaseIds.add(holder.leaseId);
  for (const election of listing.elections) leaseIds.add(election.leader.leaseId);
  leaseIds.delete('0'); // a key on no lease (written by hand) has no time left to ask about

  const ttls = await lookUpAll([...leaseIds], calls.timeToLive);
  const lease = (leaseId: string): Pick<LockHolderInfo, 'lease' | 'ttlLeft'> => {
    const ttl = ttls.get(leaseId);
    return {
      lease: leaseId === '0' ? null : hex(leaseId),
      ttlLeft: ttl === undefined || ttl < 0 ? null : ttl,
    };
  };
  return {
    locks: listing.locks.map((lock) => ({
      ...lock,
      holders: lock.holders.map(({ owner, leaseId, fencingToken }) => ({
        owner,
        ...lease(leaseId),
        fencingToken,
      })),
    })),
    elections: listing.elections.map(({ name, leader, waiting }) => ({
      name,
      leader: { value: leader.value, term: leader.term, ...lease(leader.leaseId) },
      waiting,
    })),
  };
}

/** Each lease's TTL, a bounded number of lookups in flight; the first failure rejects. */
async function lookUpAll(
  leaseIds: readonly string[],
  timeToLive: (leaseId: string) => Promise<number>,
): Promise<Map<string, number>> {
  const ttls = new Map<string, number>();
  let next = 0;
  const lookUpInTurn = async (): Promise<void> => {
    while (next < leaseIds.length) {
      const leaseId = leaseIds[next++];
      try {
        ttls.set(leaseId, await timeToLive(leaseId));
      } catch (error) {
        next = leaseIds.length; // the inspection has failed: ask nothing more
        throw error;
      }
    }
  };
  await Promise.all(
    Array.from({ length: Math.min(TTL_LOOKUPS_AT_ONCE, leaseIds.length) }, lookUpInTurn),
  );
  return ttls;
}
