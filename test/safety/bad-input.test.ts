// The bad input catalogue, against real etcd: every bad lock name, TTL, wait, permits, shared flag,
// endpoint and option goes through every entry point that takes it (LockClient, LockService from
// forRoot and forRootAsync, @Locked options and name functions, module options) and gets a LockConfigError
// naming it, before any call to etcd; names that try to leave the namespace stay inside it;
// releasing twice, after a loss or after close resolves (release is idempotent and never throws);
// an etcd that refuses (permission denied, bad or missing credentials, NOSPACE) gives a
// StoreRejectedError with its reason, after exactly one refused call (no retries); an unreachable
// or silent etcd gives StoreUnavailableError. Each call is bounded (nothing hangs) and etcd holds no
// key and no lease afterwards.
import 'reflect-metadata';
import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { Injectable } from '@nestjs/common';
import { Test, type TestingModule } from '@nestjs/testing';
import { Etcd3 } from 'etcd3';
import {
  LockClient,
  LockLostError,
  LockService,
  Locked,
  ZZLockModule,
  type LockClientOptions,
  type LockHandle,
  type LockedOptions,
  type StoreRejectionReason,
  type ZZLockModuleOptions,
} from '../../lib/index.js';
import {
  getFreePort,
  leftovers,
  LOOPBACK_HOST,
  startEtcd,
  waitFor,
  type EtcdCluster,
} from '../support/index.js';
import {
  assertConfigError,
  assertNoEcho,
  assertRejected,
  assertUnavailable,
  bounded,
  enableAuth,
  failedBetween,
  handledCalls,
  LOCK_USER,
  ROOT,
  thrownBy,
} from './safety-helpers.js';

/** A provider with @Locked methods, bound in every Nest app of this file. */
@Injectable()
class Jobs {
  constructor(readonly locks: LockService) {}

  /** Locks the name it is given (a @Locked name function). */
  @Locked((name: string) => name, { waitMs: 0 })
  async named(name: string): Promise<string> {
    return name;
  }

  @Locked('catalogue-job', { ttl: 2 })
  async job(): Promise<string> {
    return 'ran';
  }

  /** Releases its own lock from inside, twice; @Locked releases it a third time. */
  @Locked('released-inside')
  async releaseInside(): Promise<string> {
    const lock = this.locks.current();
    await lock.release();
    await lock.release();
    return lock.released ? 'released' : 'still held';
  }

  /** Runs `inside` holding the lock (the test loses it there). */
  @Locked('lost-inside', { ttl: 2 })
  async holding(inside: (lock: LockHandle) => Promise<void>): Promise<string> {
    await inside(this.locks.current());
    return 'finished';
  }
}

/** A Nest app on the lock module, built with forRoot or forRootAsync, with {@link Jobs}. */
interface ServiceApp {
  readonly via: 'forRoot' | 'forRootAsync';
  readonly moduleRef: TestingModule;
  readonly locks: LockService;
  readonly jobs: Jobs;
}

function moduleOf(via: ServiceApp['via'], options: ZZLockModuleOptions) {
  return via === 'forRoot'
    ? ZZLockModule.forRoot(options)
    : ZZLockModule.forRootAsync({ useFactory: async () => options });
}

async function bootApp(via: ServiceApp['via'], options: ZZLockModuleOptions): Promise<ServiceApp> {
  const moduleRef = await Test.createTestingModule({
    imports: [moduleOf(via, { metrics: false, ...options })],
    providers: [Jobs],
  }).compile();
  await moduleRef.init();
  return { via, moduleRef, locks: moduleRef.get(LockService), jobs: moduleRef.get(Jobs) };
}

/** Both Nest apps (forRoot and forRootAsync) on `options`. */
const bootApps = (options: ZZLockModuleOptions) =>
  Promise.all([bootApp('forRoot', options), bootApp('forRootAsync', options)]);

/** A call of one entry point, labelled for failure messages. */
type EntryCall = readonly [entry: string, call: () => unknown];

/** Asserts every call throws (or rejects) a LockConfigError naming `option`, within the bound. */
async function assertAllConfigErrors(
  label: string,
  option: string,
  calls: readonly EntryCall[],
): Promise<void> {
  for (const [entry, call] of calls) {
    const where = `${entry} with ${label}`;
    assertConfigError(await thrownBy(where, call), option, where);
  }
}

/** Keys and leases etcd holds for `namespace`, read as root when `auth` is set. */
const etcdState = (etcd: EtcdCluster, namespace: string, auth?: typeof ROOT) =>
  leftovers(etcd.endpoints, namespace, auth === undefined ? {} : { auth: { ...auth } });

const describeValue = (value: unknown): string =>
  typeof value === 'string'
    ? JSON.stringify(value.length > 20 ? `${value.slice(0, 20)}…(${value.length})` : value)
    : typeof value === 'number' || value === undefined
      ? String(value)
      : JSON.stringify(value);

// ---------------------------------------------------------------------------------------------
// The catalogue. Each row is one bad value; the entry points it goes through are listed below.
// ---------------------------------------------------------------------------------------------

/** Bad lock names: every acquire entry point, @Locked(name) and a @Locked name function. */
const BAD_NAMES: readonly [string, unknown][] = [
  ['empty', ''],
  ['257 characters', 'x'.repeat(257)],
  ['a newline', 'a\nb'],
  ['a tab', 'a\tb'],
  ['NUL', 'a\u0000b'],
  ['DEL', 'a\u007fb'],
  ['a C1 control (NEL)', 'a\u0085b'],
  ['a lone surrogate', 'a\ud800b'],
  ['a number', 42],
  ['undefined', undefined],
  ['null', null],
  ['an object', { toString: () => 'x' }],
];

/** Bad TTLs: call options, @Locked, LockClient and module options. */
const BAD_TTLS: readonly unknown[] = [
  0,
  -1,
  1.5,
  Number.NaN,
  Infinity,
  -Infinity,
  86_401,
  1e12,
  '10',
];

/** Bad waits: call options, @Locked, LockClient and module options. */
const BAD_WAITS: readonly unknown[] = [-1, -0.5, Number.NaN, -Infinity, '100'];

/** Bad client options: LockClient, forRoot and forRootAsync. [option named, options]. */
const BAD_CLIENT_OPTIONS: readonly [string, Record<string, unknown>][] = [
  ['endpoints', { endpoints: [] }],
  ['endpoints', { endpoints: '' }],
  ['endpoints', { endpoints: ['127.0.0.1:2379'] }],
  ['endpoints', { endpoints: ['localhost'] }],
  ['endpoints', { endpoints: ['ftp://127.0.0.1:2379'] }],
  ['endpoints', { endpoints: ['http://'] }],
  ['endpoints', { endpoints: ['http://127.0.0.1:2379/v3/kv'] }],
  ['endpoints', { endpoints: ['http://etcd 0:2379'] }],
  ['endpoints', { endpoints: [42] }],
  ['endpoints', { endpoints: ['http://127.0.0.1:2379', 'https://127.0.0.1:2380'] }],
  ['endpoints', { endpoints: ['http://127.0.0.1:2379'], tls: { ca: 'PEM' } }],
  ['namespace', { namespace: '' }],
  ['namespace', { namespace: 'shop' }],
  ['namespace', { namespace: '/' }],
  ['namespace', { namespace: 'sh\nop/' }],
  ['namespace', { namespace: 42 }],
  ['namepsace', { namepsace: 'shop/' }],
  ['auth', { auth: null }],
  ['auth', { auth: { username: '', password: 'x' } }],
  ['auth', { auth: { username: 'locks' } }],
  ['tls', { tls: { cert: 'PEM' } }],
  ['tls.ca', { tls: { ca: 42 } }],
  ['certificate', { tls: { certificate: 'PEM' } }],
  ['callTimeoutMs', { callTimeoutMs: 0 }],
  ['callTimeoutMs', { callTimeoutMs: Infinity }],
  ['callTimeoutMs', { callTimeoutMs: -1 }],
  ['shutdownGraceMs', { shutdownGraceMs: -1 }],
  ['shutdownGraceMs', { shutdownGraceMs: Infinity }],
];

/** Bad @Locked options beyond ttl and waitMs (the catalogue's rows for those apply too). */
const BAD_LOCKED_OPTIONS: readonly [string, Record<string, unknown>][] = [
  ['minHoldMs', { minHoldMs: -1 }],
  ['minHoldMs', { minHoldMs: Infinity }],
  ['minHoldMs', { minHoldMs: Number.NaN }],
  ['retryAfter', { retryAfter: 0 }],
  ['retryAfter', { retryAfter: 1.5 }],
  ['label', { label: '' }],
  ['label', { label: 42 }],
  ['onBusy', { onBusy: 'later' }],
  ['onbusy', { onbusy: 'skip' }],
];

/** Option keys acquire(), withLock() and tryAcquire() do not know: [key named, options]. */
const UNKNOWN_CALL_OPTIONS: readonly [string, Record<string, unknown>][] = [
  ['waitMS', { waitMS: 5 }],
  ['permit', { permit: 2 }],
  ['Shared', { Shared: true }],
  ['Ttl', { Ttl: 5 }],
];

/** Bad permits and shared values: every acquire entry point and @Locked. [option named, options]. */
const BAD_MODES: readonly [string, Record<string, unknown>][] = [
  ['permits', { permits: 0 }],
  ['permits', { permits: -1 }],
  ['permits', { permits: 1.5 }],
  ['permits', { permits: Number.NaN }],
  ['permits', { permits: Infinity }],
  ['permits', { permits: 257 }],
  ['permits', { permits: '2' }],
  ['permits', { permits: null }],
  ['permits', { permits: 2, shared: true }],
  ['shared', { shared: 'yes' }],
  ['shared', { shared: 1 }],
];

/** Keys of acquire() that tryAcquire(), which never waits, does not take. */
const ACQUIRE_ONLY_OPTIONS: readonly [string, Record<string, unknown>][] = [
  ['waitMs', { waitMs: 0 }],
  ['signal', { signal: new AbortController().signal }],
];

/** What no error may show: the value of each row below. */
const SECRET = 'hunter2-zzlock-s3cret';
const SECRET_BYTES = Buffer.from(`-----BEGIN PRIVATE KEY-----${SECRET}`);

/** Client/module options whose error must not echo SECRET: [option named, options]. */
const SECRET_CLIENT_OPTIONS: readonly [string, Record<string, unknown>][] = [
  ['password', { password: SECRET }],
  ['Token', { Token: SECRET }],
  ['etcd', { etcd: { user: 'root', password: SECRET } }],
  ['privateKey', { tls: { privateKey: SECRET_BYTES } }],
  ['pem', { tls: { ca: 'PEM', pem: SECRET_BYTES } }],
  ['pw', { auth: { username: 'locks', pw: SECRET } }],
  ['auth', { auth: { username: 'locks', password: SECRET_BYTES } }],
  ['auth', { auth: `locks:${SECRET}` }],
  ['endpoints', { endpoints: [`http://root:${SECRET}@${LOOPBACK_HOST}:2379`] }],
  ['endpoints', { endpoints: `https://root:${SECRET}@etcd-0:2379` }],
];

describe('bad input catalogue', () => {
  const namespace = 'catalogue/';
  let etcd: EtcdCluster;
  let client: LockClient;
  let apps: ServiceApp[];
  let admin: Etcd3;

  before(async () => {
    etcd = await startEtcd();
    client = new LockClient({ endpoints: etcd.endpoints, namespace, ttl: 5 });
    apps = await bootApps({ endpoints: etcd.endpoints, namespace, ttl: 5 });
    admin = new Etcd3({ hosts: etcd.endpoints });
  });
  after(async () => {
    admin?.close();
    await Promise.all([client?.close(), ...(apps ?? []).map((app) => app.moduleRef.close())]);
    if (etcd !== undefined) {
      assert.deepEqual(await etcdState(etcd, namespace), { keys: [], leases: [] });
    }
    await etcd?.stop();
  });

  /** Every acquire entry point of LockClient and of both apps' LockService. */
  const acquireCalls = (
    name: unknown,
    options: Record<string, unknown> = {},
    withTryAcquire = false,
  ): EntryCall[] => {
    const lockName = name as string;
    const fronts: [string, LockClient | LockService][] = [
      ['LockClient', client],
      ...apps.map((app): [string, LockService] => [`LockService (${app.via})`, app.locks]),
    ];
    return fronts.flatMap(([front, locks]): EntryCall[] => [
      [`${front}.acquire`, () => locks.acquire(lockName, options)],
      [`${front}.withLock`, () => locks.withLock(lockName, () => 'ran', options)],
      ...(withTryAcquire
        ? [[`${front}.tryAcquire`, () => locks.tryAcquire(lockName, options)] as EntryCall]
        : []),
    ]);
  };

  /** Module boots (forRoot, forRootAsync) and a LockClient with these options added. */
  const optionCalls = (options: Record<string, unknown>): EntryCall[] => {
    const full = { endpoints: etcd.endpoints, namespace, ...options };
    return [
      ['new LockClient', () => new LockClient(full as unknown as LockClientOptions)],
      ...(['forRoot', 'forRootAsync'] as const).map((via): EntryCall => [
        `ZZLockModule.${via}`,
        () =>
          Test.createTestingModule({
            imports: [moduleOf(via, { metrics: false, ...full } as ZZLockModuleOptions)],
          }).compile(),
      ]),
    ];
  };

  describe('is rejected with LockConfigError before any call to etcd', () => {
    for (const [label, name] of BAD_NAMES) {
      it(`lock name that is ${label}`, () =>
        assertAllConfigErrors(`name ${label}`, 'name', [
          ...acquireCalls(name, {}, true),
          ['@Locked(name)', () => Locked(name as string)],
          ...apps.map((app): EntryCall => [
            `@Locked name function (${app.via})`,
            () => app.jobs.named(name as string),
          ]),
        ]));
    }

    for (const ttl of BAD_TTLS) {
      it(`ttl ${describeValue(ttl)}`, () =>
        assertAllConfigErrors(`ttl ${describeValue(ttl)}`, 'ttl', [
          ...acquireCalls('ttl-case', { ttl }, true),
          ...(typeof ttl === 'number'
            ? [['@Locked(name, ttl)', () => Locked('x', ttl)] as EntryCall]
            : []),
          ['@Locked(name, { ttl })', () => Locked('x', { ttl } as LockedOptions)],
          ...optionCalls({ ttl }),
        ]));
    }

    for (const waitMs of BAD_WAITS) {
      it(`waitMs ${describeValue(waitMs)}`, () =>
        assertAllConfigErrors(`waitMs ${describeValue(waitMs)}`, 'waitMs', [
          ...acquireCalls('wait-case', { waitMs }),
          ['@Locked(name, { waitMs })', () => Locked('x', { waitMs } as LockedOptions)],
          ...optionCalls({ waitMs }),
        ]));
    }

    for (const [option, options] of BAD_CLIENT_OPTIONS) {
      it(`client/module option ${option} = ${describeValue(Object.values(options)[0])}`, () =>
        assertAllConfigErrors(`${JSON.stringify(options)}`, option, optionCalls(options)));
    }

    it('module options that are not an object, or name no endpoints', async () => {
      for (const via of ['forRoot', 'forRootAsync'] as const) {
        const boot = (options: unknown) =>
          Test.createTestingModule({
            imports: [moduleOf(via, options as ZZLockModuleOptions)],
          }).compile();
        assertConfigError(await thrownBy(via, () => boot({})), 'endpoints', `${via}({})`);
        assertConfigError(
          await thrownBy(via, () => boot({ store: 'redis' })),
          'store',
          `${via} store redis`,
        );
      }
      // forRoot(null) is refused by Nest's module builder itself (a TypeError) before zzlock sees
      // it; a factory that resolves null reaches zzlock's validation.
      const nullFactory = () =>
        Test.createTestingModule({
          imports: [ZZLockModule.forRootAsync({ useFactory: () => null as never })],
        }).compile();
      assertConfigError(await thrownBy('forRootAsync', nullFactory), 'options', 'factory of null');
      assertConfigError(
        await thrownBy('new LockClient(null)', () => new LockClient(null as never)),
        'options',
        'new LockClient(null)',
      );
    });

    it('call options that are not an object, and a signal that is not an AbortSignal', async () => {
      const fronts: [string, LockClient | LockService][] = [
        ['LockClient', client],
        ...apps.map((app): [string, LockService] => [`LockService (${app.via})`, app.locks]),
      ];
      for (const [front, locks] of fronts) {
        await assertAllConfigErrors('options null', 'options', [
          [`${front}.acquire`, () => locks.acquire('x', null as never)],
          [`${front}.tryAcquire`, () => locks.tryAcquire('x', 5 as never)],
        ]);
        await assertAllConfigErrors('signal {}', 'signal', [
          [`${front}.acquire`, () => locks.acquire('x', { signal: {} as AbortSignal })],
          [`${front}.withLock`, () => locks.withLock('x', () => 1, { signal: 'stop' as never })],
        ]);
      }
    });

    for (const [option, options] of BAD_LOCKED_OPTIONS) {
      it(`@Locked option ${option} = ${describeValue(Object.values(options)[0])}`, () =>
        assertAllConfigErrors(JSON.stringify(options), option, [
          ['@Locked(name, options)', () => Locked('x', options as LockedOptions)],
        ]));
    }

    it('@Locked on a static method or a non-method', async () => {
      const decorate = Locked('x');
      await assertAllConfigErrors('a static method', '@Locked', [
        ['@Locked on static', () => decorate(Jobs, 'named', { value: () => undefined } as never)],
        ['@Locked on a getter', () => decorate(Jobs.prototype, 'x', { get: () => 1 } as never)],
      ]);
    });

    for (const [option, options] of BAD_MODES) {
      it(`${option} ${describeValue(Object.values(options)[0])} (${JSON.stringify(options)})`, () =>
        assertAllConfigErrors(JSON.stringify(options), option, [
          ...acquireCalls('mode-case', options, true),
          ['@Locked(name, options)', () => Locked('x', options as LockedOptions)],
        ]));
    }

    for (const [option, options] of UNKNOWN_CALL_OPTIONS) {
      it(`unknown call option ${JSON.stringify(options)}, naming the known ones`, async () => {
        await assertAllConfigErrors(
          JSON.stringify(options),
          option,
          acquireCalls('x', options, true),
        );
        for (const [entry, call] of acquireCalls('x', options, true)) {
          const known = entry.endsWith('tryAcquire')
            ? 'ttl, label, permits, shared'
            : 'ttl, waitMs, signal, label, permits, shared';
          const error = (await thrownBy(entry, call)) as Error;
          assert.ok(
            error.message.includes(`known options are ${known}`),
            `${entry}: ${error.message}`,
          );
        }
      });
    }

    for (const [option, options] of ACQUIRE_ONLY_OPTIONS) {
      it(`tryAcquire with ${option} (it never waits)`, () =>
        assertAllConfigErrors(
          option,
          option,
          acquireCalls('x', options, true).filter(([entry]) => entry.endsWith('tryAcquire')),
        ));
    }

    describe('never echoing a secret, a Buffer or URL credentials', () => {
      for (const [option, options] of SECRET_CLIENT_OPTIONS) {
        it(`client/module option ${option} (${Object.keys(options)[0]})`, async () => {
          for (const [entry, call] of optionCalls(options)) {
            const error = await thrownBy(entry, call);
            assertConfigError(error, option, entry);
            assertNoEcho(error, [SECRET, SECRET_BYTES], entry);
          }
        });
      }

      it('an endpoint with credentials points to the auth option', async () => {
        const [[entry, call]] = optionCalls(SECRET_CLIENT_OPTIONS.at(-1)![1]);
        assert.match(
          String(await thrownBy(entry, call)),
          /give them as auth: \{ username, password \}/,
        );
      });

      it('@Locked options and call options', async () => {
        const calls: [string, EntryCall[]][] = [
          ['password', [['@Locked', () => Locked('x', { password: SECRET } as LockedOptions)]]],
          ['apiToken', [['@Locked', () => Locked('x', { ttl: 5, apiToken: SECRET } as never)]]],
          ['password', acquireCalls('x', { password: SECRET }, true)],
          ['key', acquireCalls('x', { key: SECRET_BYTES }, true)],
        ];
        for (const [option, entries] of calls) {
          for (const [entry, call] of entries) {
            const error = await thrownBy(entry, call);
            assertConfigError(error, option, entry);
            assertNoEcho(error, [SECRET, SECRET_BYTES], entry);
          }
        }
      });
    });

    it('reached etcd with none of them: no key, and not even a lease was granted', async () => {
      assert.deepEqual(await etcdState(etcd, namespace), { keys: [], leases: [] });
    });
  });

  it('keeps names that try to leave the namespace inside it, each its own lock', async () => {
    const names = [
      '..',
      '../escape',
      '../../zzlock/x',
      '/',
      '//',
      '/absolute',
      'a/b',
      'a%2Fb',
      'a%252Fb',
      '%',
      'a/',
      '\\..\\x',
      '\u00ff\u00ff',
      '\uffff',
      ' ',
    ];
    const held: LockHandle[] = [];
    for (const name of names) {
      const lock = await bounded(name, client.tryAcquire(name));
      assert.ok(lock !== null, `"${name}" was refused: it collides with another name's lock`);
      held.push(lock);
      // The same name through a LockService of the same namespace is the same lock: busy.
      assert.equal(await bounded(name, apps[0].locks.tryAcquire(name)), null, name);
    }
    const { keys } = await etcdState(etcd, namespace);
    assert.equal(keys.length, names.length);
    const outside = await admin.getAll().keys();
    assert.deepEqual(
      outside.filter((key) => !key.startsWith(namespace)),
      [],
      'a key was written outside the namespace',
    );
    for (const key of keys) {
      // <namespace><encoded name>/<lease>.<seq>: exactly one '/' after the namespace.
      assert.match(key.slice(namespace.length), /^[^/]+\/[0-9a-f]+\.\d+$/, key);
    }
    await Promise.all(held.map((lock) => lock.release()));
    assert.deepEqual((await etcdState(etcd, namespace)).keys, []);
  });

  describe('release', () => {
    const keysOf = async (name: string) =>
      (await etcdState(etcd, namespace)).keys.filter((key) =>
        key.startsWith(`${namespace}${name}/`),
      );

    /** Revokes the lease behind `name`'s key, as if etcd had expired it. */
    const revokeLeaseOf = async (name: string) => {
      const kvs = await admin.getAll().prefix(`${namespace}${name}/`).exec();
      assert.equal(kvs.kvs.length, 1);
      await admin.leaseClient.leaseRevoke({ ID: kvs.kvs[0].lease });
    };

    const assertLost = async (lock: LockHandle) => {
      await waitFor(`lock ${lock.name} to be reported lost`, () => lock.signal.aborted);
      assert.ok(lock.signal.reason instanceof LockLostError);
      assert.equal(lock.signal.reason.code, 'ZZLOCK_LOST');
    };

    it('twice (and more, and by await using) resolves, and the key goes once', async () => {
      const fronts: [string, LockClient | LockService][] = [
        ['LockClient', client],
        ...apps.map((app): [string, LockService] => [`LockService (${app.via})`, app.locks]),
      ];
      for (const [front, locks] of fronts) {
        const lock = await bounded(front, locks.acquire('twice'));
        assert.equal((await keysOf('twice')).length, 1);
        await bounded(`${front} release ×2`, Promise.all([lock.release(), lock.release()]));
        assert.equal(lock.released, true);
        await bounded(`${front} third release`, lock.release());
        await bounded(`${front} dispose after release`, async () => lock[Symbol.asyncDispose]());
        assert.deepEqual(await keysOf('twice'), [], front);
        // The name is free again.
        const next = await bounded(front, locks.tryAcquire('twice'));
        assert.ok(next !== null, front);
        await next.release();
      }
    });

    it('from inside a @Locked method, then by @Locked itself, resolves', async () => {
      for (const app of apps) {
        assert.equal(await bounded(app.via, app.jobs.releaseInside()), 'released');
        assert.deepEqual(await keysOf('released-inside'), [], app.via);
      }
    });

    it('after the lock was lost resolves, twice, and leaves nothing behind', async () => {
      const lock = await bounded('acquire', client.acquire('lost', { ttl: 2 }));
      await revokeLeaseOf('lost');
      await assertLost(lock);
      await bounded('release after loss', lock.release());
      await bounded('second release after loss', lock.release());
      assert.equal(lock.released, true);
      assert.deepEqual(await keysOf('lost'), []);

      for (const app of apps) {
        // withLock: the loss reaches fn through the signal; withLock's release does not throw.
        const result = await bounded(
          app.via,
          app.locks.withLock(
            'lost',
            async (held) => {
              await revokeLeaseOf('lost');
              await assertLost(held);
              return 'finished';
            },
            { ttl: 2 },
          ),
        );
        assert.equal(result, 'finished');
        // @Locked: the method ends normally; the runner's release after the loss does not throw.
        const decorated = await bounded(
          app.via,
          app.jobs.holding(async (held) => {
            await revokeLeaseOf('lost-inside');
            await assertLost(held);
            await held.release(); // and once more by @Locked
          }),
        );
        assert.equal(decorated, 'finished');
      }
      assert.deepEqual([...(await keysOf('lost')), ...(await keysOf('lost-inside'))], []);
    });

    it('after the client closed resolves (the handle was ended as lost)', async () => {
      const own = new LockClient({ endpoints: etcd.endpoints, namespace, shutdownGraceMs: 0 });
      const lock = await bounded('acquire', own.acquire('closed'));
      await bounded('close', own.close());
      assert.ok(lock.signal.reason instanceof LockLostError);
      await bounded('release after close', lock.release());
      await bounded('second release after close', lock.release());
      assert.deepEqual(await keysOf('closed'), []);
    });
  });
});

/** Runs one acquisition through every entry point and returns [entry, error] pairs. */
async function failuresOfEveryEntryPoint(
  client: LockClient,
  apps: readonly ServiceApp[],
): Promise<[string, unknown][]> {
  const calls: EntryCall[] = [
    ['LockClient.acquire', () => client.acquire('refused', { waitMs: 0 })],
    ['LockClient.tryAcquire', () => client.tryAcquire('refused')],
    ['LockClient.withLock', () => client.withLock('refused', () => 'ran', { waitMs: 0 })],
    ...apps.flatMap((app): EntryCall[] => [
      [`LockService.acquire (${app.via})`, () => app.locks.acquire('refused', { waitMs: 0 })],
      [`LockService.tryAcquire (${app.via})`, () => app.locks.tryAcquire('refused')],
      [
        `LockService.withLock (${app.via})`,
        () => app.locks.withLock('refused', () => 'ran', { waitMs: 0 }),
      ],
      [`@Locked (${app.via})`, () => app.jobs.job()],
    ]),
  ];
  const failures: [string, unknown][] = [];
  for (const [entry, call] of calls) failures.push([entry, await thrownBy(entry, call)]);
  return failures;
}

describe('an etcd that refuses the call', () => {
  describe('with authentication enabled', () => {
    const allowed = 'allowed/';
    let etcd: EtcdCluster;

    before(async () => {
      etcd = await startEtcd();
      await enableAuth(etcd.endpoints, allowed);
    });
    after(() => etcd?.stop());

    const cases: [string, Partial<LockClientOptions>, StoreRejectionReason][] = [
      [
        'a namespace outside the user’s permitted prefix',
        { namespace: 'forbidden/', auth: { ...LOCK_USER } },
        'permission-denied',
      ],
      [
        'a wrong password',
        { auth: { username: LOCK_USER.username, password: 'wrong' } },
        'authentication-failed',
      ],
      ['an unknown user', { auth: { username: 'nobody', password: 'x' } }, 'authentication-failed'],
      ['no credentials', {}, 'authentication-failed'],
    ];
    for (const [label, options, reason] of cases) {
      it(`rejects ${label} with StoreRejectedError (${reason}), one refused call each, no retry`, async () => {
        const full = {
          endpoints: etcd.endpoints,
          namespace: allowed,
          callTimeoutMs: 2_000,
          ...options,
        };
        const client = new LockClient(full);
        const apps = await bootApps(full);
        try {
          // Warm up (a lease may be granted before the refusal), then count etcd's refusals.
          await thrownBy('warm-up', () => client.tryAcquire('refused'));
          for (const app of apps) await thrownBy('warm-up', () => app.locks.tryAcquire('refused'));
          for (let round = 0; round < 2; round += 1) {
            for (const [entry, error] of await failuresOfEveryEntryPoint(client, apps)) {
              assertRejected(error, reason, `${entry} (round ${round})`);
            }
          }
          const before = await handledCalls(etcd.endpoints[0]);
          const error = await thrownBy('counted acquire', () => client.acquire('refused'));
          assertRejected(error, reason, 'counted acquire');
          // The refused call reached etcd once: not retried. A refused acquire also deletes, in
          // the background, the key it may have written (etcd refuses that too): a cleanup, not a
          // retry, and one that may land in any window, so deletes are left out of the count.
          const refused = failedBetween(before, await handledCalls(etcd.endpoints[0]));
          const calls = Object.entries(refused).filter(
            ([call]) => !call.startsWith('DeleteRange:'),
          );
          assert.equal(calls.length, 1, `refused calls: ${JSON.stringify(refused)}`);
          assert.equal(calls[0][1], 1, `etcd refused ${calls[0][0]} ${calls[0][1]} times: retried`);
        } finally {
          await Promise.all([client.close(), ...apps.map((app) => app.moduleRef.close())]);
        }
        for (const namespace of [allowed, 'forbidden/']) {
          assert.deepEqual(await etcdState(etcd, namespace, ROOT), { keys: [], leases: [] });
        }
      });
    }
  });

  describe('over its space quota (NOSPACE alarm)', () => {
    const namespace = 'nospace/';
    let etcd: EtcdCluster;

    before(async () => {
      etcd = await startEtcd({ extraArgs: ['--quota-backend-bytes', String(1024 * 1024)] });
      const filler = new Etcd3({ hosts: etcd.endpoints });
      try {
        const value = Buffer.alloc(64 * 1024, 'x');
        let refused: unknown;
        for (let index = 0; index < 200 && refused === undefined; index += 1) {
          await filler
            .put(`fill/${index}`)
            .value(value)
            .catch((error: unknown) => (refused = error));
        }
        assert.match(String(refused), /database space exceeded/);
      } finally {
        filler.close();
      }
    });
    after(() => etcd?.stop());

    it('rejects every entry point with StoreRejectedError (no-space), each refusal counted once', async () => {
      const options = { endpoints: etcd.endpoints, namespace, callTimeoutMs: 2_000 };
      const client = new LockClient(options);
      const apps = await bootApps(options);
      try {
        // Twice over, so a client that counted refusals as member failures would have opened its
        // circuit breaker and answered "unavailable" by the second round.
        for (let round = 0; round < 2; round += 1) {
          for (const [entry, error] of await failuresOfEveryEntryPoint(client, apps)) {
            assertRejected(error, 'no-space', `${entry} (round ${round})`);
            assert.match((error as Error).message, /etcdctl alarm disarm/);
          }
        }
        const before = await handledCalls(etcd.endpoints[0]);
        assertRejected(
          await thrownBy('counted', () => client.acquire('refused')),
          'no-space',
          'counted',
        );
        const refused = failedBetween(before, await handledCalls(etcd.endpoints[0]));
        assert.deepEqual(refused, { 'LeaseGrant:ResourceExhausted': 1 }, 'retried a refusal');
      } finally {
        await Promise.all([client.close(), ...apps.map((app) => app.moduleRef.close())]);
      }
      assert.deepEqual(await etcdState(etcd, namespace), { keys: [], leases: [] });
    });
  });
});

describe('an etcd that cannot be reached', () => {
  let silent: Server;
  const sockets = new Set<Socket>();
  let closedPort: number;

  before(async () => {
    // Accepts connections and never answers, like a host whose etcd is frozen.
    silent = createServer((socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
    });
    await new Promise<void>((resolve) => silent.listen(0, LOOPBACK_HOST, resolve));
    closedPort = await getFreePort();
  });
  after(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => silent?.close(resolve));
  });

  for (const [label, endpoint] of [
    ['a closed port', () => `http://${LOOPBACK_HOST}:${closedPort}`],
    [
      'a server that never answers',
      () => `http://${LOOPBACK_HOST}:${(silent.address() as { port: number }).port}`,
    ],
  ] as const) {
    it(`fails every entry point with StoreUnavailableError on ${label}, within callTimeoutMs`, async () => {
      const options = { endpoints: [endpoint()], namespace: 'unreachable/', callTimeoutMs: 500 };
      const client = new LockClient(options);
      const apps = await bootApps(options); // booting makes no call to etcd
      try {
        for (const [entry, error] of await failuresOfEveryEntryPoint(client, apps)) {
          assertUnavailable(error, entry);
        }
        // A call allowed to wait rides etcd's silence out for its wait, then says why it failed.
        const startedAt = performance.now();
        assertUnavailable(
          await thrownBy('acquire with waitMs', () => client.acquire('refused', { waitMs: 1_500 })),
          'acquire with waitMs',
        );
        const elapsedMs = performance.now() - startedAt;
        assert.ok(elapsedMs >= 1_500, `gave up after ${Math.round(elapsedMs)} ms, before its wait`);
      } finally {
        await bounded(
          'close',
          Promise.all([client.close(), ...apps.map((app) => app.moduleRef.close())]),
        );
      }
    });
  }
});
