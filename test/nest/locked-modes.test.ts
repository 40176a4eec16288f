// @Locked with permits (a semaphore across replicas) and shared (readers together), in a Nest app
// on the memory store and on a real etcd: at most `permits` calls at once, readers together and a
// writer alone, the errors of a call chain or a replica that disagrees, skipped calls, 423 on busy
// routes, the metadata it records and its checks at class definition.
import 'reflect-metadata';
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Controller, Get, Injectable, Module, type INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import {
  LockClient,
  LockConfigError,
  LockService,
  Locked,
  ZZLOCK_LOCKED_METADATA,
  ZZLockModule,
  type LockedMetadata,
  type LockedOptions,
  type LockHandle,
  type LockMode,
  type ZZLockModuleOptions,
} from '../../lib/index.js';
import { startEtcd, type EtcdCluster } from '../support/index.js';
import { leftovers, waitFor, WarningRecorder } from './helpers.js';

const namespace = 'nest-modes/';

/** A promise the test resolves. */
class Gate {
  open!: () => void;
  readonly opened = new Promise<void>((resolve) => (this.open = resolve));
}

/** What a locked call saw of its lock. */
interface Seen {
  readonly mode: LockMode;
  readonly permits: number;
  /** Calls of this provider running when it started, itself included. */
  readonly running: number;
}

@Injectable()
class ModeJobs {
  gate = new Gate();
  running = 0;
  maxRunning = 0;
  readonly order: string[] = [];

  constructor(private readonly locks: LockService) {}

  async #run(what: string): Promise<Seen> {
    this.running += 1;
    this.maxRunning = Math.max(this.maxRunning, this.running);
    const seen = { ...this.#lock(), running: this.running };
    this.order.push(`${what} start`);
    try {
      await this.gate.opened;
      return seen;
    } finally {
      this.running -= 1;
      this.order.push(`${what} end`);
    }
  }

  #lock(): Pick<Seen, 'mode' | 'permits'> {
    const { mode, permits } = this.locks.current();
    return { mode, permits };
  }

  @Locked('exports', { permits: 2, waitMs: 10_000 })
  export(): Promise<Seen> {
    return this.#run('export');
  }

  @Locked('catalog', { shared: true, waitMs: 10_000 })
  read(): Promise<Seen> {
    return this.#run('read');
  }

  @Locked('catalog', { waitMs: 10_000 })
  write(): Promise<Seen> {
    return this.#run('write');
  }

  /** Shared, then exclusive on the same name in the same call chain: refused at once. */
  @Locked('catalog', { shared: true })
  async readThenWrite(): Promise<Seen> {
    return this.write();
  }

  /** Exclusive, then shared on the same name: re-enters the exclusive hold. */
  @Locked('catalog')
  async writeThenRead(): Promise<Pick<Seen, 'mode' | 'permits'> & { holds: number }> {
    return this.locks.withLock(
      'catalog',
      (inner) => ({ mode: inner.mode, permits: inner.permits, holds: inner.holdCount }),
      { shared: true },
    );
  }

  @Locked('exports', { permits: 3, waitMs: 0 })
  async exportWithOtherPermits(): Promise<string> {
    return 'ran';
  }

  @Locked('exports', { permits: 2, onBusy: 'skip' })
  async exportOrSkip(): Promise<string> {
    return 'ran';
  }
}

@Controller()
class ModeRoutes {
  constructor(private readonly locks: LockService) {}

  @Get('exports')
  @Locked('route-exports', { permits: 2, retryAfter: 3 })
  exportRoute() {
    const { mode, permits } = this.locks.current();
    return { mode, permits };
  }

  @Get('catalog')
  @Locked('route-catalog', { shared: true })
  catalogRoute() {
    return { mode: this.locks.current().mode };
  }
}

/** Another replica's locks: an etcd client, or (memory) the service itself outside any chain. */
interface Elsewhere {
  acquire(name: string, options: { permits?: number; shared?: boolean }): Promise<LockHandle>;
  close(): Promise<void>;
}

/** The suite against one store; `options` are the module's, `elsewhere` another replica. */
function modeSuite(
  label: string,
  setUp: () => Promise<{
    options: ZZLockModuleOptions;
    elsewhere: (app: INestApplication) => Elsewhere;
    done: () => Promise<void>;
  }>,
): void {
  describe(`@Locked permits and shared (${label})`, () => {
    let app: INestApplication;
    let base: string;
    let other: Elsewhere;
    let done: () => Promise<void>;
    const recorder = new WarningRecorder();

    @Module({
      imports: [],
      controllers: [ModeRoutes],
      providers: [ModeJobs],
    })
    class Feature {}

    before(async () => {
      const setup = await setUp();
      done = setup.done;
      @Module({ imports: [ZZLockModule.forRoot(setup.options), Feature] })
      class AppModule {}
      app = await NestFactory.create(AppModule, { logger: recorder });
      await app.listen(0, '127.0.0.1');
      base = await app.getUrl();
      other = setup.elsewhere(app);
    });
    after(async () => {
      await other?.close();
      await app?.close();
      await done?.();
    });

    const fresh = () => {
      const jobs = app.get(ModeJobs);
      jobs.gate = new Gate();
      jobs.running = 0;
      jobs.maxRunning = 0;
      jobs.order.length = 0;
      return jobs;
    };

    it('runs at most permits calls of a semaphore method at once and queues the rest', async () => {
      const jobs = fresh();
      const calls = [jobs.export(), jobs.export(), jobs.export()];
      await waitFor('two exports to run', () => jobs.running === 2);
      await new Promise((resolve) => setImmediate(resolve));
      assert.equal(jobs.running, 2, 'the third waits for a permit');
      jobs.gate.open();
      const seen = await Promise.all(calls);
      assert.equal(jobs.maxRunning, 2);
      for (const call of seen) assert.deepEqual([call.mode, call.permits], ['semaphore', 2]);
    });

    it('runs shared methods together and an exclusive one alone, in arrival order', async () => {
      const jobs = fresh();
      const reads = [jobs.read(), jobs.read()];
      await waitFor('both readers to run', () => jobs.running === 2);
      const write = jobs.write();
      await new Promise((resolve) => setImmediate(resolve));
      assert.equal(jobs.running, 2, 'the writer waits for the readers');
      jobs.gate.open();
      const [r1, r2] = await Promise.all(reads);
      const w = await write;
      assert.deepEqual([r1.mode, r2.mode, w.mode], ['shared', 'shared', 'exclusive']);
      assert.equal(w.running, 1, 'the writer ran alone');
      assert.deepEqual(jobs.order.slice(-2), ['write start', 'write end']);
    });

    it('refuses an exclusive method called inside a shared hold of its name, at once', async () => {
      const jobs = fresh();
      await assert.rejects(jobs.readThenWrite(), (error: unknown) => {
        assert.ok(error instanceof LockConfigError, String(error));
        assert.equal(error.option, 'shared');
        assert.equal(error.lockName, 'catalog');
        return true;
      });
      assert.deepEqual(jobs.order, [], 'the inner method never ran');
      assert.deepEqual(await jobs.writeThenRead(), { mode: 'exclusive', permits: 1, holds: 2 });
    });

    it('refuses a method whose permits differ from the holders, naming both', async () => {
      const held = await other.acquire('exports', { permits: 2 });
      try {
        await assert.rejects(app.get(ModeJobs).exportWithOtherPermits(), (error: unknown) => {
          assert.ok(error instanceof LockConfigError, String(error));
          assert.equal(error.option, 'permits');
          assert.match(error.message, /held with permits 2; this request asked for permits 3/);
          return true;
        });
      } finally {
        await held.release();
      }
    });

    it('skips when every permit is held elsewhere, telling the mode', async () => {
      const skipped: string[] = [];
      app.get(LockService).observe({ skipped: (e) => skipped.push(`${e.label}:${e.mode}`) });
      const held = [
        await other.acquire('exports', { permits: 2 }),
        await other.acquire('exports', { permits: 2 }),
      ];
      try {
        assert.equal(await app.get(ModeJobs).exportOrSkip(), undefined);
        assert.deepEqual(skipped, ['exports:semaphore']);
        await held.pop()!.release();
        assert.equal(await app.get(ModeJobs).exportOrSkip(), 'ran');
      } finally {
        await Promise.all(held.map((lock) => lock.release()));
      }
    });

    it('answers 423 with Retry-After on a route whose permits or shared hold is unavailable', async () => {
      const permits = [
        await other.acquire('route-exports', { permits: 2 }),
        await other.acquire('route-exports', { permits: 2 }),
      ];
      const busy = await fetch(`${base}/exports`);
      assert.equal(busy.status, 423);
      assert.equal(busy.headers.get('retry-after'), '3');
      await permits.pop()!.release();
      const ok = await fetch(`${base}/exports`);
      assert.equal(ok.status, 200);
      assert.deepEqual(await ok.json(), { mode: 'semaphore', permits: 2 });
      await permits.pop()!.release();

      const writer = await other.acquire('route-catalog', {});
      assert.equal((await fetch(`${base}/catalog`)).status, 423, 'a writer holds it');
      await writer.release();
      const reader = await other.acquire('route-catalog', { shared: true });
      const shared = await fetch(`${base}/catalog`);
      assert.equal(shared.status, 200, 'shared with another reader');
      assert.deepEqual(await shared.json(), { mode: 'shared' });
      await reader.release();
    });
  });
}

modeSuite('memory', async () => ({
  options: { store: 'memory', metrics: false },
  elsewhere: (app) => {
    const locks = app.get(LockService);
    return {
      acquire: (name, options) => locks.acquire(name, { waitMs: 5000, ...options }),
      close: async () => undefined,
    };
  },
  done: async () => undefined,
}));

let etcd: EtcdCluster | undefined;
modeSuite('etcd', async () => {
  etcd = await startEtcd();
  const endpoints = etcd.endpoints;
  return {
    options: { endpoints, namespace, ttl: 5, metrics: false },
    elsewhere: () => {
      const client = new LockClient({ endpoints, namespace, ttl: 5 });
      return {
        acquire: (name, options) => client.acquire(name, { waitMs: 5000, ...options }),
        close: () => client.close(),
      };
    },
    done: async () => {
      assert.deepEqual(await leftovers(endpoints, namespace), { keys: [], leases: [] });
      await etcd?.stop();
    },
  };
});

describe('@Locked permits and shared options', () => {
  it('records the grant rule in the metadata', () => {
    const metadata = (method: keyof ModeJobs): LockedMetadata =>
      Reflect.getMetadata(ZZLOCK_LOCKED_METADATA, ModeJobs.prototype[method]);
    assert.deepEqual([metadata('export').mode, metadata('export').permits], ['semaphore', 2]);
    assert.deepEqual([metadata('read').mode, metadata('read').permits], ['shared', 1]);
    assert.deepEqual([metadata('write').mode, metadata('write').permits], ['exclusive', 1]);
  });

  it('rejects bad permits and shared values when the class is defined', () => {
    for (const [option, options] of [
      ['permits', { permits: 0 }],
      ['permits', { permits: -1 }],
      ['permits', { permits: 1.5 }],
      ['permits', { permits: Number.NaN }],
      ['permits', { permits: 257 }],
      ['permits', { permits: '2' }],
      ['permits', { permits: 2, shared: true }],
      ['shared', { shared: 'yes' }],
    ] as const) {
      assert.throws(
        () => Locked('x', options as LockedOptions),
        (error: unknown) => {
          assert.ok(error instanceof LockConfigError, String(error));
          assert.equal(error.option, option, JSON.stringify(options));
          return true;
        },
      );
    }
    assert.doesNotThrow(() => Locked('x', { permits: 256, shared: false }));
    assert.doesNotThrow(() => Locked('x', { permits: 1 }));
  });
});
