/**
 * The records a chaos run keeps — grants reported by the workers, operations recorded by the
 * fencing store, faults injected by the orchestrator — and the clock they are stamped with.
 *
 * Every time is milliseconds on {@link chaosClockMs}, which every process of one machine reads
 * alike: the system's monotonic clock.
 */
import type { LockMode } from '../../lib/core/index.js';

/**
 * Milliseconds on the machine's monotonic clock (`process.hrtime`, CLOCK_MONOTONIC: one clock for
 * every process, since boot), to the microsecond. Not `performance.timeOrigin + performance.now()`:
 * each process takes its time origin from the wall clock when it starts, and a soak found one
 * worker's origin 6.5 ms off the others' (its store operations stamped before its own grants), which
 * made 45 sequential handoffs look like overlaps.
 * @example
 * const grantedAt = chaosClockMs();
 */
export function chaosClockMs(): number {
  return Number(process.hrtime.bigint() / 1000n) / 1000;
}

/**
 * One lock name a chaos run drives, and the rule its grants are judged by: `exclusive` (a mutex:
 * one holder), `semaphore` (at most `permits` holders) or `shared` (`shared: true` readers
 * together, an exclusive writer alone).
 * @example
 * { name: 'pool', rule: 'semaphore', permits: 2 }
 */
export interface LockSpec {
  /** Lock name, which is also the name of the store resource it guards. */
  readonly name: string;
  /** How many may hold it at once, and who with whom. */
  readonly rule: 'exclusive' | 'semaphore' | 'shared';
  /** Holders at once: the semaphore's `permits`; 1 for the other rules. */
  readonly permits: number;
}

/**
 * One lock grant as a worker believed it: from `grantedAt` until `releasedAt` (when it called
 * `release()`), or until its process was SIGKILLed.
 * @example
 * { id: 'w1.1#7', worker: 'w1.1', name: 'acct-2', mode: 'exclusive', asked: 'exclusive', permits: 1, token: 812n, requestedAt, grantedAt }
 */
export interface GrantRecord {
  /** Unique id: `<worker>#<sequence>`. */
  readonly id: string;
  /** The worker process (`w<slot>.<incarnation>`). */
  readonly worker: string;
  /** Lock name, which is also the name of the store resource it guards. */
  readonly name: string;
  /** The handle's `mode`: how the library says it granted the lock. */
  readonly mode: LockMode;
  /**
   * What the worker asked for: `semaphore` (`permits: N`), `shared` (`shared: true`) or
   * `exclusive`. A grant whose `mode` differs is a violation.
   */
  readonly asked: LockMode;
  /** The handle's `permits`. */
  readonly permits: number;
  /** The handle's fencing token (etcd create revision). */
  readonly token: bigint;
  /** When the acquirer called `acquire()`. */
  readonly requestedAt: number;
  /**
   * When the library granted it (its `acquired` event, in the acquirer's call chain), which
   * `acquire()` resolving can follow by a whole pause when a SIGSTOP lands in between.
   */
  readonly grantedAt: number;
  /** When the handle's lost signal fired, if it did. */
  lostAt?: number;
  /** When the worker called `release()`, if it did. */
  releasedAt?: number;
}

/** What the fencing store did with one operation. */
export type StoreOutcome = 'accepted' | 'stale';

/**
 * One read or write the fencing store received, in the order it decided them.
 * @example
 * { seq: 3, kind: 'write', resource: 'acct-0', token: 90n, grantId: 'w0.1#2', at, outcome: 'accepted', versionBefore: 2, baseVersion: 2 }
 */
export interface StoreOperation {
  /** Position in the store's history, from 0. */
  readonly seq: number;
  /** A read (returns value and version) or a write (sets value, bumps version). */
  readonly kind: 'read' | 'write';
  /** The resource (a lock name). */
  readonly resource: string;
  /** The fencing token the operation carried. */
  readonly token: bigint;
  /**
   * A read made under a shared hold (a reader): it is stale only below the highest token of an
   * accepted operation made under an exclusive hold, since readers hold together and their reads
   * arrive in any order. Every other operation is stale below the highest accepted token.
   */
  readonly shared?: boolean;
  /** The grant it was made under. */
  readonly grantId: string;
  /** When the store decided it. */
  readonly at: number;
  /** `stale`: rejected, a higher token had been accepted for this resource. */
  readonly outcome: StoreOutcome;
  /** The resource's version when the operation arrived. */
  readonly versionBefore: number;
  /** A write's base: the version its read returned. */
  readonly baseVersion?: number;
}

/**
 * What became of the operation a held grant makes after `proceed` (see worker-protocol.ts): the
 * store's answer, `skipped` (the holder saw its lost signal first), or `none` (a semaphore
 * holder, which makes no store call).
 */
export type HeldOutcome = 'accepted' | 'stale' | 'skipped' | 'none';

/** The kinds of fault a chaos run injects, in the order of one round. */
export const FAULT_KINDS = [
  'holder-sigkill',
  'holder-sigstop',
  'member-sigstop',
  'member-kill',
  'leader-kill',
  'client-cutoff',
  'etcd-restart',
] as const;

/** One kind of injected fault. */
export type FaultKind = (typeof FAULT_KINDS)[number];

/**
 * One injected fault: what, on whom, and when it started and was healed. Figures (time to the next
 * grant, …) are derived from the history by the checker, not measured by the injector.
 * @example
 * { kind: 'holder-sigkill', target: 'w2.1', grantId: 'w2.1#40', name: 'acct-1', startedAt, healedAt }
 */
export interface FaultRecord {
  /** Which fault. */
  readonly kind: FaultKind;
  /** The worker or etcd member(s) it hit. */
  readonly target: string;
  /** When the fault began (signal sent, connection cut, member killed). */
  readonly startedAt: number;
  /** When it was healed (SIGCONT, restore, restart done); for a SIGKILLed holder, its death. */
  healedAt: number;
  /** For a fault on a lock holder: the grant it held. */
  readonly grantId?: string;
  /** For a fault on a lock holder: the lock it held. */
  readonly name?: string;
  /**
   * For a leader kill: when the surviving members first reported a new leader (polled every
   * 50 ms), so a slow grant can be told apart from a slow election.
   */
  electedAt?: number;
}

/** A worker process the orchestrator SIGKILLed, and when. */
export interface KillRecord {
  /** Worker id. */
  readonly worker: string;
  /** When SIGKILL was sent (the worker's open grants end here). */
  readonly at: number;
}

/** A span during which a worker process was stopped by SIGSTOP. */
export interface PauseRecord {
  /** Worker id. */
  readonly worker: string;
  /** When SIGSTOP was sent. */
  readonly from: number;
  /** When SIGCONT was sent. */
  readonly to: number;
}

/** An `acquire()` that failed (after `callTimeoutMs`, when etcd could not be reached). */
export interface AcquireErrorRecord {
  /** Worker id. */
  readonly worker: string;
  /** The error's `code` (e.g. `ZZLOCK_STORE_UNAVAILABLE`). */
  readonly code: string;
  /** The lock it asked for. */
  readonly name: string;
  /** When the acquirer called `acquire()`. */
  readonly requestedAt: number;
  /** When it failed. */
  readonly at: number;
}

/** Everything a chaos run recorded, for the checker. */
export interface ChaosHistory {
  /** Lease TTL of every lock, in seconds. */
  readonly ttlSeconds: number;
  /** The names driven and their rules; a grant of a name not listed is judged as exclusive. */
  readonly locks: readonly LockSpec[];
  /** Every grant any worker reported. */
  readonly grants: readonly GrantRecord[];
  /** Every store operation, in decision order. */
  readonly operations: readonly StoreOperation[];
  /** Final value of each resource (each accepted write adds 1). */
  readonly finalValues: ReadonlyMap<string, number>;
  /** Every injected fault, in order. */
  readonly faults: readonly FaultRecord[];
  /** Worker processes SIGKILLed. */
  readonly kills: readonly KillRecord[];
  /** Worker processes paused with SIGSTOP. */
  readonly pauses: readonly PauseRecord[];
  /** What the store said to the last operation of each grant a fault held mid-operation. */
  readonly heldWrites: ReadonlyMap<string, HeldOutcome>;
  /** Every failed `acquire()` call. */
  readonly acquireErrors: readonly AcquireErrorRecord[];
  /** When the workload started and ended. */
  readonly startedAt: number;
  /** When the last worker stopped. */
  readonly endedAt: number;
}
