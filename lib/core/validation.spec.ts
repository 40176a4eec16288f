// Every bad input of the catalogue gets a LockConfigError naming the option, before any network
// call: the client points at a closed port, so a call that reached the network would fail with
// StoreUnavailableError instead.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { LockConfigError } from './errors/lock-config.error.js';
import { LockClient } from './lock-client.js';
import type { LockClientOptions } from './lock-options.js';

const unreachable = ['http://127.0.0.1:1'];

const isConfigError = (option: string) => (error: unknown) => {
  assert.ok(error instanceof LockConfigError, `expected LockConfigError, got ${String(error)}`);
  assert.equal(error.code, 'ZZLOCK_CONFIG');
  assert.equal(error.option, option);
  assert.match(error.message, new RegExp(`"${option}"`));
  return true;
};

describe('input validation', () => {
  const locks = new LockClient({ endpoints: unreachable, callTimeoutMs: 200 });
  after(() => locks.close());

  const badNames: [string, unknown][] = [
    ['empty', ''],
    ['too long', 'x'.repeat(257)],
    ['newline', 'a\nb'],
    ['NUL', 'a\u0000b'],
    ['DEL', 'a\u007fb'],
    ['lone surrogate', 'a\ud800b'],
    ['number', 42],
    ['undefined', undefined],
  ];
  for (const [label, name] of badNames) {
    it(`rejects a lock name that is ${label}`, async () => {
      await assert.rejects(locks.acquire(name as string), isConfigError('name'));
      await assert.rejects(locks.tryAcquire(name as string), isConfigError('name'));
      await assert.rejects(
        locks.withLock(name as string, () => undefined),
        isConfigError('name'),
      );
    });
  }

  const badTtls: unknown[] = [0, -1, 1.5, 86_401, Number.NaN, Infinity, '10'];
  for (const ttl of badTtls) {
    it(`rejects ttl ${String(ttl)}`, async () => {
      await assert.rejects(locks.acquire('x', { ttl: ttl as number }), isConfigError('ttl'));
      await assert.rejects(locks.tryAcquire('x', { ttl: ttl as number }), isConfigError('ttl'));
    });
  }

  const badWaits: unknown[] = [-1, Number.NaN, '100', -Infinity];
  for (const waitMs of badWaits) {
    it(`rejects waitMs ${String(waitMs)}`, async () => {
      await assert.rejects(
        locks.acquire('x', { waitMs: waitMs as number }),
        isConfigError('waitMs'),
      );
    });
  }

  it('rejects a signal that is not an AbortSignal', async () => {
    await assert.rejects(
      locks.acquire('x', { signal: {} as AbortSignal }),
      isConfigError('signal'),
    );
  });

  it('accepts names with slashes, colons and Unicode (they are encoded, never nested)', async () => {
    for (const name of ['order:42', 'a/b', '红包:1', 'x'.repeat(256)]) {
      await assert.rejects(locks.tryAcquire(name), (error: unknown) => {
        assert.ok(!(error instanceof LockConfigError), `${name} is valid`);
        return true;
      });
    }
  });

  const badOptions: [string, unknown][] = [
    ['endpoints', { endpoints: [] }],
    ['endpoints', { endpoints: ['127.0.0.1:2379'] }],
    ['endpoints', { endpoints: 'ftp://x:1' }],
    ['namespace', { endpoints: unreachable, namespace: '' }],
    ['namespace', { endpoints: unreachable, namespace: 'shop' }],
    ['namespace', { endpoints: unreachable, namespace: '/' }],
    ['namepsace', { endpoints: unreachable, namepsace: 'shop/' }],
    ['auth', { endpoints: unreachable, auth: null }],
    ['tls', { endpoints: unreachable, tls: { cert: 'PEM' } }],
    ['tls.ca', { endpoints: unreachable, tls: { ca: 42 } }],
    ['certificate', { endpoints: unreachable, tls: { certificate: 'PEM' } }],
    ['ttl', { endpoints: unreachable, ttl: 0 }],
    ['waitMs', { endpoints: unreachable, waitMs: -5 }],
    ['callTimeoutMs', { endpoints: unreachable, callTimeoutMs: 0 }],
    ['callTimeoutMs', { endpoints: unreachable, callTimeoutMs: Infinity }],
    ['shutdownGraceMs', { endpoints: unreachable, shutdownGraceMs: -1 }],
    ['auth', { endpoints: unreachable, auth: { username: '', password: 'x' } }],
    ['options', null],
  ];
  for (const [option, options] of badOptions) {
    it(`rejects client option ${option} = ${JSON.stringify(options)}`, () => {
      assert.throws(() => new LockClient(options as LockClientOptions), isConfigError(option));
    });
  }
});
