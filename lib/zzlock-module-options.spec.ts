// Unit spec of the module's option resolution: a memory store connects to nothing, so whatever
// `endpoints` a shared configuration carries (none, empty, production's URLs, with their tls) is
// not read, while every other option is still checked; an etcd store still needs endpoints.
import 'reflect-metadata';
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Test } from '@nestjs/testing';
import { LockConfigError } from './core/index.js';
import { LockService } from './lock.service.js';
import { ZZLockModule } from './zzlock.module.js';
import { resolveModuleOptions, type ZZLockModuleOptions } from './zzlock-module-options.js';

const configError = (option: string) => (error: unknown) => {
  assert.ok(error instanceof LockConfigError, `expected LockConfigError, got ${String(error)}`);
  assert.equal(error.option, option);
  return true;
};

describe("resolveModuleOptions with store: 'memory'", () => {
  const unread: [string, ZZLockModuleOptions['endpoints']][] = [
    ['absent', undefined],
    ['an empty list', []],
    ['an empty string (an unset variable)', ''],
    ["[''] (''.split(','))", ['']],
    ["production's URLs", ['https://etcd-0:2379', 'https://etcd-1:2379']],
  ];
  for (const [what, endpoints] of unread) {
    it(`does not read endpoints: ${what}`, () => {
      const resolved = resolveModuleOptions({ store: 'memory', endpoints, ttl: 5 });
      assert.equal(resolved.store, 'memory');
      assert.deepEqual(resolved.client.endpoints, []);
      assert.equal(resolved.client.ttl, 5);
    });
  }

  it('takes tls and auth without https:// endpoints (nothing connects)', () => {
    const resolved = resolveModuleOptions({
      store: 'memory',
      tls: { ca: 'PEM' },
      auth: { username: 'locks', password: 'secret' },
    });
    assert.deepEqual(resolved.client.tls, { ca: 'PEM' });
    assert.deepEqual(resolved.client.endpoints, []);
  });

  it('still checks every other option and rejects unknown keys', () => {
    assert.throws(() => resolveModuleOptions({ store: 'memory', ttl: 0 }), configError('ttl'));
    assert.throws(
      () => resolveModuleOptions({ store: 'memory', namespace: 'no-slash' }),
      configError('namespace'),
    );
    assert.throws(
      () => resolveModuleOptions({ store: 'memory', tls: 'PEM' } as never),
      configError('tls'),
    );
    assert.throws(
      () => resolveModuleOptions({ store: 'memory', namepsace: 'shop/' } as never),
      configError('namepsace'),
    );
  });

  it('boots a module with empty endpoints and tls, and locks in memory', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [
        ZZLockModule.forRoot({
          store: 'memory',
          endpoints: [],
          tls: { ca: 'PEM' },
          metrics: false,
        }),
      ],
    }).compile();
    await moduleRef.init();
    try {
      const locks = moduleRef.get(LockService);
      assert.equal(locks.store, 'memory');
      assert.equal(await locks.withLock('report', (lock) => lock.name), 'report');
    } finally {
      await moduleRef.close();
    }
  });
});

describe("resolveModuleOptions with store: 'etcd'", () => {
  it('needs endpoints, and says so naming the memory store', () => {
    assert.throws(
      () => resolveModuleOptions({}),
      (error: unknown) =>
        configError('endpoints')(error) && /store: 'memory'/.test((error as Error).message),
    );
    assert.throws(() => resolveModuleOptions({ endpoints: [] }), configError('endpoints'));
    assert.throws(
      () => resolveModuleOptions({ endpoints: ['http://etcd:2379'], tls: { ca: 'PEM' } }),
      configError('endpoints'),
    );
  });
});
