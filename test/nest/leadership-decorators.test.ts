// @LeaderOnly and @OnLeadership on a real etcd, two applications in one process standing in the
// same election: the first to bootstrap leads, the other's @LeaderOnly jobs (above or below @Cron)
// skip; health and metrics of both say who leads; closing the leader aborts its signal, waits for
// its method and resigns, and the other leads at once; an etcd frozen past the lease makes the
// leader lose its leadership, and its candidacy campaigns once and waits the outage out (no
// loop), then leads again; nothing is left in etcd.
import 'reflect-metadata';
import assert from 'node:assert/strict';
import { setTimeout as delay } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { Injectable, Module, type INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Cron, ScheduleModule, SchedulerRegistry } from '@nestjs/schedule';
import { Registry } from 'prom-client';
import {
  LeaderOnly,
  LockClientClosedError,
  LockLostError,
  LockService,
  OnLeadership,
  ZZLockHealthIndicator,
  ZZLockModule,
  type Leadership,
  type LeadershipChangeEvent,
} from '../../lib/index.js';
import { startEtcd, type EtcdCluster } from '../support/index.js';
import { leftovers, waitFor } from './helpers.js';

const namespace = 'nest-leadership/';
const NEVER = '0 0 1 1 *'; // once a year: registered, fired by hand
const TTL = 2;

/** One application: its leaderships, what its methods did, its events. */
interface Replica {
  readonly app: INestApplicationContext;
  readonly registry: Registry;
  readonly jobs: Jobs;
}

@Injectable()
class Jobs {
  readonly leaderships: Leadership[] = [];
  /** When each term's method started and ended (performance.now(): one clock for both apps). */
  readonly ledAt: number[] = [];
  readonly endedAt: number[] = [];
  readonly log: string[] = [];
  readonly events: LeadershipChangeEvent[] = [];

  constructor(locks: LockService) {
    locks.observe({ leadership: (event) => this.events.push(event) });
  }

  @OnLeadership('ingest')
  async lead(leadership: Leadership): Promise<void> {
    this.leaderships.push(leadership);
    this.ledAt.push(performance.now());
    await new Promise<void>((resolve) =>
      leadership.signal.addEventListener('abort', () => resolve(), { once: true }),
    );
    await delay(50); // winding down: shutdown must wait for it before resigning
    this.endedAt.push(performance.now());
  }

  @Cron(NEVER, { name: 'below' })
  @LeaderOnly('ingest')
  below(): string {
    this.log.push('below');
    return 'ran';
  }

  @LeaderOnly('ingest')
  @Cron(NEVER, { name: 'above' })
  above(): string {
    this.log.push('above');
    return 'ran';
  }
}

describe('@LeaderOnly and @OnLeadership on etcd, two applications in one election', () => {
  let etcd: EtcdCluster;
  let first: Replica;
  let second: Replica;

  const start = async (value: string): Promise<Replica> => {
    const registry = new Registry();
    @Module({
      imports: [
        ScheduleModule.forRoot(),
        ZZLockModule.forRoot({
          endpoints: etcd.endpoints,
          namespace,
          callTimeoutMs: 1_000,
          metrics: { registry },
          elections: { value, ttl: TTL },
        }),
      ],
      providers: [Jobs],
    })
    class ReplicaModule {}
    const app = await NestFactory.createApplicationContext(ReplicaModule, { logger: false });
    return { app, registry, jobs: app.get(Jobs) };
  };
  const fire = async (replica: Replica): Promise<void> => {
    const schedule = replica.app.get(SchedulerRegistry);
    await schedule.getCronJob('above').fireOnTick();
    await schedule.getCronJob('below').fireOnTick();
  };

  before(async () => {
    etcd = await startEtcd();
    first = await start('first');
    await waitFor('the first to lead', () => first.jobs.leaderships.length === 1);
    second = await start('second');
    await waitFor('the second to campaign', () =>
      second.jobs.events.some((event) => event.change === 'campaigning'),
    );
  });
  after(async () => {
    await first?.app.close();
    await second?.app.close();
    if (etcd) {
      assert.deepEqual(await leftovers(etcd.endpoints, namespace), { keys: [], leases: [] });
      await etcd.stop();
    }
  });

  it('runs @LeaderOnly jobs, above or below @Cron, on the leader only', async () => {
    await fire(first);
    await fire(second);
    await waitFor('both jobs on the leader', () => first.jobs.log.length === 2);
    assert.deepEqual([...first.jobs.log].sort(), ['above', 'below']);
    assert.deepEqual(second.jobs.log, []);
    assert.equal(await second.jobs.above(), undefined);
    assert.equal(await first.jobs.above(), 'ran');
  });

  it('reports who leads in health and metrics, on the leader and the follower', async () => {
    const term = String(first.jobs.leaderships[0]!.term);
    for (const [replica, leading] of [
      [first, true],
      [second, false],
    ] as const) {
      const health = await replica.app.get(ZZLockHealthIndicator).isHealthy();
      assert.equal(health.zzlock.status, 'up');
      assert.deepEqual(health.zzlock.elections, [
        { name: 'ingest', leading, leader: { value: 'first', term } },
      ]);
      const metrics = await replica.registry.metrics();
      assert.match(
        metrics,
        new RegExp(`^zzlock_leader\\{election="ingest"\\} ${leading ? 1 : 0}$`, 'm'),
      );
    }
    assert.match(
      await second.registry.metrics(),
      /^zzlock_leader_only_skipped_total\{election="ingest"\} 3$/m,
    );
    assert.match(
      await first.registry.metrics(),
      /^zzlock_leadership_changes_total\{election="ingest",change="elected"\} 1$/m,
    );
  });

  it('hands over on close: aborts the signal, waits for the method, resigns, then the other leads', async () => {
    const [leadership] = first.jobs.leaderships;
    await first.app.close();
    assert.ok(leadership!.signal.reason instanceof LockClientClosedError);
    assert.equal(first.jobs.endedAt.length, 1, 'close() waited for the method to end');
    assert.deepEqual(
      first.jobs.events.map(({ change }) => change),
      ['campaigning', 'elected', 'resigned'],
    );
    await waitFor('the second to lead', () => second.jobs.leaderships.length === 1);
    const elected = second.jobs.events.find((event) => event.change === 'elected')!;
    assert.ok(elected.term! > leadership!.term);
    assert.ok(
      first.jobs.endedAt[0]! <= second.jobs.ledAt[0]!,
      'the first ended its method before its resign let the second lead',
    );
    assert.equal(await second.jobs.above(), 'ran');
  });

  it('loses the leadership while etcd is frozen, campaigns once, waits the outage out, leads again', async () => {
    const [leadership] = second.jobs.leaderships;
    const member = etcd.members[0]!;
    await etcd.freeze(member);
    try {
      await waitFor('the loss', () => leadership!.signal.aborted, (TTL + 5) * 1000);
      assert.ok(leadership!.signal.reason instanceof LockLostError);
      const lostAt = second.jobs.events.findIndex((event) => event.change === 'lost');
      assert.ok(lostAt > 0);
      await waitFor('a campaign after the loss', () =>
        second.jobs.events.slice(lostAt).some((event) => event.change === 'campaigning'),
      );
      // Frozen a while longer: a candidacy that looped would campaign again and again meanwhile.
      await delay(3_000);
      assert.deepEqual(
        second.jobs.events.slice(lostAt).map(({ change }) => change),
        ['lost', 'campaigning'],
      );
    } finally {
      await etcd.thaw(member);
    }
    await waitFor('the next term', () => second.jobs.leaderships.length === 2, 20_000);
    assert.ok(second.jobs.leaderships[1]!.term > leadership!.term);
    assert.equal(await second.jobs.above(), 'ran');
  });
});
