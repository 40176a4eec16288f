// Prometheus series after locking (labelled by declared name and by mode, never per-entity keys; a
// call that gives no label gets one constant label, whatever its name), and a shutdown that stops
// new acquisitions (a request waiting for a lock answers 503 before the HTTP server closes), lets
// running holders finish, and leaves no keys or leases.
import 'reflect-metadata';
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Controller, Get, Injectable, Module, Param, type INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Test } from '@nestjs/testing';
import { Registry, register } from 'prom-client';
import {
  Locked,
  LockBusyError,
  LockClient,
  LockClientClosedError,
  LockService,
  ZZLOCK_MANAGER,
  ZZLockModule,
  type LockManager,
  type LockUnavailableResponseBody,
  type ZZLockModuleOptions,
} from '../../lib/index.js';
import { startEtcd, type EtcdCluster } from '../support/index.js';
import { leftovers, waitFor } from './helpers.js';

const namespace = 'nest-metrics/';

@Injectable()
class Jobs {
  slowStarted = false;
  releaseSlow!: () => void;

  @Locked((id: string) => `order:${id}`, { label: 'order' })
  async order(id: string): Promise<string> {
    return id;
  }

  @Locked((id: string) => `order:${id}`, { label: 'order', waitMs: 10_000 })
  async orderPatiently(id: string): Promise<string> {
    return id;
  }

  @Locked('nightly', { onBusy: 'skip' })
  async nightly(): Promise<string> {
    return 'ran';
  }

  @Locked('slow')
  async slow(): Promise<string> {
    this.slowStarted = true;
    await new Promise<void>((resolve) => (this.releaseSlow = resolve));
    return 'slow done';
  }

  @Locked('min-hold', { minHoldMs: 60_000 })
  async minHold(): Promise<string> {
    return 'returned';
  }
}

@Controller('wait')
class WaitController {
  /** Waits for its lock without bound: only shutdown can end the wait. */
  @Get(':name')
  @Locked((name: string) => name, { waitMs: Infinity, retryAfter: 2 })
  wait(@Param('name') name: string) {
    return { name };
  }
}

function appModule(options: ZZLockModuleOptions) {
  @Module({
    imports: [ZZLockModule.forRoot(options)],
    controllers: [WaitController],
    providers: [Jobs],
  })
  class AppModule {}
  return AppModule;
}

describe('metrics and shutdown on etcd', () => {
  let etcd: EtcdCluster;
  let other: LockClient;
  const apps: INestApplication[] = [];

  const start = async (options: Partial<ZZLockModuleOptions> = {}) => {
    const app = await NestFactory.create(
      appModule({ endpoints: etcd.endpoints, namespace, ...options }),
      { logger: false },
    );
    app.enableShutdownHooks();
    await app.listen(0, '127.0.0.1');
    apps.push(app);
    return app;
  };

  before(async () => {
    etcd = await startEtcd();
    other = new LockClient({ endpoints: etcd.endpoints, namespace });
  });
  after(async () => {
    await Promise.all(apps.map((app) => app.close()));
    await other?.close();
    await etcd?.stop();
  });

  it('exposes every zzlock series after locking, labelled by the declared name', async () => {
    const registry = new Registry();
    const app = await start({ metrics: { registry } });
    const jobs = app.get(Jobs);

    assert.equal(await jobs.order('1'), '1');
    assert.equal(await jobs.order('2'), '2');

    const busy = await other.acquire('order:3');
    await assert.rejects(jobs.order('3'), LockBusyError);
    const waiting = jobs.orderPatiently('3');
    await waitFor(
      'the waiter to queue',
      async () => (await leftovers(etcd.endpoints, namespace)).keys.length === 2,
    );
    await busy.release();
    assert.equal(await waiting, '3');

    const nightly = await other.acquire('nightly');
    assert.equal(await jobs.nightly(), undefined);
    await nightly.release();

    const text = await registry.metrics();
    for (const series of [
      'zzlock_acquire_duration_seconds_count{lock="order",mode="exclusive",outcome="acquired"} 3',
      'zzlock_acquire_duration_seconds_count{lock="order",mode="exclusive",outcome="busy"} 1',
      'zzlock_acquire_duration_seconds_count{lock="nightly",mode="exclusive",outcome="busy"} 1',
      'zzlock_wait_duration_seconds_count{lock="order",mode="exclusive"} 1',
      'zzlock_hold_duration_seconds_count{lock="order",mode="exclusive"} 3',
      'zzlock_held_locks{lock="order",mode="exclusive"} 0',
      'zzlock_contended_total{lock="order",mode="exclusive"} 2',
      'zzlock_contended_total{lock="nightly",mode="exclusive"} 1',
      'zzlock_skipped_total{lock="nightly",mode="exclusive"} 1',
      '# TYPE zzlock_lost_total counter',
      '# TYPE zzlock_store_errors_total counter',
    ]) {
      assert.ok(text.includes(series), `missing ${series} in\n${text}`);
    }
    assert.doesNotMatch(text, /order:\d/, 'no per-entity key as a label');
    await app.close();
    apps.splice(apps.indexOf(app), 1);
  });

  it('shuts down in order: no new acquisitions, running holders finish, then no keys or leases', async () => {
    const app = await start({ metrics: false, shutdownGraceMs: 20_000 });
    const jobs = app.get(Jobs);
    const manager = app.get<LockManager>(ZZLOCK_MANAGER);

    assert.equal(await jobs.minHold(), 'returned'); // kept by minHoldMs well past shutdown
    let slowDone = false;
    const slow = jobs.slow().then((result) => ((slowDone = true), result));
    await waitFor('the slow holder to start', () => jobs.slowStarted);
    assert.equal(manager.heldCount, 2);

    let closed = false;
    const closing = app.close().then(() => (closed = true));
    await waitFor('shutdown to start', () => manager.closing);
    await assert.rejects(jobs.order('late'), LockClientClosedError);
    assert.equal(await jobs.nightly(), undefined, "onBusy 'skip' skips during shutdown");
    assert.equal(closed, false, 'close waits for the running holder');

    jobs.releaseSlow();
    assert.equal(await slow, 'slow done');
    await closing;
    assert.ok(slowDone);
    assert.equal(manager.heldCount, 0);
    apps.splice(apps.indexOf(app), 1);

    await other.close(); // the test's own client, which held locks in the previous test
    assert.deepEqual(await leftovers(etcd.endpoints, namespace), { keys: [], leases: [] });
  });
});

describe('shutdown with requests waiting for a lock', () => {
  let etcd: EtcdCluster;

  before(async () => (etcd = await startEtcd()));
  after(async () => etcd?.stop());

  // Without a timeout, the bug this guards against (the waiting request keeping the HTTP server,
  // hence close(), open until waitMs: forever) would hang the run instead of failing it.
  it(
    'ends a request waiting for a lock with 503 + Retry-After, and close() resolves',
    { timeout: 30_000 },
    async () => {
      const holder = new LockClient({ endpoints: etcd.endpoints, namespace });
      const app = await NestFactory.create(
        appModule({ endpoints: etcd.endpoints, namespace, metrics: false }),
        { logger: false },
      );
      await app.listen(0, '127.0.0.1');
      const base = await app.getUrl();
      let closed: Promise<void> | undefined;
      try {
        const held = await holder.acquire('queued');
        const answer = fetch(`${base}/wait/queued`);
        await waitFor(
          'the request to queue behind the holder',
          async () => (await leftovers(etcd.endpoints, namespace)).keys.length === 2,
        );

        closed = app.close();
        const response = await answer;
        assert.equal(response.status, 503);
        assert.equal(response.headers.get('retry-after'), '2');
        assert.equal(
          response.headers.get('connection'),
          'close',
          'frees the closing server at once',
        );
        const body: LockUnavailableResponseBody = {
          statusCode: 503,
          message: 'The server is shutting down; retry later.',
          error: 'Service Unavailable',
        };
        assert.deepEqual(await response.json(), body, "Nest's error body, no developer advice");
        await closed;

        assert.equal(held.released, false, "another owner's lock is untouched");
        await held.release();
      } finally {
        await (closed ?? app.close());
        await holder.close();
      }
      assert.deepEqual(await leftovers(etcd.endpoints, namespace), { keys: [], leases: [] });
    },
  );
});

describe('metrics in the default registry', () => {
  it('registers with no configuration, and a second app in the process reuses the series', async () => {
    const boot = () =>
      Test.createTestingModule({
        imports: [ZZLockModule.forRoot({ store: 'memory' })],
        providers: [Jobs],
      }).compile();
    const first = await boot();
    const second = await boot();
    try {
      await first.init();
      await second.init();
      await first.get(Jobs).order('a');
      await second.get(Jobs).order('b');
      const text = await register.metrics();
      assert.ok(
        text.includes('zzlock_hold_duration_seconds_count{lock="order",mode="exclusive"} 2'),
        text,
      );
      assert.ok(first.get(LockService) !== second.get(LockService));
    } finally {
      await first.close();
      await second.close();
      register.clear();
    }
  });
});

describe('metrics of calls that give no label', () => {
  it('put every such lock in one series, whatever its name', async () => {
    const registry = new Registry();
    const moduleRef = await Test.createTestingModule({
      imports: [ZZLockModule.forRoot({ store: 'memory', metrics: { registry } })],
      providers: [Jobs],
    }).compile();
    await moduleRef.init();
    try {
      const locks = moduleRef.get(LockService);
      for (let id = 0; id < 50; id += 1) {
        const lock = await locks.acquire(`order:${id}`);
        await lock.release();
        await locks.withLock(`invoice:${id}`, () => undefined);
      }
      const held = await locks.tryAcquire('held');
      assert.ok(held);
      assert.equal(await locks.tryAcquire('held'), null, 'busy');
      await held.release();
      await moduleRef.get(Jobs).nightly(); // a declared static name keeps its own series

      const text = await registry.metrics();
      const unlabelled = 'unlabelled';
      for (const series of [
        `zzlock_acquire_duration_seconds_count{lock="${unlabelled}",mode="exclusive",outcome="acquired"} 101`,
        `zzlock_acquire_duration_seconds_count{lock="${unlabelled}",mode="exclusive",outcome="busy"} 1`,
        `zzlock_hold_duration_seconds_count{lock="${unlabelled}",mode="exclusive"} 101`,
        'zzlock_acquire_duration_seconds_count{lock="nightly",mode="exclusive",outcome="acquired"} 1',
      ]) {
        assert.ok(text.includes(series), `missing ${series} in\n${text}`);
      }
      assert.doesNotMatch(text, /lock="(order|invoice|held)/, 'no lock name as a label');
      const heldSeries = text.split('\n').filter((line) => line.startsWith('zzlock_held_locks{'));
      assert.equal(heldSeries.length, 2, heldSeries.join('\n'));
    } finally {
      await moduleRef.close();
    }
  });
});

describe('metrics of semaphores and shared locks', () => {
  it('label every series by mode too, three values at most per lock label', async () => {
    const registry = new Registry();
    const moduleRef = await Test.createTestingModule({
      imports: [ZZLockModule.forRoot({ store: 'memory', metrics: { registry } })],
    }).compile();
    await moduleRef.init();
    try {
      const locks = moduleRef.get(LockService);
      const permits = await Promise.all(
        [1, 2].map(() => locks.acquire('export:1', { permits: 2, label: 'export' })),
      );
      assert.equal(await locks.tryAcquire('export:1', { permits: 2, label: 'export' }), null);
      const readers = await Promise.all(
        [1, 2, 3].map(() => locks.acquire('catalog', { shared: true, label: 'catalog' })),
      );
      let text = await registry.metrics();
      for (const series of [
        'zzlock_held_locks{lock="export",mode="semaphore"} 2',
        'zzlock_held_locks{lock="catalog",mode="shared"} 3',
        'zzlock_acquire_duration_seconds_count{lock="export",mode="semaphore",outcome="busy"} 1',
        'zzlock_contended_total{lock="export",mode="semaphore"} 1',
      ]) {
        assert.ok(text.includes(series), `missing ${series} in\n${text}`);
      }
      await Promise.all([...permits, ...readers].map((lock) => lock.release()));
      await locks.withLock('catalog', () => undefined, { label: 'catalog' });
      text = await registry.metrics();
      for (const series of [
        'zzlock_held_locks{lock="export",mode="semaphore"} 0',
        'zzlock_held_locks{lock="catalog",mode="shared"} 0',
        'zzlock_hold_duration_seconds_count{lock="catalog",mode="shared"} 3',
        'zzlock_hold_duration_seconds_count{lock="catalog",mode="exclusive"} 1',
      ]) {
        assert.ok(text.includes(series), `missing ${series} in\n${text}`);
      }
      const modes = new Set([...text.matchAll(/mode="([^"]*)"/g)].map((match) => match[1]));
      assert.deepEqual([...modes].sort(), ['exclusive', 'semaphore', 'shared']);
    } finally {
      await moduleRef.close();
    }
  });
});
