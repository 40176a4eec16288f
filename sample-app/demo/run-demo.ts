/**
 * `npm run demo`: red packets grabbed across three replicas of the sample app, on a real etcd.
 *
 * 1. Starts a local 3-member etcd with `support/local-etcd/` (or uses `ZZLOCK_ENDPOINTS`)
 *    and three replicas of the sample app on free loopback ports; waits for their /health.
 * 2. Locked: concurrent grabs spread over the replicas; the packet is never overspent.
 * 3. Unlocked twin: the same load without the lock; shows the overspend it causes.
 * 4. Kills (SIGKILL) the replica holding the most locks mid-run; the others carry on, nothing is
 *    overspent.
 * 5. Leader election: restarts the killed replica, SIGKILLs the leader of the sweeper election
 *    (a new one leads within about its TTL), stops the next leader gracefully (it hands over in
 *    under a second), and shows who led when and who swept under each term.
 * Exits 0 when every invariant holds, 1 with the broken ones otherwise, 130 on Ctrl-C; always
 * stops every process it started.
 */
import { randomBytes } from 'node:crypto';
import { Etcd3 } from 'etcd3';
import {
  getFreePorts,
  startEtcdCluster,
  type EtcdCluster,
} from '../../support/local-etcd/index.js';
import type { ZZLockHealthDetails } from '../../lib/index.js';
import { auditPacket, type RedPacket } from '../packets/red-packet.js';
import type { SettlementRecord } from '../settlement/settlement.service.js';
import { SWEEPER_ELECTION, type SweeperTermRecord } from '../sweeper/packet-sweeper.service.js';
import {
  fetchPacket,
  getJson,
  getText,
  postJson,
  runGrabLoad,
  type GrabAttempt,
  type GrabEndpoint,
} from './grab-load.js';
import {
  histogramQuantile,
  mergeHistogram,
  parsePrometheusText,
  sumSamples,
  type PrometheusSample,
} from './prometheus-text.js';
import { LeaderLog, type ObservedLeader } from './leader-log.js';
import { describeExit, ReplicaProcess } from './replica-process.js';
import { colour, formatCents, formatSeconds, ProgressBar, renderTable } from './terminal.js';

/** Replicas started. */
const REPLICA_COUNT = 3;
/** Grab requests in flight at once. */
const CONCURRENCY = 24;
/** Bound on the whole demo, in ms: past it the demo fails and cleans up. */
const DEMO_TIMEOUT_MS = 180_000;
/** Bound on a replica becoming healthy, in ms. */
const HEALTHY_TIMEOUT_MS = 30_000;
/** Share of the kill phase's requests completed before the kill. */
const KILL_AT_FRACTION = 0.3;
/** Label of the packet locks in the metrics (the sample app declares it). */
const PACKET_LOCK_LABEL = 'packet:{id}';

/**
 * Settings the demo gives the replicas, each overridable from the environment: a short packet
 * lock TTL so the survivors take over quickly after the kill.
 */
const REPLICA_SETTINGS: Readonly<Record<string, string>> = {
  GRAB_LOCK_TTL_SECONDS: '3',
  GRAB_LOCK_WAIT_MS: '10000',
  GRAB_WORK_MS: '10',
  SETTLEMENT_CRON: '*/2 * * * * *',
  SETTLEMENT_TTL_SECONDS: '10',
  SETTLEMENT_MIN_HOLD_MS: '1500',
  ELECTION_TTL_SECONDS: '3',
  SWEEP_INTERVAL_MS: '1000',
};

/** Bound on a new leader after the leader was SIGKILLed, beyond the election TTL, in ms. */
const TAKEOVER_SLACK_MS = 2_000;
/** Bound on the handover when the leader stops gracefully (it resigns first), in ms. */
const HANDOVER_BOUND_MS = 1_000;
/** Bound on waiting for a leader change the demo caused, in ms (failures, not timing checks). */
const LEADER_WAIT_MS = 20_000;

/** Rounds of /metrics polling for a replica that holds the packet lock, before settling for any. */
const KILL_POLL_ROUNDS = 50;

/** The replica the failover phase kills, and why. */
interface KillChoice {
  readonly replica: ReplicaProcess;
  /** Locks it held (every label) when last scraped. */
  readonly held: number;
  /** True when it held the packet lock when last scraped. */
  readonly heldPacketLock: boolean;
  /** Grabs it had served in this phase. */
  readonly served: number;
}

/** One phase's load: a packet, its size and the requests fired at it. */
interface PhasePlan {
  readonly total: number;
  readonly shares: number;
  readonly requests: number;
  readonly endpoint: GrabEndpoint;
}

/** What a phase measured. */
interface PhaseResult {
  readonly packet: RedPacket;
  readonly attempts: readonly GrabAttempt[];
}

const LOCKED_PHASE: PhasePlan = { total: 10_000, shares: 100, requests: 150, endpoint: 'grab' };
const UNLOCKED_PHASE: PhasePlan = {
  total: 10_000,
  shares: 100,
  requests: 150,
  endpoint: 'grab-unlocked',
};
const KILL_PHASE: PhasePlan = { total: 30_000, shares: 300, requests: 600, endpoint: 'grab' };

/** The demo run: the processes it owns and the invariants it found broken. */
class Demo {
  readonly failures: string[] = [];
  readonly stopLoad = new AbortController();
  readonly namespace = `zzlock-demo-${process.pid}-${randomBytes(3).toString('hex')}/`;
  replicas: ReplicaProcess[] = [];
  #cluster: EtcdCluster | undefined;
  #endpoints: string[] = [];
  #leaders: LeaderLog | undefined;
  #env: Record<string, string> = {};
  readonly #startedAt = performance.now();
  #externalEtcd = false;
  #cleanedUp: Promise<void> | undefined;

  /** Runs every step; invariant failures are collected in {@link failures}. */
  async run(): Promise<void> {
    const startedAt = Date.now();
    console.log(colour('bold', 'zzlock demo: red packets grabbed across three replicas, on etcd'));
    await this.#start();
    await this.#lockedPhase();
    await this.#unlockedPhase();
    await this.#killPhase();
    await this.#electionPhase();
    await this.#settlementReport();
    console.log(`\n    demo took ${((Date.now() - startedAt) / 1000).toFixed(1)} s`);
  }

  /** Stops the replicas (gracefully, then SIGKILL) and etcd. Idempotent. */
  cleanUp(): Promise<void> {
    this.#cleanedUp ??= (async () => {
      this.stopLoad.abort();
      await this.#leaders?.close().catch(() => undefined);
      await Promise.allSettled(this.replicas.map((replica) => replica.stop(5_000)));
      if (this.#externalEtcd) await this.#deleteDemoKeys();
      await this.#cluster?.stop();
    })();
    return this.#cleanedUp;
  }

  /** What {@link cleanUp} stopped or removed, for the last line. */
  get cleanUpSummary(): string {
    return this.#externalEtcd
      ? "Replicas stopped; the demo's keys deleted from the given etcd."
      : 'Replicas and the local etcd stopped.';
  }

  /** Records a broken invariant. */
  check(holds: boolean, invariant: string): void {
    console.log(`    ${holds ? colour('green', 'ok  ') : colour('red', 'FAIL')} ${invariant}`);
    if (!holds) this.failures.push(invariant);
  }

  async #start(): Promise<void> {
    const given = process.env['ZZLOCK_ENDPOINTS'];
    if (given !== undefined && given.trim() !== '') {
      this.#endpoints = given.split(',').map((endpoint) => endpoint.trim());
      this.#externalEtcd = true;
      console.log(`    etcd      ${this.#endpoints.join(', ')} (from ZZLOCK_ENDPOINTS)`);
    } else {
      const startedAt = Date.now();
      this.#cluster = await startEtcdCluster({ members: 3 });
      this.#endpoints = this.#cluster.endpoints;
      console.log(
        `    etcd      3 members on ${this.#endpoints.join(', ')} ` +
          `(local, started in ${((Date.now() - startedAt) / 1000).toFixed(1)} s)`,
      );
    }
    const ports = await getFreePorts(REPLICA_COUNT);
    const env = Object.fromEntries(
      Object.entries(REPLICA_SETTINGS).map(([key, value]) => [key, process.env[key] ?? value]),
    );
    this.#env = env;
    this.#leaders = new LeaderLog(this.#endpoints, this.namespace, SWEEPER_ELECTION);
    const startedAt = Date.now();
    this.replicas = ports.map((port, index) =>
      ReplicaProcess.start({
        id: `replica-${index + 1}`,
        port,
        endpoints: this.#endpoints,
        namespace: this.namespace,
        env,
      }),
    );
    const reports = await Promise.all(
      this.replicas.map((replica) => replica.waitUntilHealthy(HEALTHY_TIMEOUT_MS)),
    );
    console.log(
      `    replicas  ${this.replicas.map((replica) => `${replica.id} ${replica.url}`).join(', ')} ` +
        `(healthy in ${((Date.now() - startedAt) / 1000).toFixed(1)} s)`,
    );
    console.log(`    health    ${describeHealth(reports[0])}`);
    console.log(
      `    settings  packet lock TTL ${env['GRAB_LOCK_TTL_SECONDS']} s, wait ${env['GRAB_LOCK_WAIT_MS']} ms; ` +
        `settlement cron "${env['SETTLEMENT_CRON']}", namespace ${this.namespace}`,
    );
  }

  async #lockedPhase(): Promise<void> {
    const plan = LOCKED_PHASE;
    heading(
      `1/4 Locked: ${plan.requests} grabs on a ${plan.shares}-share packet of ` +
        `${formatCents(plan.total)}, ${CONCURRENCY} at a time, over ${REPLICA_COUNT} replicas`,
    );
    const { packet, attempts } = await this.#runPhase(plan);
    const acked = attempts.filter((attempt) => attempt.status === 'granted');
    const paid = sumAmounts(acked);
    console.log(
      renderTable(
        ['packet', 'total', 'paid out', 'shares paid', 'left'],
        [
          [
            'locked',
            formatCents(packet.total),
            formatCents(paid),
            `${acked.length}/${packet.shares}`,
            formatCents(packet.remaining),
          ],
        ],
      ),
    );
    console.log(perReplicaTable(this.replicas, attempts));
    const scrapes = await this.#scrapeMetrics();
    console.log(lockTimingTable(scrapes));
    this.#checkLedger('locked', packet, attempts);
    this.check(
      attempts.every((attempt) => attempt.status === 'granted' || attempt.status === 'empty'),
      `locked: every grab was answered with a share or "empty" (${describeOutcomes(attempts)})`,
    );
    this.check(
      packet.sharesLeft === 0,
      `locked: the packet was drained (${packet.sharesLeft} shares left)`,
    );
    this.check(
      mergeHistogram(scrapes, 'zzlock_wait_duration_seconds', { lock: PACKET_LOCK_LABEL }) !==
        undefined &&
        mergeHistogram(scrapes, 'zzlock_hold_duration_seconds', { lock: PACKET_LOCK_LABEL }) !==
          undefined,
      `metrics: /metrics has wait and hold histograms for lock="${PACKET_LOCK_LABEL}"`,
    );
  }

  async #unlockedPhase(): Promise<void> {
    const plan = UNLOCKED_PHASE;
    heading('2/4 Unlocked twin: the same load on /grab-unlocked (read, deduct, write; no lock)');
    const { packet, attempts } = await this.#runPhase(plan);
    const acked = attempts.filter((attempt) => attempt.status === 'granted');
    const paid = sumAmounts(acked);
    const overspent = paid - packet.total;
    console.log(
      renderTable(
        ['packet', 'total', 'paid out', 'shares paid', 'in stored ledger'],
        [
          [
            'unlocked',
            formatCents(packet.total),
            formatCents(paid),
            `${acked.length}/${packet.shares}`,
            String(packet.grants.length),
          ],
        ],
      ),
    );
    if (overspent > 0 || acked.length > packet.shares) {
      console.log(
        colour(
          'yellow',
          `    without the lock: ${formatCents(Math.max(0, overspent))} overspent and ` +
            `${Math.max(0, acked.length - packet.shares)} extra shares paid: replicas read the same ` +
            `remaining amount and each paid out of it; ${acked.length - packet.grants.length} grants ` +
            'vanished from the stored ledger (lost updates).',
        ),
      );
    } else {
      console.log(
        '    no overspend this time: races are timing-dependent; run again, or raise GRAB_WORK_MS.',
      );
    }
  }

  async #killPhase(): Promise<void> {
    const plan = KILL_PHASE;
    heading(
      `3/4 Failover: ${plan.requests} locked grabs on a ${plan.shares}-share packet; the replica ` +
        `holding the packet lock (else the most locks) is SIGKILLed after ${KILL_AT_FRACTION * 100} %`,
    );
    let victim: ReplicaProcess | undefined;
    let killedAt = 0;
    let killing: Promise<void> | undefined;
    const { packet, attempts } = await this.#runPhase(plan, (done, bar, soFar) => {
      if (killing !== undefined || done < plan.requests * KILL_AT_FRACTION) return;
      killing = (async () => {
        const choice = await this.#replicaHoldingMostLocks(soFar);
        victim = choice.replica;
        killedAt = Date.now();
        await victim.kill('SIGKILL');
        bar.note(
          colour(
            'yellow',
            `    killed ${victim.id} (SIGKILL) after it had served ${choice.served} grabs, ` +
              (choice.heldPacketLock
                ? 'while it held the packet lock: the others queue until its lease expires (TTL)'
                : `holding ${choice.held} lock(s) but not the packet lock`),
          ),
          done,
        );
      })();
    });
    await killing;
    const acked = attempts.filter((attempt) => attempt.status === 'granted');
    console.log(
      renderTable(
        ['packet', 'total', 'paid out', 'shares paid', 'left'],
        [
          [
            'failover',
            formatCents(packet.total),
            formatCents(sumAmounts(acked)),
            `${acked.length}/${packet.shares}`,
            formatCents(packet.remaining),
          ],
        ],
      ),
    );
    console.log(perReplicaTable(this.replicas, attempts));
    this.#checkLedger('failover', packet, attempts);
    if (victim === undefined) {
      this.check(false, 'failover: a replica was killed mid-run');
      return;
    }
    const killed = victim;
    const survivorsAfterKill = acked.filter(
      (attempt) => attempt.replica !== killed.id && attempt.answeredAt > killedAt,
    );
    const firstAfter = Math.min(...survivorsAfterKill.map((attempt) => attempt.answeredAt));
    const lostInFlight = attempts.reduce((sum, attempt) => sum + attempt.lostInFlight, 0);
    const ackedIds = new Set(acked.map((attempt) => attempt.grabId));
    const unacknowledged = packet.grants.filter((grant) => !ackedIds.has(grant.grabId));
    if (unacknowledged.length > 0) {
      console.log(
        `    ${unacknowledged.length} share(s) of ${formatCents(sumAmounts(unacknowledged))} were written by ` +
          `${[...new Set(unacknowledged.map((grant) => grant.replica))].join(', ')} just before it died: ` +
          'the ledger has them, their clients never got the answer',
      );
    }
    console.log(
      `    after the kill: ${survivorsAfterKill.length} shares paid by the survivors, the first ` +
        `${survivorsAfterKill.length > 0 ? `${((firstAfter - killedAt) / 1000).toFixed(1)} s` : '-'} ` +
        `after it; ${lostInFlight} request(s) died with ${killed.id} and were re-sent to another replica`,
    );
    const survivorScrapes = await this.#scrapeMetrics();
    const refusedStale = survivorScrapes.reduce(
      (sum, samples) =>
        sum + sumSamples(samples, 'redpacket_grabs_total', { outcome: 'stale-fence' }),
      0,
    );
    console.log(`    fenced writes refused as stale: ${refusedStale}`);
    this.check(
      killed.exit?.signal === 'SIGKILL',
      `failover: ${killed.id} died by SIGKILL (${describeExit(killed.exit)})`,
    );
    this.check(
      survivorsAfterKill.length > 0,
      `failover: the surviving replicas kept granting after the kill (${survivorsAfterKill.length} grants)`,
    );
    this.check(
      attempts.every((attempt) => attempt.status !== 'failed' && attempt.status !== 'busy'),
      `failover: every grab got an answer from a live replica (${describeOutcomes(attempts)})`,
    );
    this.check(
      packet.sharesLeft === 0,
      `failover: the packet was drained (${packet.sharesLeft} shares left)`,
    );
  }

  async #electionPhase(): Promise<void> {
    const ttlMs = Number(this.#env['ELECTION_TTL_SECONDS']) * 1000;
    heading(
      '4/4 Leader election (@LeaderOnly sweeper, @OnLeadership): the leader is SIGKILLed, then ' +
        'the next one is stopped gracefully',
    );
    const leaders = this.#leaders!;
    await this.#restartDead();
    const first = await leaders.waitFor(
      'leader among the live replicas',
      (leader) => this.#replica(leader.value)?.alive === true,
      LEADER_WAIT_MS,
    );
    const victim = this.#replica(first.value)!;
    const killedAt = performance.now();
    await victim.kill('SIGKILL');
    const second = await leaders.waitFor(
      `new leader after ${victim.id} was killed`,
      (leader) => leader.value !== victim.id,
      LEADER_WAIT_MS,
    );
    const takeoverMs = second.at - killedAt;
    console.log(
      `    killed ${victim.id} (SIGKILL) while it led (term ${first.term}): ${second.value} leads ` +
        `${formatMs(takeoverMs)} later (term ${second.term}), once etcd expired its lease`,
    );
    const stopping = this.#replica(second.value)!;
    const stoppedAt = performance.now();
    const exited = stopping.stop(10_000);
    const third = await leaders.waitFor(
      `new leader after ${stopping.id} was stopped`,
      (leader) => leader.value !== stopping.id && leader.value !== victim.id,
      LEADER_WAIT_MS,
    );
    const handoverMs = third.at - stoppedAt;
    console.log(
      `    stopped ${stopping.id} (SIGTERM): it resigned first, ${third.value} leads ` +
        `${formatMs(handoverMs)} later (term ${third.term})`,
    );
    const exit = await exited;
    console.log(this.#whoLedWhen(leaders.leaders));
    const terms = await this.#sweeperTerms();
    this.check(
      takeoverMs <= ttlMs + TAKEOVER_SLACK_MS,
      `election: a new leader within about the TTL after a SIGKILL (${formatMs(takeoverMs)}, ` +
        `TTL ${ttlMs / 1000} s)`,
    );
    this.check(
      handoverMs < HANDOVER_BOUND_MS,
      `election: a graceful stop hands over in under a second (${formatMs(handoverMs)})`,
    );
    // Nest re-raises the signal once its shutdown is done: a SIGTERM exit is a clean one; a
    // SIGKILL would be stop()'s fallback for a replica that did not finish its shutdown.
    this.check(
      exit.code === 0 || exit.signal === 'SIGTERM',
      `election: ${stopping.id} finished its shutdown by itself (${describeExit(exit)})`,
    );
    this.check(
      terms.length > 0 && terms.every((term) => term.replicas.length === 1 && term.byLeader),
      `election: every sweep ran on the leader of its term, one replica per term (${terms
        .map((term) => `term ${term.term}: ${term.replicas.join('+')} ×${term.sweeps}`)
        .join(', ')})`,
    );
  }

  /** Starts again, on a fresh port, every replica that died (phase 3 killed one). */
  async #restartDead(): Promise<void> {
    const dead = this.replicas.filter((replica) => !replica.alive);
    if (dead.length === 0) return;
    const ports = await getFreePorts(dead.length);
    const restarted = dead.map((replica, index) =>
      ReplicaProcess.start({ ...replica.options, port: ports[index]! }),
    );
    this.replicas = this.replicas.map(
      (replica) => restarted.find((fresh) => fresh.id === replica.id) ?? replica,
    );
    await Promise.all(restarted.map((replica) => replica.waitUntilHealthy(HEALTHY_TIMEOUT_MS)));
    console.log(
      `    restarted ${restarted.map((replica) => replica.id).join(', ')}: three candidates`,
    );
  }

  #replica(id: string): ReplicaProcess | undefined {
    return this.replicas.find((replica) => replica.id === id);
  }

  /** A table of every leader the demo saw, with when it led (seconds since the demo started). */
  #whoLedWhen(leaders: readonly ObservedLeader[]): string {
    const since = (at: number): string => `${((at - this.#startedAt) / 1000).toFixed(2)} s`;
    const rows = leaders.map((leader, index) => {
      const next = leaders[index + 1];
      return [
        leader.value,
        String(leader.term),
        since(leader.at),
        next === undefined ? 'still leads' : since(next.at),
      ];
    });
    return renderTable(['who led the sweeper', 'term', 'from', 'until'], rows);
  }

  /** Who swept under each term, from the records the sweeps wrote, checked against the leaders. */
  async #sweeperTerms(): Promise<
    { term: string; replicas: string[]; sweeps: number; byLeader: boolean }[]
  > {
    const survivor = this.replicas.find((replica) => replica.alive);
    if (survivor === undefined) return [];
    const records = await getJson<SweeperTermRecord[]>(`${survivor.url}/sweeper/terms`);
    const leaderOf = new Map(
      this.#leaders!.leaders.map((leader) => [String(leader.term), leader.value]),
    );
    const byTerm = new Map<string, SweeperTermRecord[]>();
    for (const record of records)
      byTerm.set(record.term, [...(byTerm.get(record.term) ?? []), record]);
    return [...byTerm.entries()].map(([term, swept]) => ({
      term,
      replicas: swept.map((record) => record.replica),
      sweeps: swept.reduce((sum, record) => sum + record.sweeps, 0),
      // A term the demo saw start must be its leader's; an earlier one (before the demo
      // followed the election) cannot be told.
      byLeader:
        !leaderOf.has(term) || swept.every((record) => record.replica === leaderOf.get(term)),
    }));
  }

  async #settlementReport(): Promise<void> {
    heading('Settlement cron (@Cron + @Locked onBusy "skip"): which replica ran each tick');
    const survivor = this.replicas.find((replica) => replica.alive);
    if (survivor === undefined) {
      this.check(false, 'settlement: a replica is alive to report the ticks');
      return;
    }
    const runs = await getJson<SettlementRecord[]>(`${survivor.url}/settlement/runs`);
    const byTick = new Map<string, string[]>();
    for (const run of runs) byTick.set(run.tick, [...(byTick.get(run.tick) ?? []), run.replica]);
    const perReplica = new Map<string, number>(this.replicas.map((replica) => [replica.id, 0]));
    for (const run of runs) perReplica.set(run.replica, (perReplica.get(run.replica) ?? 0) + 1);
    const ticks = [...byTick.entries()];
    const shown = ticks
      .slice(-8)
      .map(([tick, replicas]) => `${tick.slice(11, 19)} → ${replicas.join('+')}`);
    console.log(
      `    ${ticks.length} ticks: ${[...perReplica.entries()].map(([replica, count]) => `${replica} ×${count}`).join(', ')}`,
    );
    console.log(`    last ticks: ${shown.join(', ')}`);
    const scrapes = await this.#scrapeMetrics();
    const skipped = scrapes.reduce(
      (sum, samples) => sum + sumSamples(samples, 'zzlock_skipped_total', { lock: 'settlement' }),
      0,
    );
    console.log(
      `    runs skipped because another replica held the tick (zzlock_skipped_total, live replicas): ${skipped}`,
    );
    const doubled = ticks.filter(([, replicas]) => replicas.length > 1);
    this.check(ticks.length > 0, `settlement: ticks ran (${ticks.length})`);
    this.check(
      doubled.length === 0,
      doubled.length === 0
        ? 'settlement: every tick ran on exactly one replica'
        : `settlement: ticks ran on more than one replica: ${doubled.map(([tick, r]) => `${tick} ${r.join('+')}`).join('; ')}`,
    );
  }

  /** Creates the phase's packet, fires its load with a progress bar, reads the packet back. */
  async #runPhase(
    plan: PhasePlan,
    onProgress?: (done: number, bar: ProgressBar, soFar: readonly GrabAttempt[]) => void,
  ): Promise<PhaseResult> {
    const creator = this.replicas.find((replica) => replica.alive);
    if (creator === undefined) throw new Error('no replica is alive');
    const created = await postJson<RedPacket>(`${creator.url}/packets`, {
      total: plan.total,
      shares: plan.shares,
    });
    const soFar: GrabAttempt[] = [];
    let paid = 0;
    const bar = new ProgressBar(
      plan.requests,
      () => `paid ${formatCents(paid)} of ${formatCents(plan.total)}`,
    );
    const attempts = await runGrabLoad({
      packetId: created.id,
      endpoint: plan.endpoint,
      replicas: this.replicas,
      requests: plan.requests,
      concurrency: CONCURRENCY,
      signal: this.stopLoad.signal,
      onProgress: (done, attempt) => {
        soFar.push(attempt);
        paid += attempt.amount ?? 0;
        bar.update(done);
        onProgress?.(done, bar, soFar);
      },
    });
    if (this.stopLoad.signal.aborted) throw new Error('interrupted');
    bar.finish(attempts.length);
    return { packet: await fetchPacket(this.replicas, created.id), attempts };
  }

  /** Checks the packet's ledger against what the replicas told the clients. */
  #checkLedger(phase: string, packet: RedPacket, attempts: readonly GrabAttempt[]): void {
    const audit = auditPacket(packet);
    const acked = attempts.filter((attempt) => attempt.status === 'granted');
    const paid = sumAmounts(acked);
    const ledgerIds = new Set(packet.grants.map((grant) => grant.grabId));
    const missing = acked.filter(
      (attempt) => attempt.grabId === undefined || !ledgerIds.has(attempt.grabId),
    );
    this.check(
      paid <= packet.total && audit.overspent === 0,
      `${phase}: never overspent (paid ${formatCents(paid)} of ${formatCents(packet.total)})`,
    );
    this.check(
      audit.problems.length === 0,
      audit.problems.length === 0
        ? `${phase}: ledger + remaining = total, shares paid ≤ shares (${audit.grantCount}/${packet.shares})`
        : `${phase}: ledger is sound: ${audit.problems.join('; ')}`,
    );
    this.check(
      missing.length === 0,
      `${phase}: every share a client was told it got is in the stored ledger (${missing.length} missing)`,
    );
  }

  /**
   * Picks the replica to kill: the first seen holding the packet lock, by polling every live
   * replica's `zzlock_held_locks` (bounded); then the one holding the most locks; ties go to the
   * one that served the most grabs.
   */
  async #replicaHoldingMostLocks(soFar: readonly GrabAttempt[]): Promise<KillChoice> {
    let best: KillChoice | undefined;
    for (let round = 0; round < KILL_POLL_ROUNDS; round += 1) {
      const live = this.replicas.filter((replica) => replica.alive);
      const candidates = await Promise.all(
        live.map(async (replica): Promise<KillChoice> => {
          const samples = (await scrape(replica)) ?? [];
          return {
            replica,
            held: sumSamples(samples, 'zzlock_held_locks'),
            heldPacketLock:
              sumSamples(samples, 'zzlock_held_locks', { lock: PACKET_LOCK_LABEL }) > 0,
            served: soFar.filter(
              (attempt) => attempt.replica === replica.id && attempt.status === 'granted',
            ).length,
          };
        }),
      );
      candidates.sort(
        (a, b) =>
          Number(b.heldPacketLock) - Number(a.heldPacketLock) ||
          b.held - a.held ||
          b.served - a.served,
      );
      best = candidates[0];
      if (best === undefined || best.heldPacketLock) break;
    }
    if (best === undefined) throw new Error('no replica is alive to kill');
    return best;
  }

  /** Scrapes /metrics of every live replica. */
  async #scrapeMetrics(): Promise<PrometheusSample[][]> {
    const scrapes = await Promise.all(this.replicas.filter((replica) => replica.alive).map(scrape));
    return scrapes.filter((samples) => samples !== undefined);
  }

  /** Removes the demo's keys from a cluster the demo did not start. */
  async #deleteDemoKeys(): Promise<void> {
    const client = new Etcd3({
      hosts: this.#endpoints,
      defaultCallOptions: (context) => (context.isStream ? {} : { deadline: Date.now() + 5_000 }),
    });
    try {
      await client.delete().prefix(this.namespace);
      await client.delete().prefix(`${this.namespace.replace(/\/+$/, '')}.data/`);
    } catch (error) {
      console.error(`    could not delete the demo's keys (${String(error)})`);
    } finally {
      client.close();
    }
  }
}

/** Prints a section heading after a blank line. */
function heading(text: string): void {
  console.log(`\n${colour('bold', text)}`);
}

async function scrape(replica: ReplicaProcess): Promise<PrometheusSample[] | undefined> {
  try {
    return parsePrometheusText(await getText(`${replica.url}/metrics`));
  } catch {
    return undefined;
  }
}

function formatMs(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(2)} s`;
}

function sumAmounts(attempts: ReadonlyArray<{ readonly amount?: number }>): number {
  return attempts.reduce((sum, attempt) => sum + (attempt.amount ?? 0), 0);
}

function describeOutcomes(attempts: readonly GrabAttempt[]): string {
  const counts = new Map<string, number>();
  for (const attempt of attempts) counts.set(attempt.status, (counts.get(attempt.status) ?? 0) + 1);
  return [...counts.entries()].map(([status, count]) => `${count} ${status}`).join(', ');
}

function perReplicaTable(
  replicas: readonly ReplicaProcess[],
  attempts: readonly GrabAttempt[],
): string {
  const rows = replicas.map((replica) => {
    const mine = attempts.filter((attempt) => attempt.replica === replica.id);
    const granted = mine.filter((attempt) => attempt.status === 'granted');
    return [
      `${replica.id}${replica.alive ? '' : ' (killed)'}`,
      String(mine.length),
      String(granted.length),
      String(mine.filter((attempt) => attempt.status === 'empty').length),
      formatCents(sumAmounts(granted)),
    ];
  });
  return renderTable(['replica', 'answered', 'granted', 'empty', 'paid out'], rows);
}

function lockTimingTable(scrapes: ReadonlyArray<readonly PrometheusSample[]>): string {
  const row = (metric: string, title: string): string[] => {
    const histogram = mergeHistogram(scrapes, metric, { lock: PACKET_LOCK_LABEL });
    if (histogram === undefined) return [title, '-', '-', '0'];
    return [
      title,
      formatSeconds(histogramQuantile(0.5, histogram)),
      formatSeconds(histogramQuantile(0.99, histogram)),
      String(histogram.count),
    ];
  };
  return renderTable(
    [`lock "${PACKET_LOCK_LABEL}" (from /metrics, all replicas)`, 'p50', 'p99', 'samples'],
    [
      row('zzlock_wait_duration_seconds', 'wait for the lock'),
      row('zzlock_hold_duration_seconds', 'hold'),
    ],
  );
}

/** One line about etcd from a /health report (the sample app reports zzlock under `etcd`). */
function describeHealth(report: unknown): string {
  const details = (report as { details?: Partial<Record<string, ZZLockHealthDetails>> } | undefined)
    ?.details?.['etcd'];
  if (details?.members === undefined) return `/health: ${JSON.stringify(report).slice(0, 160)}`;
  const members = details.members.map((member) => {
    const role =
      member.memberId !== undefined && member.memberId === details.leaderId ? ' (leader)' : '';
    return member.reachable ? `${member.latencyMs} ms${role}` : 'unreachable';
  });
  return (
    `/health up: ${details.reachable}/${details.total} etcd members answered ` +
    `(${members.join(', ')}), Raft term ${details.members[0]?.raftTerm ?? '?'}`
  );
}

/** Runs the demo with a global bound, Ctrl-C handling and cleanup; returns the exit code. */
async function main(): Promise<number> {
  const demo = new Demo();
  let interrupted = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (interrupted) return;
    interrupted = true;
    console.error(`\n${signal}: stopping the replicas and etcd…`);
    void demo.cleanUp().finally(() => process.exit(130));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const timeout = setTimeout(() => {
    console.error(`\nThe demo did not finish within ${DEMO_TIMEOUT_MS / 1000} s; stopping.`);
    void demo.cleanUp().finally(() => process.exit(1));
  }, DEMO_TIMEOUT_MS);
  timeout.unref();
  try {
    await demo.run();
  } catch (error) {
    if (interrupted) return 130;
    console.error(
      colour('red', `\nDemo failed: ${error instanceof Error ? error.message : String(error)}`),
    );
    for (const replica of demo.replicas) {
      if (replica.logTail.trim() !== '') {
        console.error(
          `--- ${replica.id} (${describeExit(replica.exit)}), last output ---\n${replica.logTail.trim()}`,
        );
      }
    }
    await demo.cleanUp();
    return 1;
  }
  await demo.cleanUp();
  clearTimeout(timeout);
  if (demo.failures.length > 0) {
    console.error(colour('red', `\nDEMO FAILED: ${demo.failures.length} invariant(s) broken:`));
    for (const failure of demo.failures) console.error(`  - ${failure}`);
    return 1;
  }
  console.log(colour('green', `\nEvery invariant held. ${demo.cleanUpSummary}`));
  return 0;
}

process.exit(await main());
