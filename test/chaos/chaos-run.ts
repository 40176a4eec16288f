import { writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';

import {
  leftovers,
  startEtcdCluster,
  startTcpProxy,
  waitFor,
  type EtcdCluster,
  type EtcdMember,
  type TcpProxy,
} from '../support/index.js';
import {
  chaosClockMs,
  FAULT_KINDS,
  type ChaosHistory,
  type FaultKind,
  type FaultRecord,
  type GrantRecord,
  type LockSpec,
} from './chaos-history.js';
import {
  checkChaosHistory,
  firstGrantBlockedBy,
  formatChaosReport,
  heldAt,
  ruleOf,
  type ChaosLimits,
  type ChaosReport,
} from './chaos-checker.js';
import { startFencingStore, type FencingStore } from './fencing-store.js';
import { describeQueues, watchForStalls } from './stall-snapshot.js';
import { WorkerPool } from './worker-pool.js';

/**
 * The settings of a chaos run; every figure the run prints holds for these.
 * @example
 * await runChaos({ durationMs: 3 * 60_000 });
 */
export interface ChaosRunOptions {
  /**
   * How long to keep injecting faults, in ms; rounds of every fault kind are run until it has
   * passed, and always at least one whole round.
   * @default 0 (one round, about a minute)
   */
  durationMs?: number;
  /**
   * Worker processes (slot 0 reaches etcd through one TCP proxy per member, for the cut-off).
   * @default 4
   */
  workers?: number;
  /**
   * Concurrent acquirers per worker.
   * @default 3
   */
  acquirersPerWorker?: number;
  /**
   * Exclusive lock names (each guards the store resource of the same name).
   * @default ['acct-0', 'acct-1', 'acct-2']
   */
  names?: readonly string[];
  /**
   * Semaphore names and their permits: their holders make no store call (see chaos-worker.ts);
   * the checker counts the grants held at once.
   * @default { pool: 2 }
   */
  semaphores?: Readonly<Record<string, number>>;
  /**
   * Shared names: most acquisitions are `shared: true` readers (a fenced read), the others
   * exclusive writers (a fenced read-modify-write).
   * @default ['catalog']
   */
  shared?: readonly string[];
  /**
   * An election every worker campaigns for in a loop of its own (each term leads like an exclusive
   * holder, its term the fencing token, then resigns); judged by the mutex's rules under its
   * name. `null`: none.
   * @default 'leader'
   */
  election?: string | null;
  /**
   * Of the acquisitions of a shared name, the share that are writers.
   * @default 0.25
   */
  writerShare?: number;
  /**
   * Write the history and keep the etcd members' logs even when the run passes (they are always
   * kept when it fails): for studying a run's timeline.
   * @default false
   */
  keepRecords?: boolean;
  /**
   * Lease TTL of every lock, in seconds. 5 s is above a leader election (1–2 s with etcd's
   * default 1 s election timeout) plus a keepalive interval (TTL/3) plus the lost margin (TTL/10),
   * so a member or leader failure costs no held lock; with TTL ≤ 3 s an election can make a holder
   * signal loss (safe, but not what a user wants from a failover).
   * @default 5
   */
  ttlSeconds?: number;
  /**
   * The workers' `callTimeoutMs`: each attempt gets a third, and is retried on another member.
   * @default 1500
   */
  callTimeoutMs?: number;
  /**
   * Extra etcd flags for every member (election timeout, heartbeat, pre-vote).
   *
   * The default turns on Raft's pre-vote phase, which etcd 3.5 has on by default and 3.4 off.
   * Without it, etcd 3.4 sometimes takes a second election round after a leader dies: a soak's
   * members' logs show a follower campaign 946 ms after the kill, the other follower ignore its
   * vote ("lease is not expired": its own election timer was a tick behind), then campaign itself
   * at the same term, and the two split the vote; the next round elected a leader 2.8 s after the
   * kill, past the run's 3 s promise once the client's retry is added. With pre-vote, a failed
   * campaign does not spend a term and a vote, so the other follower's campaign wins at once.
   * `npm run chaos -- --no-pre-vote` runs without it.
   * @default ['--pre-vote'] (etcd's defaults otherwise: heartbeat 100 ms, election timeout 1000 ms)
   */
  etcdArgs?: readonly string[];
  /**
   * How long the leader is frozen (SIGSTOP), in ms. The default, half the TTL, is past etcd's
   * election timeout (a new leader is elected; calls through the frozen one hang) and short of
   * what etcd 3.4.23 cannot survive: a leader stuck until its own view of a lease has run out
   * revokes that lease when it comes back, although the new leader kept it alive
   * (etcd-io/etcd#15247, fixed in later 3.4 and 3.5 releases). A soak with the leader frozen for
   * TTL + 1 s showed it: at the thaw every member applied a burst of revokes ("lease not found"
   * for the duplicates), the keys of live holders went, and two grants overlapped with holders
   * whose keepalives had not yet told them. No client can see that coming; fencing tokens still
   * rejected every stale write. Pass `ttlSeconds * 1000 + 1000` to see it again.
   * @default ttlSeconds * 500
   */
  leaderFreezeMs?: number;
  /**
   * Where progress lines go.
   * @default console.log
   */
  log?: (line: string) => void;
}

/** What a chaos run produced. */
export interface ChaosRunResult {
  /** The checker's verdict. */
  readonly report: ChaosReport;
  /** The lines printed for it: one per fault, the totals, violations, PASS/FAIL. */
  readonly lines: string[];
  /** The recorded history it was judged on. */
  readonly history: ChaosHistory;
  /** Keys and leases left in etcd after every worker stopped and the killed ones' TTL ran out. */
  readonly leftovers: { keys: string[]; leases: string[] };
  /** The limits the run was held to. */
  readonly limits: ChaosLimits;
  /** Every process the run started (etcd members, each restart, and workers): all gone now. */
  readonly pids: readonly number[];
}

const NAMESPACE = 'chaos/';
/** Normal operation between two faults, in ms: the workload settles and the next fault starts. */
const SETTLE_MS = 1_500;
/** How long past its TTL a holder is paused, and a client cut off. */
const PAST_TTL_MS = 2_000;
/** How long a killed follower stays down. */
const MEMBER_DOWN_MS = 3_000;

/**
 * Runs the chaos workload against a fresh 3-member etcd: `workers` processes doing fenced
 * read-modify-writes under zzlock mutexes (and a shared name's writers), fenced reads under its
 * readers, and holds of a semaphore's permits (see chaos-worker.ts), while it injects, in turn, a holder SIGKILL, a holder
 * SIGSTOP past its TTL, a frozen leader, a killed follower, a killed leader, a client cut off from
 * every member past its TTL, and a crash-restart of the whole cluster. Then it stops every
 * worker, checks nothing is left in etcd, and judges the history (see chaos-checker.ts). Never
 * throws for a broken property: those are in `report.violations`. Stops every process it started,
 * also on failure.
 *
 * @example
 * const { report, lines } = await runChaos({ durationMs: 0 });
 * lines.forEach((line) => console.log(line));
 * assert.deepEqual(report.violations, []);
 */
export async function runChaos(options: ChaosRunOptions = {}): Promise<ChaosRunResult> {
  const ttl = options.ttlSeconds ?? 5;
  const workers = options.workers ?? 4;
  const locks: LockSpec[] = [
    ...(options.names ?? ['acct-0', 'acct-1', 'acct-2']).map((name): LockSpec => ({
      name,
      rule: 'exclusive',
      permits: 1,
    })),
    ...Object.entries(options.semaphores ?? { pool: 2 }).map(([name, permits]): LockSpec => ({
      name,
      rule: 'semaphore',
      permits,
    })),
    ...(options.shared ?? ['catalog']).map((name): LockSpec => ({
      name,
      rule: 'shared',
      permits: 1,
    })),
  ];
  const election = options.election === undefined ? 'leader' : options.election;
  // Judged as a mutex; not among the names the acquirers pick or the holder faults aim at.
  const judged: LockSpec[] =
    election === null ? locks : [...locks, { name: election, rule: 'exclusive', permits: 1 }];
  const writerShare = options.writerShare ?? 0.25;
  const log = options.log ?? ((line: string) => console.log(line));
  const limits: ChaosLimits = {
    holderDeathToNextGrantMs: ttl * 1000 + 1000,
    leaderKillToGrantMs: 3000,
    // etcd's election is 1–2 s with its defaults, but a split vote adds a round (2–4 s): then the library gets 1 s from the new leader.
    leaderElectedToGrantMs: 1000,
    // Two holder deaths' worth: more than any one fault can explain, far less than a wait budget.
    waitingWithoutGrantMs: 2 * (ttl * 1000 + 1000),
  };
  let cluster: EtcdCluster | undefined;
  let store: FencingStore | undefined;
  const proxies: TcpProxy[] = [];
  let pool: WorkerPool | undefined;
  const etcdPids = new Set<number>();
  const notePids = () => {
    for (const member of cluster?.members ?? [])
      if (member.pid !== undefined) etcdPids.add(member.pid);
  };
  // The members' info logs: kept when the run fails, to show what Raft did around a fault.
  const etcdLogDir = await mkdtemp(join(tmpdir(), 'zzlock-chaos-etcd-logs-'));
  let keepEtcdLogs = false;
  let stopStallWatch = () => {};
  try {
    cluster = await startEtcdCluster({
      members: 3,
      extraArgs: [...(options.etcdArgs ?? ['--pre-vote'])],
      logDir: etcdLogDir,
    });
    notePids();
    for (const member of cluster.members) proxies.push(await startTcpProxy(member.clientUrl));
    store = await startFencingStore();
    const storeUrl = store.url;
    const endpoints = cluster.endpoints;
    pool = new WorkerPool((slot) => ({
      endpoints: slot === 0 ? proxies.map((proxy) => proxy.endpoint) : endpoints,
      namespace: NAMESPACE,
      ttl,
      callTimeoutMs: options.callTimeoutMs ?? 1500,
      storeUrl,
      locks,
      writerShare,
      acquirers: options.acquirersPerWorker ?? 3,
      holdMs: 20,
      thinkMs: 30,
      waitMs: 30_000,
      ...(election === null ? {} : { election }),
    }));
    const startedAt = chaosClockMs();
    await pool.start(workers);
    log(
      `[chaos] ${workers} workers × ${options.acquirersPerWorker ?? 3} acquirers on ` +
        `${locks.map(describeSpec).join(', ')}${election === null ? '' : `, election ${election}`} (${Math.round(writerShare * 100)} % of shared acquisitions writers); 3-member etcd ${(options.etcdArgs ?? ['--pre-vote']).join(' ') || '(default flags)'}; ` +
        `ttl ${ttl} s, callTimeoutMs ${options.callTimeoutMs ?? 1500}`,
    );
    const leaderFreezeMs = options.leaderFreezeMs ?? ttl * 500;
    const injector = new FaultInjector(
      cluster,
      proxies,
      pool,
      locks,
      ttl,
      leaderFreezeMs,
      log,
      notePids,
    );
    const stopAt = startedAt + (options.durationMs ?? 0);
    const runningPool = pool;
    const runningStore = store;
    const historyUntil = (endedAt: number): ChaosHistory => ({
      ttlSeconds: ttl,
      locks: judged,
      grants: runningPool.grantList(),
      operations: runningStore.operations(),
      finalValues: runningStore.values(),
      faults: injector.faults,
      kills: runningPool.kills,
      pauses: runningPool.pauses,
      heldWrites: runningPool.heldWrites,
      acquireErrors: runningPool.acquireErrors,
      startedAt,
      endedAt,
    });
    stopStallWatch = watchForStalls(
      {
        // The lock names only: a stalled lock absorbs every acquirer while terms go on.
        grants: () => runningPool.grantList().filter((grant) => grant.name !== election),
        workers: () => runningPool.describe(),
        endpoints: cluster.endpoints,
        namespace: NAMESPACE,
        log,
        startedAt,
      },
      limits.holderDeathToNextGrantMs,
    );
    try {
      do {
        for (const kind of FAULT_KINDS) {
          await injector.settle();
          await injector.inject(kind);
        }
      } while (chaosClockMs() < stopAt);
      await injector.settle();
      // The last fault gets the same chance as the others to show a fresh grant (the checker
      // still requires one): observe until an acquire started after it is granted, bounded.
      const lastFault = injector.faults.at(-1);
      if (lastFault) {
        await waitFor(
          'a grant after the last fault',
          () =>
            pool?.grantList().some((grant) => grant.requestedAt >= lastFault.startedAt) ?? false,
          ttl * 1000 + 10_000,
        ).catch(() => undefined);
      }
    } catch (error) {
      log(`[chaos] the run stalled: ${String(error)}`);
      for (const line of pool.describe()) log(`[chaos]   ${line}`);
      for (const line of await describeQueues(cluster.endpoints, NAMESPACE))
        log(`[chaos]   ${line}`);
      log(`[chaos] etcd members' logs kept in ${etcdLogDir}`);
      keepEtcdLogs = true;
      throw error;
    }
    await pool.stopAll();
    const endedAt = chaosClockMs();

    // Killed workers' keys go when their leases expire: within the TTL of their kill.
    const clusterEndpoints = cluster.endpoints;
    let left = await leftovers(clusterEndpoints, NAMESPACE);
    await waitFor(
      'etcd to be empty of chaos keys and leases',
      async () => {
        left = await leftovers(clusterEndpoints, NAMESPACE);
        return left.keys.length === 0 && left.leases.length === 0;
      },
      ttl * 1000 + 5000,
    ).catch(() => undefined);

    const history = historyUntil(endedAt);
    const report = checkChaosHistory(history, limits);
    if (left.keys.length > 0 || left.leases.length > 0) {
      report.violations.push(
        `left in etcd: keys [${left.keys.join(', ')}], leases [${left.leases.join(', ')}]`,
      );
    }
    const terms = history.grants.filter((grant) => grant.name === election);
    if (election !== null && terms.length === 0) {
      report.violations.push(`vacuous: no term of election ${election}`);
    }
    const lines = formatChaosReport(report);
    if (election !== null) {
      lines.splice(
        -1,
        0,
        `[chaos] election ${election}: ${terms.length} terms, ${new Set(terms.map((t) => t.worker)).size} leaders, ` +
          `${terms.filter((t) => t.lostAt !== undefined).length} lost (judged as a mutex: overlaps, fencing by term, store)`,
      );
    }
    if (report.violations.length > 0 || options.keepRecords === true) {
      lines.push(`[chaos] history written to ${writeHistory(history)}`);
      lines.push(`[chaos] etcd members' logs kept in ${etcdLogDir}`);
      keepEtcdLogs = true;
    }
    for (const line of lines) log(line);
    return {
      report,
      lines,
      history,
      leftovers: left,
      limits,
      pids: [...etcdPids, ...pool.pids],
    };
  } finally {
    stopStallWatch();
    await pool?.killAll();
    await Promise.all(proxies.map((proxy) => proxy.close()));
    await store?.close();
    await cluster?.stop();
    if (!keepEtcdLogs) await rm(etcdLogDir, { recursive: true, force: true });
  }
}

/** Writes a run's history as JSON in the temp dir; returns the file. */
function writeHistory(history: ChaosHistory): string {
  const file = join(tmpdir(), `zzlock-chaos-history-${process.pid}-${Date.now()}.json`);
  writeFileSync(file, JSON.stringify(history, jsonReplacer, 1));
  return file;
}

function describeSpec(spec: LockSpec): string {
  if (spec.rule === 'semaphore') return `${spec.name} (semaphore, permits ${spec.permits})`;
  return spec.rule === 'shared' ? `${spec.name} (shared)` : spec.name;
}

/** JSON for the history: bigints as strings, maps as objects. */
function jsonReplacer(_key: string, value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Map) return Object.fromEntries(value);
  return value;
}

/** The lock queues in etcd, oldest key first, with each key's owner (`host:pid`): for a stall. */
/**
 * Where each holder fault starts in the list of lock names (exclusive names first, then the
 * semaphores, then the shared ones); each moves on by one name per fault, so that over as many
 * rounds as there are names every holder fault hits every name. With the default names, the first
 * round's SIGKILL hits the semaphore, its SIGSTOP an exclusive name (whose blind write the
 * one-round test expects to be rejected as stale) and its cut-off the shared name.
 */
const HOLDER_FAULT_START: Readonly<Partial<Record<FaultKind, (names: number) => number>>> = {
  'holder-sigkill': (names) => names - 2,
  'holder-sigstop': () => 0,
  'client-cutoff': (names) => names - 1,
};

/** Injects one fault at a time and records it. */
class FaultInjector {
  /** Every fault injected, in order. */
  readonly faults: FaultRecord[] = [];
  #nextHolderSlot = 1;
  readonly #holderFaults = new Map<FaultKind, number>();

  constructor(
    private readonly cluster: EtcdCluster,
    private readonly proxies: readonly TcpProxy[],
    private readonly pool: WorkerPool,
    private readonly locks: readonly LockSpec[],
    private readonly ttl: number,
    private readonly leaderFreezeMs: number,
    private readonly log: (line: string) => void,
    /** Called after etcd members were (re)started, to note their process ids. */
    private readonly started: () => void,
  ) {}

  /** Lets the workload run normally for a moment and waits until grants are flowing. */
  async settle(): Promise<void> {
    await delay(SETTLE_MS);
    await waitFor(
      'grants to flow again',
      () => this.pool.grantList().some((grant) => grant.grantedAt > chaosClockMs() - 1000),
      30_000,
    );
  }

  async inject(kind: FaultKind): Promise<void> {
    this.log(`[chaos] injecting ${kind}`);
    switch (kind) {
      case 'holder-sigkill':
        return this.#holderKill();
      case 'holder-sigstop':
        return this.#holderPause();
      case 'member-sigstop':
        return this.#memberFreeze();
      case 'member-kill':
        return this.#memberKill();
      case 'leader-kill':
        return this.#leaderKill();
      case 'client-cutoff':
        return this.#clientCutoff();
      case 'etcd-restart':
        return this.#clusterRestart();
    }
  }

  /** A worker other than slot 0 (the proxied one), in turn. */
  #holderSlot(): number {
    const slot = this.#nextHolderSlot;
    this.#nextHolderSlot = (this.#nextHolderSlot % (this.pool.size - 1)) + 1;
    return slot;
  }

  /** The name the next holder fault of `kind` holds (see {@link HOLDER_FAULT_START}). */
  #nameFor(kind: FaultKind): string {
    const count = this.#holderFaults.get(kind) ?? 0;
    this.#holderFaults.set(kind, count + 1);
    const start = HOLDER_FAULT_START[kind]?.(this.locks.length) ?? 0;
    const index = (((start + count) % this.locks.length) + this.locks.length) % this.locks.length;
    return this.locks[index].name;
  }

  async #holderKill(): Promise<void> {
    const slot = this.#holderSlot();
    const worker = this.pool.id(slot);
    const grant = await this.pool.hold(slot, this.#nameFor('holder-sigkill'), false);
    const at = await this.pool.kill(slot);
    this.faults.push({
      kind: 'holder-sigkill',
      target: worker,
      startedAt: at,
      healedAt: at,
      grantId: grant.id,
      name: grant.name,
    });
    await this.#nextBlockedGrant(grant, at);
    await this.pool.respawn(slot);
  }

  async #holderPause(): Promise<void> {
    const slot = this.#holderSlot();
    const worker = this.pool.id(slot);
    const grant = await this.pool.hold(slot, this.#nameFor('holder-sigstop'), true);
    const startedAt = this.pool.pause(slot);
    const fault: FaultRecord = {
      kind: 'holder-sigstop',
      target: worker,
      startedAt,
      healedAt: startedAt,
      grantId: grant.id,
      name: grant.name,
    };
    this.faults.push(fault);
    await delay(this.ttl * 1000 + PAST_TTL_MS);
    fault.healedAt = this.pool.resume(slot);
    await this.pool.proceed(slot, grant);
  }

  async #memberFreeze(): Promise<void> {
    const leader = await this.cluster.leader();
    const startedAt = chaosClockMs();
    await this.cluster.freeze(leader);
    const fault = this.#record('member-sigstop', `${leader.name} (leader)`, startedAt);
    await delay(this.leaderFreezeMs);
    await this.cluster.thaw(leader);
    fault.healedAt = chaosClockMs();
    await this.cluster.leader();
  }

  async #memberKill(): Promise<void> {
    const leader = await this.cluster.leader();
    const follower = this.cluster.members.find((member) => member !== leader)!;
    const startedAt = chaosClockMs();
    await this.cluster.kill(follower);
    const fault = this.#record('member-kill', `${follower.name} (follower)`, startedAt);
    await delay(MEMBER_DOWN_MS);
    await this.cluster.restart(follower);
    fault.healedAt = chaosClockMs();
    this.started();
  }

  async #leaderKill(): Promise<void> {
    const leader = await this.cluster.leader();
    const startedAt = chaosClockMs();
    await this.cluster.kill(leader);
    const fault = this.#record('leader-kill', leader.name, startedAt);
    const elected = this.cluster.leader(15_000).then(
      () => (fault.electedAt = chaosClockMs()),
      () => undefined,
    );
    await waitFor(
      'a grant after the leader kill',
      () => this.pool.grantList().some((grant) => grant.requestedAt >= startedAt),
      15_000,
    ).catch(() => undefined);
    await elected;
    await this.cluster.restart(leader);
    fault.healedAt = chaosClockMs();
    this.started();
  }

  async #clientCutoff(): Promise<void> {
    const worker = this.pool.id(0);
    const grant = await this.pool.hold(0, this.#nameFor('client-cutoff'), false);
    const startedAt = chaosClockMs();
    for (const proxy of this.proxies) proxy.cut();
    const fault: FaultRecord = {
      kind: 'client-cutoff',
      target: worker,
      startedAt,
      healedAt: startedAt,
      grantId: grant.id,
      name: grant.name,
    };
    this.faults.push(fault);
    await delay(this.ttl * 1000 + PAST_TTL_MS);
    for (const proxy of this.proxies) proxy.restore();
    fault.healedAt = chaosClockMs();
    await this.pool.proceed(0, grant);
  }

  async #clusterRestart(): Promise<void> {
    const members: readonly EtcdMember[] = this.cluster.members;
    const startedAt = chaosClockMs();
    await Promise.all(members.map((member) => this.cluster.kill(member)));
    const fault = this.#record('etcd-restart', members.map((m) => m.name).join('+'), startedAt);
    // etcd 3.4 is healthy only with a quorum: bring every member back at once.
    await Promise.all(members.map((member) => this.cluster.restart(member)));
    fault.healedAt = chaosClockMs();
    this.started();
  }

  #record(kind: FaultKind, target: string, startedAt: number): FaultRecord {
    const fault: FaultRecord = { kind, target, startedAt, healedAt: startedAt };
    this.faults.push(fault);
    return fault;
  }

  /**
   * Waits (bounded; the checker judges the time) for another worker's grant that the dead
   * holder's key would have blocked (chaos-checker's `firstGrantBlockedBy`).
   */
  async #nextBlockedGrant(held: GrantRecord, after: number): Promise<void> {
    const spec = ruleOf(this.locks, held.name);
    const dead = heldAt(this.pool.grantList(), held.worker, after).filter(
      (grant) => grant.name === held.name,
    );
    await waitFor(
      `a grant of ${held.name} that ${held.id} blocked`,
      () =>
        firstGrantBlockedBy(dead, after, this.pool.grantList(), this.pool.kills, spec) !==
        undefined,
      this.ttl * 1000 + 10_000,
    ).catch(() => undefined);
  }
}
