import type { IKeyValue, IRangeRequest } from 'etcd3';
import type { GrantMode } from '../lock-backend.js';
import { prefixRangeEnd } from './etcd-keys.js';

/**
 * When a queued key is granted, as plain data over the one revision-ordered queue of a lock
 * name. Every mode keeps its keys under the lock's prefix, ordered by create revision; what
 * differs is which older keys block a key (its *blockers*):
 * - exclusive: the newest older key of any mode (granted when there is none);
 * - semaphore of N permits: the N newest older keys (granted when there are fewer than N);
 * - shared: the newest older key that is not shared (granted when there is none);
 * - election: as exclusive, the newest older key (elected when there is none), over a queue of
 *   its own (see `electionPrefix`) whose key values are the candidates' proclaimed values.
 *
 * Shared keys live under the sub-prefix `r/` of the lock's prefix, so the non-shared keys are one
 * range (`[prefix, prefix + 'r/')`) that a shared waiter can read alone. Exclusive keys stay
 * directly under the prefix, where etcd's own `concurrency.Mutex` (`etcdctl lock`) puts its
 * keys: the two exclude each other. Lease ids are lower-case hex, so no exclusive key name
 * starts with `r/`.
 * @internal
 */
export interface GrantRule {
  readonly mode: GrantMode;
  /** Holders allowed at once: 1 unless a semaphore. */
  readonly permits: number;
  /**
   * Whether the keys of its queue carry permits that every request must agree with: false for an
   * election, whose key values are whatever candidates proclaim (and etcd's `Election` puts).
   */
  readonly agreesOnPermits: boolean;
  /** How many blockers a read returns: `permits`, as many as it takes to tell busy from granted. */
  readonly blockerLimit: number;
  /** The prefix its own keys go under. */
  keyPrefix(queuePrefix: Buffer): Buffer;
  /** The range holding the keys that can block it. */
  blockerRange(queuePrefix: Buffer, queueEnd: Buffer): { key: Buffer; range_end: Buffer };
  /** Whether a key whose older blockers are `count` many is granted. */
  isGranted(count: number): boolean;
  /** The permits a key of its queue was put with (see {@link permitsOf}). */
  permitsOf(kv: Pick<IKeyValue, 'value'>): number;
  /** The value its key is put with, for a process `owner` (`host:pid`). */
  keyValue(owner: string, value?: string): Buffer;
}

/** The sub-prefix of shared keys, under a lock's queue prefix. @internal */
export const SHARED_SUBPREFIX = 'r/';

class ExclusiveRule implements GrantRule {
  readonly mode: GrantMode = 'exclusive';
  readonly permits: number = 1;
  readonly blockerLimit: number = 1;
  readonly agreesOnPermits: boolean = true;
  keyPrefix(queuePrefix: Buffer): Buffer {
    return queuePrefix;
  }
  blockerRange(queuePrefix: Buffer, queueEnd: Buffer) {
    return { key: queuePrefix, range_end: queueEnd };
  }
  isGranted(count: number): boolean {
    return count < this.permits;
  }
  permitsOf(kv: Pick<IKeyValue, 'value'>): number {
    return permitsOf(kv);
  }
  keyValue(owner: string): Buffer {
    return keyValue(owner, this);
  }
}

class SemaphoreRule extends ExclusiveRule {
  override readonly mode: GrantMode = 'semaphore';
  override readonly blockerLimit: number;
  constructor(override readonly permits: number) {
    super();
    this.blockerLimit = permits;
  }
}

class SharedRule extends ExclusiveRule {
  override readonly mode: GrantMode = 'shared';
  override keyPrefix(queuePrefix: Buffer): Buffer {
    return Buffer.concat([queuePrefix, Buffer.from(SHARED_SUBPREFIX)]);
  }
  /** Every key that is not shared: from the prefix up to its shared sub-prefix. */
  override blockerRange(queuePrefix: Buffer) {
    return { key: queuePrefix, range_end: this.keyPrefix(queuePrefix) };
  }
}

/**
 * A candidate of an election: the exclusive rule (the head of the queue leads), whose key's value
 * is the proclaimed value itself, as etcd's `concurrency.Election` reads it (the oldest key's
 * value is the leader's). Such a value is never read as permits, and no agreement is checked.
 */
class ElectionRule extends ExclusiveRule {
  override readonly mode: GrantMode = 'election';
  override readonly agreesOnPermits: boolean = false;
  override permitsOf(): number {
    return 1;
  }
  override keyValue(_owner: string, value = ''): Buffer {
    return Buffer.from(value);
  }
}

/** The grant rule of an acquire request (`permits` 1 unless a semaphore). @internal */
export function grantRuleOf(mode: GrantMode, permits: number): GrantRule {
  switch (mode) {
    case 'semaphore':
      return new SemaphoreRule(permits);
    case 'shared':
      return new SharedRule();
    case 'election':
      return new ElectionRule();
    case 'exclusive':
      return new ExclusiveRule();
  }
}

/** The shared sub-range of a queue, to tell shared keys from the others in a listing. @internal */
export function sharedRange(queuePrefix: Buffer): { key: Buffer; range_end: Buffer } {
  const key = Buffer.concat([queuePrefix, Buffer.from(SHARED_SUBPREFIX)]);
  return { key, range_end: prefixRangeEnd(key) };
}

/** The newest `limit` keys of `range` created before `createdBefore` (all when undefined). @internal */
export function newestKeys(
  range: { key: Buffer; range_end: Buffer },
  limit: number,
  createdBefore?: bigint,
): IRangeRequest {
  return {
    ...range,
    sort_target: 'Create',
    sort_order: 'Descend',
    limit,
    ...(createdBefore === undefined
      ? {}
      : { max_create_revision: (createdBefore - 1n).toString() }),
  };
}

/** The oldest key of `range` (by create revision): a queue's head, or its oldest blocker. @internal */
export function oldestKey(range: { key: Buffer; range_end: Buffer }): IRangeRequest {
  return { ...newestKeys(range, 1), sort_order: 'Ascend' };
}

/**
 * The value of a queue key: the owner (`host:pid`, for people reading etcd), and for a semaphore
 * its permits, so that every holder of a name can check they agree. @internal
 */
export function keyValue(owner: string, rule: GrantRule): Buffer {
  return Buffer.from(rule.mode === 'semaphore' ? `${owner} permits=${rule.permits}` : owner);
}

/**
 * The permits a queue key was put with: from its value, 1 when it names none (an exclusive or
 * shared key of ours, or a key of etcd's own lock recipe, whose value is empty). @internal
 */
export function permitsOf(kv: Pick<IKeyValue, 'value'>): number {
  const match = / permits=(\d+)$/.exec(kv.value.toString());
  return match ? Number(match[1]) : 1;
}
