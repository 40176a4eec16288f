// ZZLockHealthIndicator through terminus, on a real 3-member etcd cluster: up with per-member
// details, one member down while the whole stays up, no quorum → down; an etcd over its space
// quota (NOSPACE alarm: writes refused) → down; probes again and again open no new connection
// (they reuse the backend's member clients), and after shutdown it is down without throwing; a
// memory store is up.
import 'reflect-metadata';
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Controller, Get, Module, type INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Test } from '@nestjs/testing';
import { HealthCheck, HealthCheckService, TerminusModule } from '@nestjs/terminus';
import { Etcd3 } from 'etcd3';
import {
  LockService,
  StoreRejectedError,
  ZZLockHealthIndicator,
  ZZLockModule,
  type EtcdMemberHealth,
  type LockHandle,
  type ZZLockHealthDetails,
} from '../../lib/index.js';
import {
  startEtcd,
  startEtcdCluster,
  startTcpProxy,
  type EtcdCluster,
  type TcpProxy,
} from '../support/index.js';
import { waitFor } from './helpers.js';

const namespace = 'nest-health/';

interface HealthBody {
  status: 'ok' | 'error';
  details: { locks: ZZLockHealthDetails & { status: 'up' | 'down' } };
}

describe('ZZLockHealthIndicator on a 3-member etcd cluster', () => {
  let cluster: EtcdCluster;
  let app: INestApplication;
  let base: string;
  let lock: LockHandle | undefined;

  const health = async (): Promise<{ code: number; body: HealthBody }> => {
    const response = await fetch(`${base}/health`);
    return { code: response.status, body: (await response.json()) as HealthBody };
  };
  const member = (body: HealthBody, endpoint: string): EtcdMemberHealth => {
    const found = body.details.locks.members?.find((m) => m.endpoint === endpoint);
    assert.ok(found, `no report for ${endpoint}`);
    return found;
  };

  before(async () => {
    cluster = await startEtcdCluster({ members: 3 });

    @Controller('health')
    class HealthController {
      constructor(
        private readonly checks: HealthCheckService,
        private readonly zzlock: ZZLockHealthIndicator,
      ) {}

      @Get()
      @HealthCheck()
      check() {
        return this.checks.check([() => this.zzlock.isHealthy('locks', { probeTimeoutMs: 500 })]);
      }
    }

    @Module({
      imports: [
        TerminusModule,
        ZZLockModule.forRoot({
          endpoints: cluster.endpoints,
          namespace,
          ttl: 10,
          callTimeoutMs: 1_000,
          shutdownGraceMs: 0,
        }),
      ],
      controllers: [HealthController],
    })
    class HealthAppModule {}

    app = await NestFactory.create(HealthAppModule, { logger: false });
    await app.listen(0, '127.0.0.1');
    base = await app.getUrl();
  });
  after(async () => {
    await lock?.release();
    await app?.close();
    await cluster?.stop();
  });

  it('is up with details of every member and of the session lease', async () => {
    lock = await app.get(LockService).acquire('health-probe');
    const { code, body } = await health();
    assert.equal(code, 200, JSON.stringify(body));
    const locks = body.details.locks;
    assert.equal(locks.status, 'up');
    assert.equal(locks.store, 'etcd');
    assert.equal(locks.reachable, 3);
    assert.equal(locks.total, 3);
    assert.deepEqual(
      locks.members?.map((m) => m.endpoint),
      cluster.endpoints,
    );
    const ids = new Set<string>();
    for (const m of locks.members ?? []) {
      assert.equal(m.reachable, true);
      assert.match(m.memberId ?? '', /^[0-9a-f]+$/);
      assert.equal(m.leaderId, locks.leaderId);
      assert.ok(Number.isInteger(m.raftTerm) && m.raftTerm! >= 1);
      assert.ok(typeof m.dbSize === 'number' && m.dbSize > 0);
      assert.ok(typeof m.latencyMs === 'number' && m.latencyMs >= 0);
      assert.deepEqual(m.errors, []);
      ids.add(m.memberId!);
    }
    assert.equal(ids.size, 3);
    assert.ok(ids.has(locks.leaderId!));
    assert.equal(locks.leases?.length, 1);
    assert.equal(locks.leases?.[0]?.ttl, 10);
    assert.equal(locks.leases?.[0]?.lost, false);
  });

  it('reports a stopped member as unreachable while the whole stays up', async () => {
    const leader = await cluster.leader();
    const stopped = cluster.members.find((m) => m !== leader)!;
    await cluster.kill(stopped);
    const { code, body } = await health();
    assert.equal(code, 200, JSON.stringify(body));
    assert.equal(body.details.locks.status, 'up');
    assert.equal(body.details.locks.reachable, 2);
    const down = member(body, stopped.clientUrl);
    assert.equal(down.reachable, false);
    assert.equal(typeof down.error, 'string');
    assert.equal(down.memberId, undefined);
    assert.equal(member(body, leader.clientUrl).reachable, true);
  });

  it('is down without a quorum (2 of 3 members stopped)', async () => {
    const leader = await cluster.leader();
    await cluster.kill(leader);
    let last: { code: number; body: HealthBody } | undefined;
    await waitFor('health to report down', async () => {
      last = await health();
      return last.code === 503;
    });
    const locks = last!.body.details.locks;
    assert.equal(last!.body.status, 'error');
    assert.equal(locks.status, 'down');
    assert.equal(locks.reachable, 1);
    assert.match(locks.message ?? '', /majority of etcd members is unreachable/);
    assert.equal(locks.members?.filter((m) => !m.reachable).length, 2);
  });
});

describe('ZZLockHealthIndicator when etcd raises a NOSPACE alarm', () => {
  const quotaBytes = 1024 * 1024;
  let etcd: EtcdCluster;

  before(async () => {
    etcd = await startEtcd({ extraArgs: ['--quota-backend-bytes', String(quotaBytes)] });
  });
  after(async () => etcd?.stop());

  it('is down, saying that writes are refused and what to do, once etcd is over its quota', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [ZZLockModule.forRoot({ endpoints: etcd.endpoints, namespace, metrics: false })],
    }).compile();
    await moduleRef.init();
    const indicator = moduleRef.get(ZZLockHealthIndicator);
    const filler = new Etcd3({ hosts: etcd.endpoints });
    try {
      assert.equal((await indicator.isHealthy('locks')).locks.status, 'up');

      // Fill the 1 MiB backend until etcd refuses a put and raises the alarm.
      const value = Buffer.alloc(64 * 1024, 'x');
      let refused: unknown;
      for (let index = 0; index < 200 && refused === undefined; index += 1) {
        await filler
          .put(`fill/${index}`)
          .value(value)
          .catch((error: unknown) => (refused = error));
      }
      assert.match(String(refused), /database space exceeded/);

      const { locks } = await indicator.isHealthy('locks');
      assert.equal(locks.status, 'down', JSON.stringify(locks));
      assert.equal(locks.reachable, 1);
      assert.match(locks.members?.[0]?.errors?.join(' ') ?? '', /alarm:NOSPACE/);
      assert.match(locks.message ?? '', /etcd refuses writes, so no lock can be acquired/);
      assert.match(locks.message ?? '', /NOSPACE/);
      assert.match(locks.message ?? '', /compact.*defragment.*etcdctl alarm disarm/);
      // And it is right: the lock service cannot take a lock.
      await assert.rejects(
        moduleRef.get(LockService).acquire('after-nospace', { waitMs: 0 }),
        StoreRejectedError,
      );
    } finally {
      filler.close();
      await moduleRef.close();
    }
  });
});

describe('ZZLockHealthIndicator probed again and again (as Kubernetes does)', () => {
  let etcd: EtcdCluster;
  /** Two endpoints, each a proxy to the one member that counts the connections made to it. */
  let proxies: TcpProxy[] = [];

  before(async () => {
    etcd = await startEtcd();
    proxies = [await startTcpProxy(etcd.endpoints[0]!), await startTcpProxy(etcd.endpoints[0]!)];
  });
  after(async () => {
    await Promise.all(proxies.map((proxy) => proxy.close()));
    await etcd?.stop();
  });

  it('opens no connection per probe, keeps its own deadline, and is down without throwing once shut down', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [
        ZZLockModule.forRoot({
          endpoints: proxies.map((proxy) => proxy.endpoint),
          namespace,
          metrics: false,
          shutdownGraceMs: 0,
        }),
      ],
    }).compile();
    await moduleRef.init();
    const indicator = moduleRef.get(ZZLockHealthIndicator);
    const probe = () => indicator.isHealthy('locks', { probeTimeoutMs: 500 });
    let closed = false;
    try {
      const lock = await moduleRef.get(LockService).acquire('probed');
      const first = (await probe()).locks;
      assert.equal(first.status, 'up', JSON.stringify(first));
      assert.equal(first.reachable, 2);
      const accepted = proxies.map((proxy) => proxy.accepted);
      for (let round = 0; round < 20; round += 1) {
        const { locks } = await probe();
        assert.equal(locks.status, 'up', JSON.stringify(locks));
        assert.equal(locks.reachable, 2);
      }
      assert.deepEqual(
        proxies.map((proxy) => proxy.accepted),
        accepted,
        '20 probes of 2 members opened no connection to etcd',
      );

      // A member that hangs is unreachable after the probe's own deadline (300 ms), not after
      // callTimeoutMs (5 s by default), the deadline of the long-lived client's calls.
      proxies[1]!.stall();
      const stalled = (await indicator.isHealthy('locks', { probeTimeoutMs: 300 })).locks;
      proxies[1]!.restore();
      assert.equal(stalled.reachable, 1, JSON.stringify(stalled));
      assert.equal(stalled.members?.[1]?.reachable, false);
      assert.match(stalled.members?.[1]?.error ?? '', /no answer within 300 ms/);
      await lock.release();

      const beforeShutdown = proxies.map((proxy) => proxy.accepted);
      await moduleRef.close();
      closed = true;
      const { locks } = await probe();
      assert.equal(locks.status, 'down', JSON.stringify(locks));
      assert.match(locks.message ?? '', /zzlock is shutting down or has shut down/);
      assert.equal(locks.members?.length, 2);
      for (const member of locks.members ?? []) {
        assert.equal(member.reachable, false);
        assert.match(member.error ?? '', /not probed: the lock client is closing or closed/);
      }
      assert.deepEqual(
        proxies.map((proxy) => proxy.accepted),
        beforeShutdown,
        'no connection once shut down',
      );
    } finally {
      if (!closed) await moduleRef.close();
    }
  });
});

describe('ZZLockHealthIndicator with a memory store', () => {
  it('is up and says so, without TerminusModule imported', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [ZZLockModule.forRoot({ store: 'memory' })],
    }).compile();
    try {
      assert.deepEqual(await moduleRef.get(ZZLockHealthIndicator).isHealthy(), {
        zzlock: { status: 'up', store: 'memory' },
      });
    } finally {
      await moduleRef.close();
    }
  });
});
