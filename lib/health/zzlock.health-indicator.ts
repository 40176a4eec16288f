import { Inject, Injectable } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import {
  LockConfigError,
  LockManager,
  validateDurationMs,
  type LeaseState,
  type StoreMemberHealth,
} from '../core/index.js';
import { LeadershipRunner, type ElectionStanding } from '../leadership/leadership-runner.js';
import { ZZLOCK_MANAGER, ZZLOCK_NEST_DEFAULTS, ZZLOCK_OPTIONS } from '../zzlock.constants.js';
import type { ResolvedZZLockOptions, ZZLockStore } from '../zzlock-module-options.js';

/**
 * What one etcd member said about itself, or why it said nothing: the store-neutral
 * {@link StoreMemberHealth} under the name the health report has always used.
 *
 * @example
 * { endpoint: 'http://10.0.0.1:2379', reachable: true, latencyMs: 3, memberId: '8e9e05c52164694d',
 *   leaderId: '8e9e05c52164694d', raftTerm: 2, dbSize: 20480, errors: [] }
 */
export type EtcdMemberHealth = StoreMemberHealth;

/** The part of terminus's `HealthIndicatorService` zzlock uses (terminus stays optional). */
interface HealthIndicatorServiceLike {
  check(key: string): {
    up(data: object): Record<string, unknown>;
    down(data: object): Record<string, unknown>;
  };
}

/**
 * One election that `@LeaderOnly` or `@OnLeadership` methods declare, as the health report shows
 * it: whether this replica leads, and who does.
 *
 * @example
 * { name: 'ingest', leading: false, leader: { value: 'api-2:4242', term: '1042' } }
 */
export interface ZZLockElectionHealth {
  /** The election. */
  name: string;
  /** True while this replica leads it. */
  leading: boolean;
  /**
   * The leader: what it proclaims and its term (a decimal string: JSON has no bigint), or `null`
   * when no one leads. Absent when it could not be read within the probe deadline (see `error`).
   */
  leader?: { value: string; term: string } | null;
  /** Why the leader is unknown, or why this replica gave its candidacy up (etcd refused it). */
  error?: string;
}

/**
 * What the zzlock health indicator reports under its key.
 *
 * @example
 * { status: 'up', store: 'etcd', reachable: 3, total: 3, leaderId: '8e9e05c52164694d',
 *   members: [{ endpoint: 'http://etcd-0:2379', reachable: true, latencyMs: 2.1, … }],
 *   leases: [{ ttl: 15, leaseId: '694d8a…', sinceKeepaliveMs: 812, lost: false }] }
 */
export interface ZZLockHealthDetails {
  /** The lock store. */
  store: ZZLockStore;
  /** Members that answered (etcd only). */
  reachable?: number;
  /** Configured members (etcd only). */
  total?: number;
  /** The leader the reachable members report, in hex (etcd only). */
  leaderId?: string;
  /** Per-member probe results, in the order of the configured endpoints (etcd only). */
  members?: EtcdMemberHealth[];
  /** The lease behind each TTL in use by this process (etcd only). */
  leases?: LeaseState[];
  /**
   * The elections this application's `@LeaderOnly` and `@OnLeadership` methods declare (absent
   * when there are none). They never make the check down: a follower is healthy.
   */
  elections?: ZZLockElectionHealth[];
  /** Why the store is considered down. */
  message?: string;
}

/**
 * The indicator's result, shaped like terminus's `HealthIndicatorResult`: pass it straight to
 * `HealthCheckService.check()`.
 *
 * @example
 * { zzlock: { status: 'up', store: 'memory' } }
 */
export type ZZLockHealthResult<Key extends string = string> = Record<
  Key,
  ZZLockHealthDetails & { status: 'up' | 'down' }
>;

/**
 * Options of one health check.
 *
 * @example
 * { probeTimeoutMs: 500 }
 */
export interface ZZLockHealthCheckOptions {
  /**
   * Deadline of each member's probe, in ms.
   * @default 1000
   */
  probeTimeoutMs?: number;
}

/**
 * Health of zzlock's lock store for `@nestjs/terminus` (11 or later; an optional peer, loaded
 * only when a check runs). For etcd it probes every configured member with a short deadline of
 * its own (not `callTimeoutMs`), through the long-lived client the lock store keeps for that
 * member (a probe opens no connection, however often Kubernetes asks), reporting per member:
 * reachable, latency, member id, leader id, Raft term, db size and errors (alarms), plus this
 * process's session leases and, for each election its `@LeaderOnly` and `@OnLeadership` methods
 * declare, whether this replica leads it and who does (read within the same deadline; elections
 * never make the check down). It is down when:
 * - a majority of the configured members is unreachable;
 * - no reachable member knows a leader (the cluster has no quorum). The rule is "a reachable
 *   member knows a leader", not "the leader itself is reachable": `endpoints` may list only part
 *   of the cluster (a proxy, a subset of members), so the leader may well be healthy and simply
 *   not among the probed endpoints;
 * - a reachable member reports an alarm `NOSPACE` or `CORRUPT`: etcd then refuses writes, so no
 *   lock can be taken (NOSPACE: compact and defragment, then `etcdctl alarm disarm`);
 * - zzlock is shutting down or has shut down (it takes no new locks; once shut down, members are
 *   reported as not probed).
 *
 * A memory store is always up.
 *
 * Provided and exported by `ZZLockModule`.
 *
 * @example
 * @Controller('health')
 * export class HealthController {
 *   constructor(private readonly health: HealthCheckService, private readonly zzlock: ZZLockHealthIndicator) {}
 *
 *   @Get()
 *   @HealthCheck()
 *   check() {
 *     return this.health.check([() => this.zzlock.isHealthy('locks')]);
 *   }
 * }
 */
@Injectable()
export class ZZLockHealthIndicator {
  #indicators?: Promise<HealthIndicatorServiceLike>;

  /**
   * @param options The validated module options (`ZZLOCK_OPTIONS`).
   * @param manager The lock manager (`ZZLOCK_MANAGER`): its backend probes the members and gives
   *   the session leases.
   * @param moduleRef Finds terminus's `HealthIndicatorService`.
   * @param leadership This module's elections (internal).
   */
  constructor(
    @Inject(ZZLOCK_OPTIONS) private readonly options: ResolvedZZLockOptions,
    @Inject(ZZLOCK_MANAGER) private readonly manager: LockManager,
    private readonly moduleRef: ModuleRef,
    private readonly leadership: LeadershipRunner,
  ) {}

  /**
   * Probes the lock store and reports it under `key`.
   * @param key The key of the result in terminus's report.
   * @default key 'zzlock'
   * @throws LockConfigError when `@nestjs/terminus` is not installed, or an option is invalid
   * @example
   * await zzlockHealth.isHealthy(); // { zzlock: { status: 'up', store: 'etcd', members: [...] } }
   */
  async isHealthy<const Key extends string = 'zzlock'>(
    key: Key = ZZLOCK_NEST_DEFAULTS.healthKey as Key,
    options: ZZLockHealthCheckOptions = {},
  ): Promise<ZZLockHealthResult<Key>> {
    const probeTimeoutMs = validateDurationMs(
      options.probeTimeoutMs ?? ZZLOCK_NEST_DEFAULTS.healthProbeTimeoutMs,
      'probeTimeoutMs',
      false,
    );
    const session = (await this.#indicatorService()).check(key);
    const [{ details, up }, elections] = await Promise.all([
      this.#probe(probeTimeoutMs),
      this.#elections(probeTimeoutMs),
    ]);
    if (elections.length > 0) details.elections = elections;
    return (up ? session.up(details) : session.down(details)) as ZZLockHealthResult<Key>;
  }

  async #probe(probeTimeoutMs: number): Promise<{ details: ZZLockHealthDetails; up: boolean }> {
    if (this.options.store === 'memory') return { details: { store: 'memory' }, up: true };
    const { backend } = this.manager;
    const members = await backend.probeMembers(probeTimeoutMs);
    const reachable = members.filter((member) => member.reachable);
    const leaderId = reachable.find((member) => member.leaderId !== undefined)?.leaderId;
    const details: ZZLockHealthDetails = {
      store: 'etcd',
      reachable: reachable.length,
      total: members.length,
      leaderId,
      members,
      leases: backend.leaseStates(),
    };
    if (this.manager.closing) {
      details.message = 'zzlock is shutting down or has shut down, so it takes no new locks';
      return { details, up: false };
    }
    if ((members.length - reachable.length) * 2 > members.length) {
      details.message = `a majority of etcd members is unreachable (${reachable.length} of ${members.length} answered)`;
      return { details, up: false };
    }
    if (leaderId === undefined) {
      details.message = 'no reachable etcd member knows a leader: the cluster has no quorum';
      return { details, up: false };
    }
    const alarms = writeBlockingAlarms(reachable);
    if (alarms.length > 0) {
      details.message = alarmMessage(alarms);
      return { details, up: false };
    }
    return { details, up: true };
  }

  /** Each declared election: this replica's standing, and the leader read within the deadline. */
  #elections(probeTimeoutMs: number): Promise<ZZLockElectionHealth[]> {
    return Promise.all(
      this.leadership.standings().map(async (standing) => {
        const health: ZZLockElectionHealth = { name: standing.name, leading: standing.leading };
        if (standing.refusal !== undefined) health.error = String(standing.refusal);
        if (standing.leading && standing.term !== undefined) {
          health.leader = { value: standing.value, term: String(standing.term) };
          return health;
        }
        const read = await this.#readLeader(standing, probeTimeoutMs);
        if ('error' in read) health.error ??= read.error;
        else health.leader = read.leader;
        return health;
      }),
    );
  }

  async #readLeader(
    standing: ElectionStanding,
    timeoutMs: number,
  ): Promise<{ leader: ZZLockElectionHealth['leader'] } | { error: string }> {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<{ error: string }>((resolve) => {
      timer = setTimeout(
        () => resolve({ error: `the leader could not be read within ${timeoutMs} ms` }),
        timeoutMs,
      );
    });
    const read = this.manager
      .election(standing.name)
      .leader()
      .then(
        (leader) => ({
          leader: leader === null ? null : { value: leader.value, term: String(leader.term) },
        }),
        (error: unknown) => ({ error: `the leader could not be read: ${String(error)}` }),
      );
    try {
      return await Promise.race([read, deadline]);
    } finally {
      clearTimeout(timer);
    }
  }

  #indicatorService(): Promise<HealthIndicatorServiceLike> {
    this.#indicators ??= (async () => {
      let terminus: typeof import('@nestjs/terminus');
      try {
        terminus = await import('@nestjs/terminus');
      } catch (error) {
        this.#indicators = undefined;
        throw new LockConfigError(
          'health',
          'ZZLockHealthIndicator needs @nestjs/terminus 11 or later: npm install @nestjs/terminus',
          error instanceof Error ? error.message : String(error),
        );
      }
      try {
        return this.moduleRef.get(terminus.HealthIndicatorService, { strict: false });
      } catch {
        return new terminus.HealthIndicatorService();
      }
    })();
    return this.#indicators;
  }
}

/** etcd alarms under which the cluster refuses writes, hence lock acquisitions. */
type WriteBlockingAlarm = 'NOSPACE' | 'CORRUPT';

/**
 * The write-blocking alarms the members report. etcd's status lists each active alarm as an
 * error such as `memberID:10276657743932975437 alarm:NOSPACE `.
 */
function writeBlockingAlarms(members: readonly EtcdMemberHealth[]): WriteBlockingAlarm[] {
  const found = new Set<WriteBlockingAlarm>();
  for (const member of members) {
    for (const error of member.errors ?? []) {
      const alarm = /\balarm:\s*(NOSPACE|CORRUPT)\b/.exec(error)?.[1] as
        WriteBlockingAlarm | undefined;
      if (alarm !== undefined) found.add(alarm);
    }
  }
  return [...found].sort();
}

function alarmMessage(alarms: readonly WriteBlockingAlarm[]): string {
  const remedies = alarms.map((alarm) =>
    alarm === 'NOSPACE'
      ? 'NOSPACE: the database exceeded its quota (--quota-backend-bytes); compact the history, ' +
        'defragment every member, then disarm the alarm (etcdctl alarm disarm)'
      : "CORRUPT: a member's data is corrupt; restore it from a snapshot, then disarm the alarm " +
        '(etcdctl alarm disarm)',
  );
  return `etcd refuses writes, so no lock can be acquired: alarm ${remedies.join('; alarm ')}`;
}
