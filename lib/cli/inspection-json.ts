import type { ElectionInfo, LockInfo } from '../core/lock-inspection.js';

/** A lock holder as `zzlock locks --json` prints it: the fencing token as a decimal string. */
export interface LockHolderJson {
  owner: string;
  lease: string | null;
  fencingToken: string;
  ttlLeft: number | null;
}

/** A lock as `zzlock locks --json` prints it. */
export interface LockJson {
  name: string;
  mode: LockInfo['mode'];
  permits: number;
  holders: LockHolderJson[];
  waiting: number;
}

/** An election as `zzlock elections --json` prints it: the term as a decimal string. */
export interface ElectionJson {
  name: string;
  leader: { value: string; term: string; lease: string | null; ttlLeft: number | null };
  waiting: number;
}

/**
 * Locks as plain JSON: a fencing token is a `bigint`, which `JSON.stringify` refuses, and a
 * decimal string keeps every digit (a JSON number would lose them past 2^53).
 * @example
 * JSON.stringify(locksJson((await client.inspect()).locks));
 * // [{"name":"report","mode":"exclusive","permits":1,"holders":[{"owner":"api:42",
 * //   "lease":"694d8a2f1c3b7e01","fencingToken":"1042","ttlLeft":13}],"waiting":2}]
 */
export function locksJson(locks: readonly LockInfo[]): LockJson[] {
  return locks.map(({ name, mode, permits, holders, waiting }) => ({
    name,
    mode,
    permits,
    holders: holders.map(({ owner, lease, fencingToken, ttlLeft }) => ({
      owner,
      lease,
      fencingToken: fencingToken.toString(),
      ttlLeft,
    })),
    waiting,
  }));
}

/**
 * Elections as plain JSON, the term as a decimal string (see {@link locksJson}).
 * @example
 * JSON.stringify(electionsJson((await client.inspect()).elections));
 * // [{"name":"ingest","leader":{"value":"replica-1","term":"2051","lease":"694d…","ttlLeft":14},"waiting":1}]
 */
export function electionsJson(elections: readonly ElectionInfo[]): ElectionJson[] {
  return elections.map(({ name, leader, waiting }) => ({
    name,
    leader: {
      value: leader.value,
      term: leader.term.toString(),
      lease: leader.lease,
      ttlLeft: leader.ttlLeft,
    },
    waiting,
  }));
}
