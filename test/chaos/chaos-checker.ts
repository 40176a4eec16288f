/**
 * Pure checks over a chaos run's history: safety (lost updates, stale operations accepted,
 * fencing inversions, unexplained overlaps of believed-held intervals) and the two timing promises
 * (next grant after a holder's death, grants after a leader kill), plus one summary per fault.
 *
 * The rules, precisely:
 * - **Believed-held interval** of a grant: from `grantedAt` to `releasedAt` (when the worker
 *   called `release()`), or to the SIGKILL of its process, whichever is first. A grant with neither
 *   is "never ended" and a violation (every worker is stopped cleanly or killed by the run).
 * - **Rules**: each name is driven under one rule ({@link LockSpec}; a name not listed is
 *   exclusive): `exclusive` admits one holder, `semaphore` at most `permits`, `shared` any number
 *   of grants whose handle says `shared` (readers), or one of any other mode (a writer) alone.
 *   A grant whose handle's mode is not what the worker asked for, or not one its name's rule
 *   allows, or whose `permits` is not the rule's, is a violation.
 * - **Overlap** (exclusive names): grants A and B of one name (any workers, any acquirers) with
 *   `A.grantedAt ≤ B.grantedAt < end(A)`: B was granted while A still believed it held the lock.
 *   It is **explained** only if A's lost signal fired no later than `end(A)` (A was told before it
 *   stopped believing it held the lock) and either
 *   (a) it fired no later than `B.grantedAt` ("signalled before the next grant": what zzlock
 *       promises a live holder, cut off or not), or
 *   (b) A's process was paused by SIGSTOP at some time between `A.grantedAt` and `B.grantedAt`,
 *       and the signal fired after it resumed ("paused, signalled on resume": a stopped process
 *       cannot be told; fencing is what protects the resource meanwhile).
 *   A SIGKILLed holder's interval ends at its kill, so any grant before that is an overlap, and
 *   unexplained (a dead holder has no lost signal).
 * - **Over-admission** (semaphore and shared names): a grant B whose name's rule does not admit
 *   the grants believed held at `B.grantedAt` (those granted no later, ending after it), B
 *   included: more than `permits` of a semaphore, or a writer together with any other holder of a
 *   shared name. A held grant A whose overlap with B the rule above explains (A was signalled
 *   before B, or paused and signalled on resuming) does not count as held; B is an over-admission
 *   only if the rule still does not admit what is left, and **explained** otherwise. For a mutex
 *   this is exactly "an unexplained overlap". Checked at every grant, since the set of holders
 *   grows only at a grant. So that a run cannot pass by never testing a rule, every semaphore
 *   must have been granted at its `permits` at least once (that many held at once, unexplained
 *   ones left out), and every shared name must have had readers held together, writers, and a
 *   writer that asked while readers held; a run where any of these is 0 is a violation.
 * - **Fencing inversion**: for an exclusive name, a grant later in time whose token is not above
 *   the token of every earlier grant (a lower or an equal token). For a shared name, the same for
 *   every pair with a writer in it: a writer's token above every grant before it, every grant
 *   after a writer above the writer's (so a reader queued behind a waiting writer is never granted
 *   before it: FIFO). Readers, and a semaphore's holders, are granted together, and their
 *   processes see their grants in any order: among those, only an equal token (one key granted
 *   twice) is an inversion.
 * - **Stale operation accepted**: the store accepted a read or write whose token is lower than one
 *   it had accepted before for that resource (recomputed here from its record, not trusted).
 *   A stale answer to an operation whose token was not lower is a store bug and a violation too.
 * - **Next grant after a holder's death** (SIGKILL, or SIGSTOP past its TTL): the first grant of its
 *   lock to another worker that the dead holder's key would have blocked ({@link
 *   firstGrantBlockedBy}) comes within the limit of the death; grants are FIFO, so that is the
 *   earliest blocked waiter's. Judged by queue position (tokens are create revisions): for a mutex
 *   the next grant; for a semaphore, the first granted with other keys ahead of it that, with
 *   the dead ones, fill its permits (the dead permit is back); for a dead reader, the next
 *   writer; for a dead writer, the next grant of any mode. A grant that a free permit, or
 *   the readers' share, allowed at once proves nothing about the dead key and is not it. (The
 *   dead process's queued keys hold their places too, and one may be granted the free permit in
 *   etcd: then the name is blocked until that lease expires, as the gap line shows.) When no
 *   one waited (the first to ask did so only near or after the limit), it must come within
 *   {@link LATE_ASKER_SLACK_MS} of asking instead: the lock is free by then.
 * - **Lost update**: an accepted write whose base version (the version its read returned) is not
 *   the resource's version when the write arrived; also, each resource's final value must equal
 *   its number of accepted writes. (A reader's read is marked `shared` and is stale only below
 *   the highest token of an accepted operation not so marked; see fencing-store.ts.)
 */
import {
  FAULT_KINDS,
  type ChaosHistory,
  type FaultKind,
  type FaultRecord,
  type GrantRecord,
  type HeldOutcome,
  type KillRecord,
  type LockSpec,
  type StoreOperation,
} from './chaos-history.js';
import { findStarvations, type Starvation } from './liveness.js';

/** The timing promises a run is held to. */
export interface ChaosLimits {
  /** From a holder's death (SIGKILL, or SIGSTOP past its TTL) to the next grant of its lock. */
  readonly holderDeathToNextGrantMs: number;
  /** From a leader kill to the first grant of an acquisition started after the kill. */
  readonly leaderKillToGrantMs: number;
  /**
   * When etcd itself took so long to elect a new leader that {@link leaderKillToGrantMs} cannot be
   * met (an election within this much of that limit, e.g. after a split vote): from the new leader
   * to that grant instead.
   */
  readonly leaderElectedToGrantMs: number;
  /**
   * The longest a name may go ungranted while an acquirer (not paused) waits for it, and the
   * longest the whole run may go without any grant (see liveness.ts).
   */
  readonly waitingWithoutGrantMs: number;
}

/**
 * How soon a waiter that asked only near or after the holder-death limit must be granted: the lock
 * is free by then, so one round trip and a busy machine's scheduling.
 */
const LATE_ASKER_SLACK_MS = 250;

/** Why an overlap is allowed (see the module doc), or `undefined` when it is not. */
export type OverlapExplanation = 'signalled-before-next-grant' | 'paused-signalled-on-resume';

/** Two grants of one name whose believed-held intervals overlap. */
export interface Overlap {
  /** The lock name. */
  readonly name: string;
  /** The grant that held first. */
  readonly earlier: GrantRecord;
  /** The grant made while the earlier one was still believed held. */
  readonly later: GrantRecord;
  /** The rule that explains it, if any. */
  readonly explanation: OverlapExplanation | undefined;
}

/**
 * A grant made while the grants believed held of its name were more than its rule admits (see
 * the module doc).
 */
export interface OverAdmission {
  /** The lock name. */
  readonly name: string;
  /** Its rule. */
  readonly rule: 'semaphore' | 'shared';
  /** The rule's permits. */
  readonly permits: number;
  /** The grant that made it. */
  readonly grant: GrantRecord;
  /** The grants believed held when it was made, each with the rule that excuses it, if any. */
  readonly held: {
    readonly grant: GrantRecord;
    readonly explanation: OverlapExplanation | undefined;
  }[];
  /** True when the grants left once the excused ones are taken out are admitted. */
  readonly explained: boolean;
}

/** How much a run exercised one semaphore or shared name (it must not pass vacuously). */
export interface RuleCoverage {
  /** The name and its rule. */
  readonly spec: LockSpec;
  /** Its grants. */
  readonly grants: number;
  /** Semaphore: grants after which `permits` were held at once (unexplained ones left out). */
  readonly atPermits: number;
  /** Shared: reader grants, and those made while another reader held. */
  readonly readers: number;
  readonly readersTogether: number;
  /** Shared: writer grants, and those whose writer asked while a reader held. */
  readonly writers: number;
  readonly writersAfterReaders: number;
}

/** What the store's record shows. */
export interface StoreFindings {
  /** Reads rejected as stale. */
  readonly staleReadsRejected: number;
  /** Writes rejected as stale. */
  readonly staleWritesRejected: number;
  /** Accepted operations with a token below one accepted before (must be none). */
  readonly staleAccepted: StoreOperation[];
  /** Operations rejected although their token was not below any accepted (must be none). */
  readonly wronglyRejected: StoreOperation[];
  /** Accepted writes whose base version was not current (must be none). */
  readonly lostUpdates: StoreOperation[];
  /** Accepted writes. */
  readonly acceptedWrites: number;
  /** Resources whose final value is not their number of accepted writes. */
  readonly valueMismatches: string[];
}

/** One fault's figures and verdict. */
export interface FaultSummary {
  /** The fault. */
  readonly fault: FaultRecord;
  /** One line for the run's output. */
  readonly line: string;
  /** Broken promises, if any. */
  readonly violations: string[];
}

/** The totals of a run. */
export interface ChaosTotals {
  /** Grants reported by every worker. */
  readonly grants: number;
  /** Faults injected. */
  readonly faults: number;
  /** Overlapping believed-held intervals (pairs). */
  readonly overlaps: number;
  /** Of those, explained by a lost signal. */
  readonly overlapsExplained: number;
  /** Lost signals fired. */
  readonly locksLost: number;
  /** Lost signals not during a fault or within a TTL after its healing. */
  readonly locksLostOutsideFaults: number;
  /** Store reads rejected as stale. */
  readonly staleReadsRejected: number;
  /** Store writes rejected as stale. */
  readonly staleWritesRejected: number;
  /** Store operations accepted with a stale token. */
  readonly staleAccepted: number;
  /** Lost updates. */
  readonly lostUpdates: number;
  /** Fencing inversions. */
  readonly fencingInversions: number;
  /** Accepted writes (the counters' sum). */
  readonly acceptedWrites: number;
  /** Overlaps by the rule that explains them. */
  readonly overlapsBy: Readonly<Partial<Record<OverlapExplanation, number>>>;
  /** Unexplained over-admissions (must be none), by rule. */
  readonly overAdmissions: number;
  readonly overAdmissionsBy: Readonly<Record<'semaphore' | 'shared', number>>;
  /** Grants that would be over-admissions but for held grants a lost signal explains. */
  readonly overAdmissionsExplained: number;
  /** Grants whose mode or permits are not what was asked or what the name's rule allows. */
  readonly modeMismatches: number;
  /** Failed acquisitions by error code. */
  readonly acquireErrors: Readonly<Partial<Record<string, number>>>;
  /** Failed acquisitions not during a fault or within a TTL after its healing. */
  readonly acquireErrorsOutsideFaults: number;
  /** Longest time without any grant, from the first grant to the end, in ms. */
  readonly longestGrantGapMs: number;
  /** Stretches in which a name went ungranted past the limit while acquirers waited. */
  readonly starvations: number;
  /** Run length, in ms. */
  readonly durationMs: number;
}

/** The checker's verdict over a run. */
export interface ChaosReport {
  /** One summary per fault, in injection order. */
  readonly faults: FaultSummary[];
  /** Totals. */
  readonly totals: ChaosTotals;
  /** Every overlap found (exclusive names). */
  readonly overlaps: Overlap[];
  /** Every over-admission found, explained or not (semaphore and shared names). */
  readonly overAdmissions: OverAdmission[];
  /** How much each semaphore and shared name was exercised. */
  readonly coverage: RuleCoverage[];
  /** Every broken property, as a sentence; empty when the run passed. */
  readonly violations: string[];
}

/**
 * When grant `grant` stopped being believed held: its release, or its process's SIGKILL,
 * whichever came first; `undefined` if neither happened.
 * @example
 * believedHeldUntil(grant, history.kills) // e.g. grant.releasedAt
 */
export function believedHeldUntil(
  grant: GrantRecord,
  kills: ChaosHistory['kills'],
): number | undefined {
  const killedAt = kills.find(
    (kill) => kill.worker === grant.worker && kill.at >= grant.grantedAt,
  )?.at;
  if (grant.releasedAt === undefined) return killedAt;
  return killedAt === undefined ? grant.releasedAt : Math.min(grant.releasedAt, killedAt);
}

/**
 * The rule a name is judged by: its entry in `locks`, or exclusive when it has none.
 * @example
 * ruleOf(history.locks, 'pool') // { name: 'pool', rule: 'semaphore', permits: 2 }
 */
export function ruleOf(locks: readonly LockSpec[] | undefined, name: string): LockSpec {
  return locks?.find((spec) => spec.name === name) ?? { name, rule: 'exclusive', permits: 1 };
}

/**
 * Whether `spec`'s rule admits `holders` at once: one for a mutex, up to `permits` for a
 * semaphore; for a shared name, any number of `shared` grants, or one grant of any other mode.
 * @example
 * admits({ name: 'pool', rule: 'semaphore', permits: 2 }, [a, b, c]) // false
 */
export function admits(spec: LockSpec, holders: readonly GrantRecord[]): boolean {
  switch (spec.rule) {
    case 'exclusive':
      return holders.length <= 1;
    case 'semaphore':
      return holders.length <= spec.permits;
    case 'shared':
      return holders.length <= 1 || holders.every((grant) => grant.mode === 'shared');
  }
}

/**
 * Every pair of grants of one exclusive name whose believed-held intervals overlap, each with the
 * rule that explains it (module doc), or `undefined`. Semaphore and shared names are judged by
 * {@link findOverAdmissions} instead: their holders overlap by design.
 * @example
 * findOverlaps(history).filter((overlap) => overlap.explanation === undefined) // must be []
 */
export function findOverlaps(history: ChaosHistory): Overlap[] {
  const overlaps: Overlap[] = [];
  for (const [name, grants] of byName(history.grants)) {
    if (ruleOf(history.locks, name).rule !== 'exclusive') continue;
    let active: { grant: GrantRecord; end: number }[] = [];
    for (const later of byGrantTime(grants)) {
      active = active.filter(({ end }) => end > later.grantedAt);
      for (const { grant: earlier, end } of active) {
        overlaps.push({
          name: later.name,
          earlier,
          later,
          explanation: explain(earlier, end, later, history),
        });
      }
      active.push({ grant: later, end: believedHeldUntil(later, history.kills) ?? Infinity });
    }
  }
  return overlaps;
}

function explain(
  earlier: GrantRecord,
  end: number,
  later: GrantRecord,
  history: ChaosHistory,
): OverlapExplanation | undefined {
  const lostAt = earlier.lostAt;
  if (lostAt === undefined || lostAt > end) return undefined;
  if (lostAt <= later.grantedAt) return 'signalled-before-next-grant';
  const pausedBetween = history.pauses.some(
    (pause) =>
      pause.worker === earlier.worker &&
      pause.from <= later.grantedAt &&
      pause.to >= earlier.grantedAt &&
      lostAt >= pause.to,
  );
  return pausedBetween ? 'paused-signalled-on-resume' : undefined;
}

/**
 * Every grant of a semaphore or shared name made while the grants believed held, it included,
 * were more than the rule admits, with the rule that excuses each held grant, if any (module doc):
 * an over-admission unless what is left once the excused are taken out is admitted.
 * @example
 * findOverAdmissions(history).filter((o) => !o.explained) // must be []
 */
export function findOverAdmissions(history: ChaosHistory): OverAdmission[] {
  const found: OverAdmission[] = [];
  sweepRuled(history, (spec, grant, active) => {
    if (spec.rule === 'exclusive' || admits(spec, [...active.map((a) => a.grant), grant])) return;
    const held = active.map(({ grant: earlier, end }) => ({
      grant: earlier,
      explanation: explain(earlier, end, grant, history),
    }));
    const left = held.filter((h) => h.explanation === undefined).map((h) => h.grant);
    found.push({
      name: spec.name,
      rule: spec.rule,
      permits: spec.permits,
      grant,
      held,
      explained: admits(spec, [...left, grant]),
    });
  });
  return found;
}

/**
 * How much a run exercised each semaphore and shared name of `history.locks`: the checker's
 * proof of those rules is only as good as these counts (see the module doc).
 * @example
 * ruleCoverage(history) // [{ spec: pool, grants: 812, atPermits: 301, … }, …]
 */
export function ruleCoverage(history: ChaosHistory): RuleCoverage[] {
  const coverage = new Map<string, { -readonly [K in keyof RuleCoverage]: RuleCoverage[K] }>();
  for (const spec of history.locks) {
    if (spec.rule === 'exclusive') continue;
    coverage.set(spec.name, {
      spec,
      grants: 0,
      atPermits: 0,
      readers: 0,
      readersTogether: 0,
      writers: 0,
      writersAfterReaders: 0,
    });
  }
  const readersOf = byName(history.grants.filter((grant) => grant.mode === 'shared'));
  sweepRuled(history, (spec, grant, active) => {
    const entry = coverage.get(spec.name);
    if (entry === undefined) return;
    entry.grants += 1;
    // Holders left once those a lost signal excuses are taken out: what the rule really admitted.
    const held = active
      .filter(({ grant: earlier, end }) => explain(earlier, end, grant, history) === undefined)
      .map(({ grant: earlier }) => earlier);
    if (spec.rule === 'semaphore') {
      if (held.length + 1 === spec.permits) entry.atPermits += 1;
    } else if (grant.mode === 'shared') {
      entry.readers += 1;
      if (held.some((other) => other.mode === 'shared')) entry.readersTogether += 1;
    } else {
      entry.writers += 1;
      const askedWhileRead = (readersOf.get(spec.name) ?? []).some((reader) => {
        const end = believedHeldUntil(reader, history.kills) ?? Infinity;
        return reader.grantedAt <= grant.requestedAt && grant.requestedAt < end;
      });
      if (askedWhileRead) entry.writersAfterReaders += 1;
    }
  });
  return [...coverage.values()];
}

/**
 * Visits every grant of every name in `history.locks` that is not exclusive, in grant order, with
 * the grants of that name believed held when it was made (granted no later, ending after it).
 */
function sweepRuled(
  history: ChaosHistory,
  visit: (
    spec: LockSpec,
    grant: GrantRecord,
    active: { grant: GrantRecord; end: number }[],
  ) => void,
): void {
  for (const [name, grants] of byName(history.grants)) {
    const spec = ruleOf(history.locks, name);
    if (spec.rule === 'exclusive') continue;
    let active: { grant: GrantRecord; end: number }[] = [];
    for (const grant of byGrantTime(grants)) {
      active = active.filter(({ end }) => end > grant.grantedAt);
      visit(spec, grant, active);
      active.push({ grant, end: believedHeldUntil(grant, history.kills) ?? Infinity });
    }
  }
}

/**
 * After a holder stopped (its process was killed or paused at `from`), with `dead` the grants of
 * one name its process held then: the first grant of that name, by another worker, that `dead`'s
 * keys would have blocked had they still been in the queue, so the moment they were surely gone.
 * Judged as etcd grants, by queue position (a token is its key's create revision): a grant G was
 * blocked by the keys ahead of it (lower tokens) still there when it was granted: the dead ones,
 * and other workers' keys not yet released (held, or still waiting) nor lost. Under G's rule
 * (exclusive: nothing ahead; semaphore: fewer than `permits` ahead; shared: no writer ahead of a
 * reader, nothing ahead of a writer), G proves the dead keys gone if it would not have been
 * granted with them. For a mutex that is the next grant by another worker; for a semaphore, a
 * grant with `permits` − (dead keys) others ahead of it, not one a free permit allowed; for dead
 * readers, the next writer's grant. Acquisitions that never got a grant are not counted ahead,
 * nor keys of SIGKILLed workers (they stay until their lease expires): the moment found is never
 * too early.
 * @example
 * firstGrantBlockedBy(heldAt(history.grants, 'w1.1', kill.at), kill.at, history.grants, history.kills, spec)
 */
export function firstGrantBlockedBy(
  dead: readonly GrantRecord[],
  from: number,
  grants: readonly GrantRecord[],
  kills: readonly KillRecord[],
  spec: LockSpec,
): GrantRecord | undefined {
  const deadWorkers = new Set(dead.map((grant) => grant.worker));
  const others = grants.filter(
    (grant) => grant.name === spec.name && !deadWorkers.has(grant.worker),
  );
  for (const grant of byGrantTime(others)) {
    if (grant.grantedAt < from) continue;
    const at = grant.grantedAt;
    const stillQueued = (other: GrantRecord) =>
      other !== grant &&
      other.token < grant.token &&
      (believedHeldUntil(other, kills) ?? Infinity) > at &&
      (other.lostAt === undefined || other.lostAt > at);
    const ahead = [...dead.filter((d) => d.token < grant.token), ...others.filter(stillQueued)];
    if (!grantable(spec, grant, ahead)) return grant;
  }
  return undefined;
}

/** Whether etcd may grant `grant` with the keys `ahead` of it in its queue (module doc). */
function grantable(spec: LockSpec, grant: GrantRecord, ahead: readonly GrantRecord[]): boolean {
  switch (spec.rule) {
    case 'exclusive':
      return ahead.length === 0;
    case 'semaphore':
      return ahead.length < spec.permits;
    case 'shared':
      return grant.mode === 'shared'
        ? ahead.every((other) => other.mode === 'shared')
        : ahead.length === 0;
  }
}

/**
 * The grants `worker` believed held at `at`: granted no later, not released before it (a fault
 * is stamped once its signal was sent, so a release stamped earlier happened before it).
 * @example
 * heldAt(history.grants, 'w1.1', kill.at) // [grant of pool, grant of acct-2]
 */
export function heldAt(grants: readonly GrantRecord[], worker: string, at: number): GrantRecord[] {
  return grants.filter(
    (grant) =>
      grant.worker === worker &&
      grant.grantedAt <= at &&
      (grant.releasedAt === undefined || grant.releasedAt > at),
  );
}

/**
 * Grants that came later in time than another grant of the same name with a token at least as
 * high (a lower or equal fencing token: must be none). For a shared name, only pairs with a
 * writer in them; for a semaphore's, and between readers, only an equal token (module doc).
 * @example
 * findFencingInversions(history.grants, history.locks) // []
 */
export function findFencingInversions(
  grants: readonly GrantRecord[],
  locks?: readonly LockSpec[],
): { earlier: GrantRecord; later: GrantRecord }[] {
  const inversions: { earlier: GrantRecord; later: GrantRecord }[] = [];
  for (const [name, ofName] of byName(grants)) {
    const rule = ruleOf(locks, name).rule;
    const ordered = [...ofName].sort((a, b) => a.grantedAt - b.grantedAt);
    let highest: GrantRecord | undefined;
    let highestWriter: GrantRecord | undefined;
    const seen = new Map<bigint, GrantRecord>();
    for (const grant of ordered) {
      const writer = rule === 'exclusive' || (rule === 'shared' && grant.mode !== 'shared');
      // A writer must be above every grant before it; any grant above every writer before it.
      const above = writer ? highest : highestWriter;
      const twice = seen.get(grant.token);
      if (above !== undefined && grant.token <= above.token) {
        inversions.push({ earlier: above, later: grant });
      } else if (twice !== undefined) {
        inversions.push({ earlier: twice, later: grant });
      }
      seen.set(grant.token, grant);
      if (highest === undefined || grant.token > highest.token) highest = grant;
      if (writer && (highestWriter === undefined || grant.token > highestWriter.token)) {
        highestWriter = grant;
      }
    }
  }
  return inversions;
}

/**
 * Grants whose handle's mode is not what its worker asked for or not one its name's rule allows,
 * or whose `permits` is not the rule's (must be none), each with the reason.
 * @example
 * findModeMismatches(history) // []
 */
export function findModeMismatches(history: ChaosHistory): { grant: GrantRecord; why: string }[] {
  const allowed: Record<LockSpec['rule'], readonly string[]> = {
    exclusive: ['exclusive'],
    semaphore: ['semaphore'],
    shared: ['shared', 'exclusive'],
  };
  return history.grants.flatMap((grant) => {
    const spec = ruleOf(history.locks, grant.name);
    const why =
      grant.mode !== grant.asked
        ? `asked ${grant.asked}, granted ${grant.mode}`
        : !allowed[spec.rule].includes(grant.mode)
          ? `granted ${grant.mode} on a ${spec.rule} name`
          : grant.permits !== spec.permits
            ? `granted with permits ${grant.permits}, the name has ${spec.permits}`
            : undefined;
    return why === undefined ? [] : [{ grant, why }];
  });
}

/**
 * Replays the fencing store's record: recomputes each resource's highest accepted token and
 * version, and finds stale operations accepted, operations wrongly rejected and lost updates.
 * @example
 * checkStore(history.operations, history.finalValues).lostUpdates // []
 */
export function checkStore(
  operations: readonly StoreOperation[],
  finalValues: ReadonlyMap<string, number>,
): StoreFindings {
  const state = new Map<string, { highest: bigint; highestExclusive: bigint; version: number }>();
  const staleAccepted: StoreOperation[] = [];
  const wronglyRejected: StoreOperation[] = [];
  const lostUpdates: StoreOperation[] = [];
  let staleReadsRejected = 0;
  let staleWritesRejected = 0;
  let acceptedWrites = 0;
  const writesPerResource = new Map<string, number>();
  for (const operation of [...operations].sort((a, b) => a.seq - b.seq)) {
    const resource = state.get(operation.resource) ?? {
      highest: 0n,
      highestExclusive: 0n,
      version: 0,
    };
    state.set(operation.resource, resource);
    const shared = operation.kind === 'read' && operation.shared === true;
    const isStale = operation.token < (shared ? resource.highestExclusive : resource.highest);
    if (operation.outcome === 'stale') {
      if (!isStale) wronglyRejected.push(operation);
      if (operation.kind === 'read') staleReadsRejected += 1;
      else staleWritesRejected += 1;
      continue;
    }
    if (isStale) staleAccepted.push(operation);
    resource.highest = operation.token > resource.highest ? operation.token : resource.highest;
    if (!shared && operation.token > resource.highestExclusive) {
      resource.highestExclusive = operation.token;
    }
    if (operation.kind === 'write') {
      if (operation.baseVersion !== resource.version) lostUpdates.push(operation);
      resource.version += 1;
      acceptedWrites += 1;
      writesPerResource.set(
        operation.resource,
        (writesPerResource.get(operation.resource) ?? 0) + 1,
      );
    }
  }
  const valueMismatches = [...new Set([...finalValues.keys(), ...writesPerResource.keys()])]
    .filter((name) => (finalValues.get(name) ?? 0) !== (writesPerResource.get(name) ?? 0))
    .map(
      (name) =>
        `${name}: value ${finalValues.get(name) ?? 0}, accepted writes ${writesPerResource.get(name) ?? 0}`,
    );
  return {
    staleReadsRejected,
    staleWritesRejected,
    staleAccepted,
    wronglyRejected,
    lostUpdates,
    acceptedWrites,
    valueMismatches,
  };
}

/**
 * Figures and verdict of one fault, derived from the history (see {@link ChaosLimits}).
 * @example
 * summarizeFault(history.faults[0], history, limits).line
 * // 'holder-sigkill  w2.1 held acct-1 (token 812): next grant of acct-1 after 4712 ms (limit 6000) ok'
 */
export function summarizeFault(
  fault: FaultRecord,
  history: ChaosHistory,
  limits: ChaosLimits,
): FaultSummary {
  const violations: string[] = [];
  const held = fault.grantId === undefined ? undefined : grantById(history, fault.grantId);
  const lostInWindow = history.grants.filter(
    (grant) => grant.lostAt !== undefined && faultOf(grant.lostAt, history) === fault,
  ).length;
  const failedAcquires = history.acquireErrors.filter(
    (error) => faultOf(error.at, history) === fault,
  ).length;
  const spec = ruleOf(history.locks, fault.name ?? '');
  // The first grant by another worker that the held grant's key would have blocked: for a mutex
  // the next grant, for a semaphore the one that needs the held permit, for a reader a writer's.
  // What the target held at the fault: the grant the fault aimed at, and its other acquirers'.
  const heldThen = heldAt(history.grants, fault.target, fault.startedAt);
  const alsoHeld = heldThen.filter((grant) => grant.id !== held?.id);
  const deadKeys = [
    ...(held === undefined ? [] : [held]),
    ...alsoHeld.filter((grant) => grant.name === fault.name),
  ];
  const nextBlocked = () =>
    held === undefined
      ? undefined
      : firstGrantBlockedBy(deadKeys, fault.startedAt, history.grants, history.kills, spec);
  const blockedWhat =
    spec.rule === 'semaphore'
      ? deadKeys.length >= spec.permits
        ? `grant of ${fault.name} (it held all ${deadKeys.length} permits)`
        : `grant of ${fault.name} that needed its permit (${spec.permits - deadKeys.length} others ahead of it)`
      : spec.rule === 'shared' && deadKeys.every((grant) => grant.mode === 'shared')
        ? `writer's grant of ${fault.name} (its key blocked only writers)`
        : `grant of ${fault.name}`;
  const heldBy = `held ${fault.name} (token ${held?.token ?? '?'}${held === undefined || spec.rule === 'exclusive' ? '' : `, ${roleOf(held)}`})`;
  const firstFreshGrant = (after: number) =>
    firstGrant(history, (grant) => grant.requestedAt >= after);
  const title = `${fault.kind.padEnd(15)} ${fault.target}`;
  let line: string;

  switch (fault.kind) {
    case 'holder-sigkill':
    case 'holder-sigstop': {
      const next = nextBlocked();
      const afterMs = next === undefined ? undefined : next.grantedAt - fault.startedAt;
      const limit = limits.holderDeathToNextGrantMs;
      // The promise is to waiters: grants are FIFO, so the next grant is the earliest waiter's. One
      // that only asked near or after the limit is owed a prompt grant instead (the lock is free).
      const askedMs = next === undefined ? undefined : next.requestedAt - fault.startedAt;
      const deadlineMs =
        askedMs === undefined ? limit : Math.max(limit, askedMs + LATE_ASKER_SLACK_MS);
      const verdict = afterMs !== undefined && afterMs <= deadlineMs ? 'ok' : 'FAIL';
      if (verdict === 'FAIL') {
        violations.push(
          `${fault.kind} of ${fault.target}: next ${blockedWhat} by another worker ` +
            `${afterMs === undefined ? 'never came' : `after ${ms(afterMs)}`} (limit ${ms(limit)})`,
        );
      }
      const asked =
        askedMs === undefined || deadlineMs === limit
          ? ''
          : ` (no waiter: the first asked ${ms(askedMs)} after)`;
      const next_ = `next ${blockedWhat} by another worker after ${afterMs === undefined ? 'never' : ms(afterMs)}${asked} (limit ${ms(limit)}) ${verdict}`;
      const others = alsoHeld.map(
        (grant) =>
          `${grant.name} (token ${grant.token}${grant.mode === 'exclusive' ? '' : `, ${roleOf(grant)}`}` +
          (fault.kind === 'holder-sigkill'
            ? ')'
            : `, lost signal ${grant.lostAt === undefined ? 'never fired' : `${ms(grant.lostAt - fault.healedAt)} after SIGCONT`})`),
      );
      const also =
        others.length === 0
          ? ''
          : `; also held when ${fault.kind === 'holder-sigkill' ? 'killed' : 'stopped'}: ${others.join(', ')}`;
      if (fault.kind === 'holder-sigkill') {
        line = `${title} ${heldBy}, SIGKILL: ${next_}${also}`;
        break;
      }
      const lostAfterResume = held?.lostAt === undefined ? undefined : held.lostAt - fault.healedAt;
      if (lostAfterResume === undefined) {
        violations.push(`holder-sigstop of ${fault.target}: its lost signal never fired`);
      }
      const write = held === undefined ? undefined : history.heldWrites.get(held.id);
      const blind =
        held?.mode === 'shared' ? 'read' : held?.mode === 'semaphore' ? 'operation' : 'write';
      // The worker's other acquirers go on until the stop lands: what they held then was paused
      // past its lease too, and must be signalled on resume, like the grant the fault aimed at.
      for (const grant of alsoHeld) {
        if (grant.lostAt === undefined) {
          violations.push(
            `holder-sigstop of ${fault.target}: it also held ${grant.name} (${grant.id}) when ` +
              'stopped, and that lost signal never fired',
          );
        }
      }
      line =
        `${title} ${heldBy}, stopped ${ms(fault.healedAt - fault.startedAt)}: ${next_}; ` +
        `lost signal ${lostAfterResume === undefined ? 'never fired' : `${ms(lostAfterResume)} after SIGCONT`}; ` +
        `its blind ${blind} after resuming: ${heldOutcome(write)}${also}`;
      break;
    }
    case 'member-sigstop':
    case 'member-kill':
    case 'etcd-restart': {
      const during = history.grants.filter(
        (grant) => grant.grantedAt >= fault.startedAt && grant.grantedAt <= fault.healedAt,
      ).length;
      const fresh = firstFreshGrant(fault.startedAt);
      const resumeMs = fresh === undefined ? undefined : fresh.grantedAt - fault.startedAt;
      if (fresh === undefined) violations.push(`${fault.kind}: no grant after the fault`);
      const what =
        fault.kind === 'member-sigstop'
          ? 'frozen'
          : fault.kind === 'member-kill'
            ? 'down'
            : 'all members down and restarted in';
      line =
        `${title} ${what} ${ms(fault.healedAt - fault.startedAt)}: ${during} grants meanwhile, ` +
        `first grant of an acquire started after the fault ${resumeMs === undefined ? 'never' : `${ms(resumeMs)} in`}, ` +
        `${lostInWindow} locks lost`;
      break;
    }
    case 'leader-kill': {
      const fresh = firstFreshGrant(fault.startedAt);
      const any = firstGrant(history, (grant) => grant.grantedAt >= fault.startedAt);
      const resumeMs = fresh === undefined ? undefined : fresh.grantedAt - fault.startedAt;
      const limit = limits.leaderKillToGrantMs;
      // etcd's own election can take longer than the limit (a split vote costs a whole extra
      // election timeout, pre-vote or not): then the library is held to its own part, from the
      // new leader to the grant.
      const electedMs =
        fault.electedAt === undefined ? undefined : fault.electedAt - fault.startedAt;
      const afterElection =
        resumeMs !== undefined && electedMs !== undefined ? resumeMs - electedMs : undefined;
      const slowElection =
        electedMs !== undefined && electedMs > limit - limits.leaderElectedToGrantMs;
      const verdict =
        resumeMs !== undefined &&
        (resumeMs <= limit ||
          (slowElection &&
            afterElection !== undefined &&
            afterElection <= limits.leaderElectedToGrantMs))
          ? 'ok'
          : 'FAIL';
      if (verdict === 'FAIL') {
        violations.push(
          `leader-kill of ${fault.target}: first grant of a fresh acquire ` +
            `${resumeMs === undefined ? 'never came' : `after ${ms(resumeMs)}`} (limit ${ms(limit)}` +
            `${slowElection ? `, or ${ms(limits.leaderElectedToGrantMs)} after etcd's slow election` : ''})`,
        );
      }
      line =
        `${title} SIGKILL: new etcd leader ${fault.electedAt === undefined ? 'not seen' : `${ms(fault.electedAt - fault.startedAt)} after`}, grants resumed ${resumeMs === undefined ? 'never' : `${ms(resumeMs)} after`} ` +
        `(first grant of an acquire started after the kill; limit ${ms(limit)}` +
        `${slowElection ? `, or ${ms(limits.leaderElectedToGrantMs)} after etcd's slow election: ${ms(afterElection ?? NaN)}` : ''}) ${verdict}; ` +
        `first grant of any kind ${any === undefined ? 'never' : `${ms(any.grantedAt - fault.startedAt)} after`}; ` +
        `${lostInWindow} locks lost`;
      break;
    }
    case 'client-cutoff': {
      const lostAfter = held?.lostAt === undefined ? undefined : held.lostAt - fault.startedAt;
      if (lostAfter === undefined) {
        violations.push(
          `client-cutoff of ${fault.target}: the held lock's lost signal never fired`,
        );
      }
      const next = nextBlocked();
      const nextMs = next === undefined ? undefined : next.grantedAt - fault.startedAt;
      const write = held === undefined ? undefined : history.heldWrites.get(held.id);
      line =
        `${title} ${heldBy}, cut off ${ms(fault.healedAt - fault.startedAt)}: ` +
        `lost signal ${lostAfter === undefined ? 'never fired' : `${ms(lostAfter)} after the cut`}, ` +
        `next ${blockedWhat} elsewhere ${nextMs === undefined ? 'never' : `${ms(nextMs)} after the cut`}; ` +
        `its ${held?.mode === 'shared' ? 'read' : held?.mode === 'semaphore' ? 'operation' : 'write'} after reconnecting: ${heldOutcome(write)}`;
      break;
    }
  }
  const nextFault = history.faults[history.faults.indexOf(fault) + 1];
  const gap = longestGrantGap(history, fault.startedAt, nextFault?.startedAt ?? history.endedAt);
  line += `; ${failedAcquires} acquires failed; longest time without any grant ${ms(gap)}`;
  return { fault, line, violations };
}

/**
 * Checks a whole run: every fault's figures and promises, the safety properties, and the totals.
 * @example
 * const report = checkChaosHistory(history, { holderDeathToNextGrantMs: 6000, leaderKillToGrantMs: 3000, leaderElectedToGrantMs: 1000, waitingWithoutGrantMs: 12_000 });
 * assert.deepEqual(report.violations, []);
 */
export function checkChaosHistory(history: ChaosHistory, limits: ChaosLimits): ChaosReport {
  const violations: string[] = [];
  const faults = history.faults.map((fault) => summarizeFault(fault, history, limits));
  for (const fault of faults) violations.push(...fault.violations);

  const overlaps = findOverlaps(history);
  for (const overlap of overlaps.filter((o) => o.explanation === undefined)) {
    violations.push(
      `unexplained overlap on ${overlap.name}: ${describe(overlap.later)} granted while ` +
        `${describe(overlap.earlier)} still believed it held the lock ` +
        `(lost signal ${overlap.earlier.lostAt === undefined ? 'never fired' : 'fired after'})`,
    );
  }
  const overAdmissions = findOverAdmissions(history);
  for (const over of overAdmissions.filter((o) => !o.explained)) {
    const rule = over.rule === 'semaphore' ? `permits ${over.permits}` : 'shared';
    violations.push(
      `over-admission on ${over.name} (${rule}): ${describeIn(over.grant)} granted while ` +
        `${over.held.length} believed held: ` +
        over.held
          .map(
            ({ grant, explanation }) =>
              `${describeIn(grant)} ${explanation ?? `lost signal ${grant.lostAt === undefined ? 'never fired' : 'fired after'}`}`,
          )
          .join('; '),
    );
  }
  const coverage = ruleCoverage(history);
  for (const entry of coverage) {
    const { name, rule, permits } = entry.spec;
    if (rule === 'semaphore' && entry.atPermits === 0) {
      violations.push(
        `vacuous: semaphore ${name} was never granted at its ${permits} permits (${entry.grants} grants)`,
      );
    }
    if (rule === 'shared' && entry.readersTogether === 0) {
      violations.push(
        `vacuous: no reader of ${name} was granted while another held (${entry.readers} reader grants)`,
      );
    }
    if (rule === 'shared' && entry.writersAfterReaders === 0) {
      violations.push(
        `vacuous: no writer of ${name} asked while readers held (${entry.writers} writer grants)`,
      );
    }
  }
  const mismatches = findModeMismatches(history);
  for (const { grant, why } of mismatches) {
    violations.push(`wrong mode on ${grant.name}: ${describe(grant)} ${why}`);
  }
  const inversions = findFencingInversions(history.grants, history.locks);
  for (const { earlier, later } of inversions) {
    violations.push(
      `fencing inversion on ${later.name}: ${describe(later)} after ${describe(earlier)}`,
    );
  }
  const store = checkStore(history.operations, history.finalValues);
  for (const operation of store.staleAccepted) {
    violations.push(
      `stale ${operation.kind} accepted: ${operation.grantId} token ${operation.token}`,
    );
  }
  for (const operation of store.wronglyRejected) {
    violations.push(
      `${operation.kind} wrongly rejected: ${operation.grantId} token ${operation.token}`,
    );
  }
  for (const operation of store.lostUpdates) {
    violations.push(
      `lost update on ${operation.resource}: ${operation.grantId} wrote on version ` +
        `${operation.baseVersion} over version ${operation.versionBefore}`,
    );
  }
  for (const mismatch of store.valueMismatches) violations.push(`counter mismatch: ${mismatch}`);
  const unended = history.grants.filter(
    (grant) => believedHeldUntil(grant, history.kills) === undefined,
  );
  for (const grant of unended) violations.push(`grant never ended: ${describe(grant)}`);
  if (history.grants.length === 0) violations.push('no grant at all');
  const starvations = findStarvations(history, limits.waitingWithoutGrantMs);
  for (const starvation of starvations) violations.push(describeStarvation(starvation, history));
  const timeouts = history.acquireErrors.filter((error) => error.code === 'ZZLOCK_TIMEOUT');
  if (timeouts.length > 0) {
    // No fault lasts a wait budget: an acquire that spent all of it was starved, whatever held it.
    violations.push(
      `${timeouts.length} acquires spent their whole wait budget (ZZLOCK_TIMEOUT), on ` +
        [...new Set(timeouts.map((error) => error.name))].join(', '),
    );
  }
  const firstGrantAt = Math.min(...history.grants.map((grant) => grant.grantedAt));
  const longestGrantGapMs = longestGrantGap(history, firstGrantAt, history.endedAt);
  if (longestGrantGapMs > limits.waitingWithoutGrantMs) {
    violations.push(
      `no grant of any lock for ${ms(longestGrantGapMs)} (limit ${ms(limits.waitingWithoutGrantMs)})`,
    );
  }

  const unexplainedBy = (rule: 'semaphore' | 'shared') =>
    overAdmissions.filter((o) => !o.explained && o.rule === rule).length;
  return {
    faults,
    overlaps,
    overAdmissions,
    coverage,
    violations,
    totals: {
      grants: history.grants.length,
      faults: history.faults.length,
      overlaps: overlaps.length,
      overlapsExplained: overlaps.filter((o) => o.explanation !== undefined).length,
      locksLost: history.grants.filter((grant) => grant.lostAt !== undefined).length,
      locksLostOutsideFaults: history.grants.filter(
        (grant) => grant.lostAt !== undefined && faultOf(grant.lostAt, history) === undefined,
      ).length,
      staleReadsRejected: store.staleReadsRejected,
      staleWritesRejected: store.staleWritesRejected,
      staleAccepted: store.staleAccepted.length,
      lostUpdates: store.lostUpdates.length,
      fencingInversions: inversions.length,
      acceptedWrites: store.acceptedWrites,
      overlapsBy: countBy(overlaps.flatMap((o) => (o.explanation ? [o.explanation] : []))),
      overAdmissions: overAdmissions.filter((o) => !o.explained).length,
      overAdmissionsBy: { semaphore: unexplainedBy('semaphore'), shared: unexplainedBy('shared') },
      overAdmissionsExplained: overAdmissions.filter((o) => o.explained).length,
      modeMismatches: mismatches.length,
      acquireErrors: countBy(history.acquireErrors.map((error) => error.code)),
      acquireErrorsOutsideFaults: history.acquireErrors.filter(
        (error) => faultOf(error.at, history) === undefined,
      ).length,
      longestGrantGapMs,
      starvations: starvations.length,
      durationMs: history.endedAt - history.startedAt,
    },
  };
}

/**
 * The lines a run prints: one per fault, then the totals, then any violation.
 * @example
 * for (const line of formatChaosReport(report)) console.log(line);
 */
export function formatChaosReport(report: ChaosReport): string[] {
  const t = report.totals;
  const perKind = FAULT_KINDS.map(
    (kind: FaultKind) => `${kind} ${report.faults.filter((f) => f.fault.kind === kind).length}`,
  ).join(', ');
  const errors = Object.entries(t.acquireErrors)
    .map(([code, count]) => `${code} ${count}`)
    .join(', ');
  const explained = Object.entries(t.overlapsBy)
    .map(([rule, count]) => `${count} ${rule}`)
    .join(', ');
  return [
    ...report.faults.map((fault) => `[chaos] ${fault.line}`),
    `[chaos] totals over ${(t.durationMs / 1000).toFixed(0)} s: grants ${t.grants}, ` +
      `faults injected ${t.faults} (${perKind}), overlaps ${t.overlaps}, ` +
      `overlaps explained ${t.overlapsExplained}${explained === '' ? '' : ` (${explained})`}, ` +
      `over-admissions ${t.overAdmissions} (semaphore ${t.overAdmissionsBy.semaphore}, shared ${t.overAdmissionsBy.shared}), ` +
      `over-admissions explained ${t.overAdmissionsExplained}, wrong modes ${t.modeMismatches}, ` +
      `locks lost ${t.locksLost} (${t.locksLostOutsideFaults} outside faults), ` +
      `stale writes rejected ${t.staleWritesRejected}, stale reads rejected ${t.staleReadsRejected}, ` +
      `stale accepted ${t.staleAccepted}, lost updates ${t.lostUpdates}, ` +
      `fencing inversions ${t.fencingInversions}, accepted writes ${t.acceptedWrites}, ` +
      `longest time without any grant ${Math.round(t.longestGrantGapMs)} ms, ` +
      `starved waits ${t.starvations}, ` +
      `failed acquires ${errors === '' ? 0 : errors} (${t.acquireErrorsOutsideFaults} outside faults)`,
    ...report.coverage.map((entry) => `[chaos] ${formatCoverage(entry)}`),
    ...report.violations.map((violation) => `[chaos] VIOLATION ${violation}`),
    `[chaos] ${report.violations.length === 0 ? 'PASS' : `FAIL (${report.violations.length} violations)`}`,
  ];
}

/**
 * One line on how much a semaphore or shared name was exercised.
 * @example
 * formatCoverage(entry) // 'semaphore pool (permits 2): 812 grants, 301 of them with 2 held at once'
 */
export function formatCoverage(entry: RuleCoverage): string {
  const { name, rule, permits } = entry.spec;
  if (rule === 'semaphore') {
    return (
      `semaphore ${name} (permits ${permits}): ${entry.grants} grants, ` +
      `${entry.atPermits} of them with ${permits} held at once`
    );
  }
  return (
    `shared ${name}: ${entry.readers} reader grants, ${entry.readersTogether} of them while ` +
    `another reader held; ${entry.writers} writer grants, ${entry.writersAfterReaders} of them ` +
    'asked while readers held'
  );
}

/** What became of a held grant's last operation, in words. */
function heldOutcome(outcome: HeldOutcome | undefined): string {
  if (outcome === 'none') return 'none (a permit holder makes no store call)';
  return outcome ?? 'none';
}

/** A reader or a writer of a shared name, a permit of a semaphore. */
function roleOf(grant: GrantRecord): string {
  return grant.mode === 'shared' ? 'reader' : grant.mode === 'semaphore' ? 'permit' : 'writer';
}

/** The longest stretch of [from, to] in which no worker was granted anything, in ms. */
function longestGrantGap(history: ChaosHistory, from: number, to: number): number {
  const times = history.grants
    .map((grant) => grant.grantedAt)
    .filter((at) => at > from && at <= to)
    .sort((a, b) => a - b);
  let longest = 0;
  let previous = from;
  for (const at of [...times, to]) {
    longest = Math.max(longest, at - previous);
    previous = at;
  }
  return longest;
}

/** A duration for the run's lines. */
function ms(value: number): string {
  return `${Math.round(value)} ms`;
}

function describeStarvation(starvation: Starvation, history: ChaosHistory): string {
  const fault = faultOf(starvation.from, history);
  const failures = Object.entries(starvation.failures)
    .map(([code, count]) => `${code} ${count}`)
    .join(', ');
  return (
    `${starvation.name}: a waiter went ${ms(starvation.gapMs)} without a grant (the name's last ` +
    `grant before was ${ms(starvation.from - history.startedAt)} into the run, ` +
    `(${fault === undefined ? 'no fault' : `during ${fault.kind} on ${fault.target}`}) while ` +
    `${starvation.waiters.length} workers waited (${starvation.waiters.join(', ')})` +
    (failures === '' ? '' : `; failed acquires ${failures}`)
  );
}

function countBy<K extends string>(keys: readonly K[]): Partial<Record<K, number>> {
  const counts: Partial<Record<K, number>> = {};
  for (const key of keys) counts[key] = (counts[key] ?? 0) + 1;
  return counts;
}

/**
 * The fault a moment belongs to: the last one started at or before it, if the moment is no later
 * than a TTL after that fault was healed (clients reconnect and re-queue in that time).
 */
function faultOf(at: number, history: ChaosHistory): FaultRecord | undefined {
  const fault = history.faults.findLast((candidate) => candidate.startedAt <= at);
  return fault !== undefined && at <= fault.healedAt + history.ttlSeconds * 1000
    ? fault
    : undefined;
}

function byName(grants: readonly GrantRecord[]): Map<string, GrantRecord[]> {
  const map = new Map<string, GrantRecord[]>();
  for (const grant of grants) {
    const list = map.get(grant.name) ?? [];
    list.push(grant);
    map.set(grant.name, list);
  }
  return map;
}

function byGrantTime(grants: readonly GrantRecord[]): GrantRecord[] {
  return [...grants].sort((a, b) => a.grantedAt - b.grantedAt || Number(a.token - b.token));
}

function grantById(history: ChaosHistory, id: string): GrantRecord | undefined {
  return history.grants.find((grant) => grant.id === id);
}

function firstGrant(
  history: ChaosHistory,
  matches: (grant: GrantRecord) => boolean,
): GrantRecord | undefined {
  let first: GrantRecord | undefined;
  for (const grant of history.grants) {
    if (matches(grant) && (first === undefined || grant.grantedAt < first.grantedAt)) first = grant;
  }
  return first;
}

/** A grant with its role (reader, writer, permit): for the semaphore and shared rules. */
function describeIn(grant: GrantRecord): string {
  return `${grant.id} (token ${grant.token}, ${roleOf(grant)})`;
}

function describe(grant: GrantRecord): string {
  return `${grant.id} (token ${grant.token}${grant.mode === 'exclusive' ? '' : `, ${grant.mode}`})`;
}
