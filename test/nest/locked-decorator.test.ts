// @Locked mechanics in a Nest app started as a user would (NestFactory, real HTTP, real etcd):
// decorator order around @Get/@Cron/@Interval, Observable handlers, re-entrancy, minHoldMs,
// busy policies, binding (also with one ZZLockModule per feature module), two apps in one
// process, and option validation at boot.
import 'reflect-metadata';
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import {
  Controller,
  Get,
  Injectable,
  Module,
  type DynamicModule,
  type INestApplication,
} from '@nestjs/common';
import { PATH_METADATA } from '@nestjs/common/constants.js';
import { APP_INTERCEPTOR, NestFactory } from '@nestjs/core';
import { Test } from '@nestjs/testing';
import { Cron, Interval, ScheduleModule, SchedulerRegistry } from '@nestjs/schedule';
import { defer, from, map, Observable, throwError } from 'rxjs';
import { Registry } from 'prom-client';
import {
  Locked,
  LockBusyError,
  LockClient,
  LockConfigError,
  LockNotHeldError,
  LockService,
  LockTimeoutError,
  ZZLOCK_LOCKED_METADATA,
  ZZLockModule,
  type LockedMetadata,
  type LockHandle,
  type LockedOptions,
  type ZZLockModuleOptions,
} from '../../lib/index.js';
import { startEtcd, type EtcdCluster } from '../support/index.js';
import { leftovers, waitFor, WarningRecorder } from './helpers.js';

const namespace = 'nest-decorator/';
/** Every app of this file logs its warnings here (Nest's logger is process-wide). */
const recorder = new WarningRecorder();
const NEVER = '0 0 1 1 *'; // once a year: registered, fired by hand

/** A promise the test resolves. */
class Gate {
  open!: () => void;
  readonly opened = new Promise<void>((resolve) => (this.open = resolve));
}

@Controller()
class RoutesController {
  subscribed = 0;
  gate = new Gate();

  constructor(private readonly locks: LockService) {}

  @Locked('route-above')
  @Get('above')
  above() {
    return { lock: this.locks.current().name };
  }

  @Get('below')
  @Locked('route-below')
  below() {
    return { lock: this.locks.current().name };
  }

  /** Declared Observable: the lock is taken per subscription and kept until completion. */
  @Get('stream')
  @Locked('stream')
  stream(): Observable<string> {
    return defer(() => {
      this.subscribed += 1;
      return from(this.gate.opened).pipe(map(() => `done by ${this.locks.current().name}`));
    });
  }

  @Locked('stream-error')
  failingStream(): Observable<string> {
    return throwError(() => new Error('stream failed'));
  }
}

@Injectable()
class Jobs {
  readonly runs: string[] = [];
  skippyRuns = 0;

  constructor(private readonly locks: LockService) {}

  @Locked('cron-above')
  @Cron(NEVER, { name: 'cron-above' })
  cronAbove(): void {
    this.runs.push(this.locks.current().name);
  }

  @Cron(NEVER, { name: 'cron-below' })
  @Locked('cron-below')
  cronBelow(): void {
    this.runs.push(this.locks.current().name);
  }

  @Interval('interval-below', 3_600_000)
  @Locked('interval', { onBusy: 'skip' })
  intervalJob(): void {
    this.runs.push(this.locks.current().name);
  }

  @Locked('re')
  async outer(): Promise<{ outer: number; inner: number; withLock: number }> {
    const outer = this.locks.current('re').holdCount;
    const inner = await this.inner();
    const withLock = await this.locks.withLock('re', (lock) => lock.holdCount);
    return { outer, inner, withLock };
  }

  @Locked('re')
  async inner(): Promise<number> {
    return this.locks.current('re').holdCount;
  }

  @Locked('min', { minHoldMs: 2_000 })
  async quick(): Promise<string> {
    return 'quick';
  }

  @Locked('skippy', { onBusy: 'skip' })
  async skippy(): Promise<string> {
    this.skippyRuns += 1;
    return 'ran';
  }

  @Locked('held-elsewhere')
  async thrower(): Promise<string> {
    return 'ran';
  }

  @Locked('held-elsewhere', { waitMs: 200 })
  async patient(): Promise<string> {
    return 'ran';
  }

  @Locked((id: string) => `item:${id}`, { label: 'item', ttl: 7 })
  async item(id: string): Promise<{ name: string; aborted: boolean; id: string }> {
    const lock = this.locks.current();
    return { name: lock.name, aborted: lock.signal.aborted, id };
  }

  /** Not declared as Observable: the lock is taken at the call and kept until the stream ends. */
  @Locked('undeclared')
  async undeclared(gate: Gate) {
    return from(gate.opened).pipe(map(() => 'undeclared done'));
  }
}

/** Locks through the ZZLockModule of its own feature module; `current()` proves which one. */
@Injectable()
class FeatureAJobs {
  constructor(private readonly locks: LockService) {}

  @Locked('feature-a')
  async run(): Promise<string> {
    return this.locks.current().name;
  }
}

@Injectable()
class FeatureBJobs {
  constructor(private readonly locks: LockService) {}

  @Locked('feature-b')
  async run(): Promise<string> {
    return this.locks.current().name;
  }
}

/** Gets LockService through a shared module that re-exports its ZZLockModule. */
@Injectable()
class FeatureCJobs {
  constructor(private readonly locks: LockService) {}

  @Locked('feature-c')
  async run(): Promise<string> {
    return this.locks.current().name;
  }
}

/** In a module that imports no ZZLockModule at all. */
@Injectable()
class OrphanJobs {
  @Locked('orphan')
  async run(): Promise<string> {
    return 'orphan ran';
  }
}

function appModule(options: ZZLockModuleOptions) {
  @Module({
    imports: [ScheduleModule.forRoot(), ZZLockModule.forRoot(options)],
    controllers: [RoutesController],
    providers: [Jobs],
  })
  class AppModule {}
  return AppModule;
}

describe('@Locked in a Nest application on etcd', () => {
  let etcd: EtcdCluster;
  let app: INestApplication;
  let base: string;
  let other: LockClient;
  const registry = new Registry();
  const held: LockHandle[] = [];

  /** Takes `name` from another owner, or null when it is held. */
  const tryElsewhere = async (name: string): Promise<LockHandle | null> => {
    const lock = await other.tryAcquire(name);
    if (lock) held.push(lock);
    return lock;
  };

  before(async () => {
    etcd = await startEtcd();
    other = new LockClient({ endpoints: etcd.endpoints, namespace });
    app = await NestFactory.create(
      appModule({ endpoints: etcd.endpoints, namespace, ttl: 5, metrics: { registry } }),
      { logger: recorder },
    );
    await app.listen(0, '127.0.0.1');
    base = await app.getUrl();
  });
  afterEach(async () => {
    await Promise.all(held.splice(0).map((lock) => lock.release()));
  });
  after(async () => {
    await app?.close();
    await other?.close();
    if (etcd) {
      assert.deepEqual(await leftovers(etcd.endpoints, namespace), { keys: [], leases: [] });
      await etcd.stop();
    }
  });

  it('keeps a route routing with @Locked above or below @Get, name and metadata kept', async () => {
    for (const path of ['above', 'below']) {
      const response = await fetch(`${base}/${path}`);
      assert.equal(response.status, 200);
      assert.deepEqual(await response.json(), { lock: `route-${path}` });
    }
    const proto = RoutesController.prototype;
    assert.equal(proto.above.name, 'above');
    assert.equal(proto.below.name, 'below');
    assert.equal(Reflect.getMetadata(PATH_METADATA, proto.above), 'above');
    assert.equal(Reflect.getMetadata(PATH_METADATA, proto.below), 'below');
    const metadata: LockedMetadata = Reflect.getMetadata(ZZLOCK_LOCKED_METADATA, proto.above);
    assert.equal(metadata.label, 'route-above');
    assert.equal(metadata.method, 'RoutesController.above');
  });

  it('keeps cron jobs and intervals registered with @Locked above or below, and locks their runs', async () => {
    const schedule = app.get(SchedulerRegistry);
    const jobs = app.get(Jobs);
    await schedule.getCronJob('cron-above').fireOnTick();
    await schedule.getCronJob('cron-below').fireOnTick();
    assert.ok(schedule.getInterval('interval-below'));
    await jobs.intervalJob();
    await waitFor('both cron runs', () => jobs.runs.length >= 3);
    assert.deepEqual([...jobs.runs].sort(), ['cron-above', 'cron-below', 'interval']);
  });

  it('holds the lock of an Observable route until the Observable completes', async () => {
    const routes = app.get(RoutesController);
    const response = fetch(`${base}/stream`);
    await waitFor('the stream to be subscribed', () => routes.subscribed === 1);
    assert.equal(await tryElsewhere('stream'), null, 'held while the stream runs');
    routes.gate.open();
    const answer = await response;
    assert.equal(answer.status, 200);
    assert.equal(await answer.text(), 'done by stream');
    assert.notEqual(await tryElsewhere('stream'), null, 'released when it completed');
    const busy = await fetch(`${base}/stream`);
    assert.equal(busy.status, 423, 'busy while another owner holds it');
    assert.equal(busy.headers.get('retry-after'), '1');
    assert.deepEqual(await busy.json(), {
      statusCode: 423,
      message: 'The resource is locked by another request; retry later.',
      error: 'Locked',
    });
    assert.equal(routes.subscribed, 1, 'the handler did not run');
  });

  it('releases an Observable lock on unsubscribe and on error', async () => {
    const routes = app.get(RoutesController);
    routes.gate = new Gate();
    const subscription = routes.stream().subscribe();
    await waitFor('the stream to be subscribed', () => routes.subscribed === 2);
    assert.equal(await tryElsewhere('stream'), null);
    subscription.unsubscribe();
    await waitFor('the lock to be released', async () => (await tryElsewhere('stream')) !== null);

    await assert.rejects(
      new Promise((resolve, reject) =>
        routes.failingStream().subscribe({ complete: () => resolve(undefined), error: reject }),
      ),
      /stream failed/,
    );
    assert.notEqual(await tryElsewhere('stream-error'), null);
  });

  it('holds a lock for an Observable returned by an undeclared method until it completes', async () => {
    const gate = new Gate();
    const stream = await app.get(Jobs).undeclared(gate);
    assert.equal(await tryElsewhere('undeclared'), null);
    gate.open();
    assert.equal(await new Promise((resolve) => stream.subscribe(resolve)), 'undeclared done');
    await waitFor(
      'the lock to be released',
      async () => (await tryElsewhere('undeclared')) !== null,
    );
  });

  it('lets an undeclared Observable be subscribed once, and warns once per method', async () => {
    const gate = new Gate();
    const stream = await app.get(Jobs).undeclared(gate);
    const first = new Promise((resolve) => stream.subscribe(resolve));
    // A second subscriber would run outside the lock taken at the call: it gets an error.
    await assert.rejects(
      new Promise((resolve, reject) => stream.subscribe({ next: resolve, error: reject })),
      (error: unknown) => {
        assert.ok(error instanceof LockConfigError, String(error));
        assert.match(error.message, /Jobs\.undeclared\(\) was subscribed to again/);
        assert.match(error.message, /declare the method's return type `: Observable<…>`/);
        return true;
      },
    );
    assert.equal(await tryElsewhere('undeclared'), null, 'the first subscription still holds it');
    gate.open();
    assert.equal(await first, 'undeclared done');
    await waitFor(
      'the lock to be released',
      async () => (await tryElsewhere('undeclared')) !== null,
    );
    const warned = recorder.warnings.filter((line) => line.includes('Jobs.undeclared()'));
    assert.equal(warned.length, 1, `one warning for two calls: ${JSON.stringify(warned)}`);
    assert.match(warned[0]!, /^ZZLock: .*returned an Observable without declaring it/);
    assert.match(warned[0]!, /Declare the return type `: Observable<…>`/);
  });

  it('binds each module to the ZZLockModule it imports, never to another one', async () => {
    const zzlock = (prefix: string) =>
      ZZLockModule.forRoot({
        endpoints: etcd.endpoints,
        namespace: `${namespace}${prefix}/`,
        isGlobal: false,
        interceptor: false,
        metrics: false,
      });
    @Module({ imports: [zzlock('a')], providers: [FeatureAJobs] })
    class FeatureA {}
    @Module({ imports: [zzlock('b')], providers: [FeatureBJobs] })
    class FeatureB {}
    const sharedLocks = zzlock('c');
    @Module({ imports: [sharedLocks], exports: [sharedLocks] })
    class SharedLocks {}
    @Module({ imports: [SharedLocks], providers: [FeatureCJobs] })
    class FeatureC {}
    @Module({ providers: [OrphanJobs] })
    class Orphans {}
    @Module({ imports: [FeatureA, FeatureB, FeatureC, Orphans] })
    class Features {}

    const features = await NestFactory.createApplicationContext(Features, { logger: recorder });
    try {
      assert.equal(await features.get(FeatureAJobs).run(), 'feature-a');
      assert.equal(await features.get(FeatureBJobs).run(), 'feature-b');
      assert.equal(await features.get(FeatureCJobs).run(), 'feature-c');
      // No module of its own: bound to the first ZZLockModule, the others keep it and warn.
      assert.equal(await features.get(OrphanJobs).run(), 'orphan ran');
      const orphan = recorder.warnings.filter((line) => line.includes('OrphanJobs'));
      assert.equal(orphan.length, 2, JSON.stringify(orphan));
      assert.match(orphan[0]!, /stay bound to the LockService of the ZZLockModule that found them/);
      assert.match(orphan[0]!, /Use one ZZLockModule per application/);
      for (const jobs of ['FeatureAJobs', 'FeatureBJobs', 'FeatureCJobs']) {
        assert.ok(!recorder.warnings.some((line) => line.includes(jobs)), `no warning for ${jobs}`);
      }
    } finally {
      await features.close();
    }
    for (const prefix of ['a', 'b', 'c']) {
      assert.deepEqual((await leftovers(etcd.endpoints, `${namespace}${prefix}/`)).keys, []);
    }
  });

  it('is re-entrant for nested @Locked and withLock of the same name', async () => {
    assert.deepEqual(await app.get(Jobs).outer(), { outer: 1, inner: 2, withLock: 2 });
    assert.notEqual(await tryElsewhere('re'), null, 'released after the outermost hold');
  });

  it('keeps the lock for minHoldMs after acquisition, then releases it', async () => {
    assert.equal(await app.get(Jobs).quick(), 'quick');
    assert.equal(await tryElsewhere('min'), null, 'still held right after the method returned');
    await waitFor('the min-hold release', async () => (await tryElsewhere('min')) !== null);
  });

  it('skips, throws LockBusyError, or throws LockTimeoutError when the lock is busy', async () => {
    const jobs = app.get(Jobs);
    const service = app.get(LockService);
    const skipped: string[] = [];
    service.observe({ skipped: (event) => skipped.push(`${event.method}:${event.reason}`) });

    const skippy = await tryElsewhere('skippy');
    assert.equal(await jobs.skippy(), undefined);
    assert.equal(jobs.skippyRuns, 0);
    assert.deepEqual(skipped, ['Jobs.skippy:busy']);
    await skippy!.release();
    assert.equal(await jobs.skippy(), 'ran');

    assert.ok(await tryElsewhere('held-elsewhere'));
    await assert.rejects(jobs.thrower(), LockBusyError);
    await assert.rejects(jobs.patient(), LockTimeoutError);
  });

  it('names per-entity locks with a function of the arguments and gives the handle inside', async () => {
    const service = app.get(LockService);
    const labels: string[] = [];
    service.observe({ acquired: (event) => labels.push(`${event.name}|${event.label}`) });
    assert.deepEqual(await app.get(Jobs).item('7'), { name: 'item:7', aborted: false, id: '7' });
    assert.deepEqual(labels, ['item:7|item']);
    assert.throws(() => service.current(), LockNotHeldError);
  });

  it('rejects a call on an instance the module did not bind, explaining why', async () => {
    const unbound = new Jobs(app.get(LockService));
    await assert.rejects(unbound.item('1'), (error: unknown) => {
      assert.ok(error instanceof LockConfigError);
      assert.match(
        error.message,
        /Jobs\.item\(\) ran on an instance that ZZLockModule has not bound/,
      );
      return true;
    });
  });

  it('runs a second application in the same process with its own LockService', async () => {
    const second = await NestFactory.create(
      appModule({ endpoints: etcd.endpoints, namespace, metrics: { registry } }),
      { logger: recorder },
    );
    try {
      await second.init();
      const events: string[] = [];
      app.get(LockService).observe({ acquired: (e) => events.push(`first:${e.name}`) });
      second.get(LockService).observe({ acquired: (e) => events.push(`second:${e.name}`) });
      await second.get(Jobs).item('2');
      await app.get(Jobs).item('1');
      assert.deepEqual(events, ['second:item:2', 'first:item:1']);
    } finally {
      await second.close();
    }
  });
});

describe('ZZLockModule options', () => {
  const boot = (options: ZZLockModuleOptions) =>
    Test.createTestingModule({ imports: [ZZLockModule.forRoot(options)] }).compile();

  for (const [options, option] of [
    [{ endpoints: [] }, 'endpoints'],
    [{}, 'endpoints'],
    [{ endpoints: ['http://127.0.0.1:2379'], ttl: 0.5 }, 'ttl'],
    [{ store: 'redis' as 'etcd' }, 'store'],
    [{ store: 'memory', metrics: { prefix: 'bad prefix' } }, 'metrics.prefix'],
    [{ store: 'memory', callTimeoutMs: 0 }, 'callTimeoutMs'],
  ] as const) {
    it(`fails the boot naming "${option}" for ${JSON.stringify(options)}`, async () => {
      await assert.rejects(boot(options as ZZLockModuleOptions), (error: unknown) => {
        assert.ok(error instanceof LockConfigError, String(error));
        assert.equal(error.option, option);
        assert.match(
          error.message,
          new RegExp(`Invalid zzlock option "${option.replace('.', '\\.')}"`),
        );
        return true;
      });
    });
  }

  it('is global with the LockInterceptor by default; both can be turned off', () => {
    const hasInterceptor = (module: DynamicModule) =>
      (module.providers ?? []).some(
        (provider) =>
          typeof provider === 'object' &&
          'provide' in provider &&
          provider.provide === APP_INTERCEPTOR,
      );
    const byDefault = ZZLockModule.forRoot({ store: 'memory' });
    assert.equal(byDefault.global, true);
    assert.ok(hasInterceptor(byDefault));
    const optedOut = ZZLockModule.forRootAsync({
      useFactory: () => ({ store: 'memory' }),
      isGlobal: false,
      interceptor: false,
    });
    assert.equal(optedOut.global, false);
    assert.ok(!hasInterceptor(optedOut));
  });

  it('rejects invalid @Locked options when the class is defined', () => {
    assert.throws(() => Locked('x', { onBusy: 'later' as 'skip' }), LockConfigError);
    assert.throws(() => Locked('x', 0), /ttl/);
    assert.throws(() => Locked('', 5), /name/);
    assert.throws(() => Locked('x', { minHoldMs: -1 }), /minHoldMs/);
  });

  it('rejects unknown @Locked options (a misspelt onBusy) when the class is defined', () => {
    assert.throws(
      () => Locked('x', { onbusy: 'skip' } as LockedOptions),
      (error: unknown) => {
        assert.ok(error instanceof LockConfigError, String(error));
        assert.equal(error.option, 'onbusy');
        assert.match(
          error.message,
          /@Locked has no option "onbusy"; known options are ttl, waitMs, onBusy/,
        );
        return true;
      },
    );
    assert.throws(() => Locked('x', { ttl: 5, wait: 100 } as LockedOptions), /"wait"/);
  });

  it("boots with store 'memory' and no endpoints, and runs @Locked methods (memory mechanics)", async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [
        ZZLockModule.forRootAsync({ useFactory: () => ({ store: 'memory', metrics: false }) }),
      ],
      providers: [Jobs],
    }).compile();
    await moduleRef.init();
    try {
      assert.equal(moduleRef.get(LockService).store, 'memory');
      assert.deepEqual(await moduleRef.get(Jobs).outer(), { outer: 1, inner: 2, withLock: 2 });
      assert.deepEqual(moduleRef.get(LockService).leaseStates(), []);
    } finally {
      await moduleRef.close();
    }
  });
});
