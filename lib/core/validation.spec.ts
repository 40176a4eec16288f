// Unit spec of the validators themselves: the limits (what is just accepted, what is just not),
// the defaults they apply and the message they give. The catalogue of bad input through every entry
// point (LockClient, LockService, @Locked, module options), against a real etcd, is
// test/safety/bad-input.test.ts.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ZZLOCK_DEFAULTS, ZZLOCK_LIMITS } from './defaults.js';
import { LockConfigError } from './errors/lock-config.error.js';
import {
  resolveClientOptions,
  validateDurationMs,
  validateLockName,
  validateTtl,
} from './validation.js';

const endpoints = ['http://127.0.0.1:2379'];

const configError = (option: string) => (error: unknown) => {
  assert.ok(error instanceof LockConfigError, `expected LockConfigError, got ${String(error)}`);
  assert.equal(error.code, 'ZZLOCK_CONFIG');
  assert.equal(error.option, option);
  return true;
};

describe('validateLockName', () => {
  it('accepts any well-formed string of 1 to 256 characters without control characters', () => {
    for (const name of ['a', 'order:42', 'a/b', '../x', '%2F', '红包:1', '🔒', 'x'.repeat(256)]) {
      assert.equal(validateLockName(name), name);
    }
  });

  it('stops at the limit: 256 characters pass, 257 do not', () => {
    assert.equal(ZZLOCK_LIMITS.maxNameLength, 256);
    assert.throws(() => validateLockName('x'.repeat(257)), configError('name'));
  });

  it('names the value in the message, shortened when long', () => {
    assert.throws(
      () => validateLockName(`a\n${'b'.repeat(200)}`),
      (error: unknown) => {
        assert.ok(error instanceof LockConfigError);
        assert.match(
          error.message,
          /^Invalid zzlock option "name": .*control characters \(got "a\\nb+…"\)\.$/,
        );
        assert.ok(error.message.length < 250, error.message);
        return true;
      },
    );
  });
});

describe('validateTtl', () => {
  it('accepts whole seconds from 1 to 86 400, and names the option it checks', () => {
    assert.equal(validateTtl(ZZLOCK_LIMITS.minTtl), 1);
    assert.equal(validateTtl(ZZLOCK_LIMITS.maxTtl), 86_400);
    assert.throws(() => validateTtl(0, 'lease'), configError('lease'));
  });
});

describe('validateDurationMs', () => {
  it('accepts 0 and Infinity where allowed, and refuses Infinity where it is not', () => {
    assert.equal(validateDurationMs(0, 'waitMs'), 0);
    assert.equal(validateDurationMs(Infinity, 'waitMs'), Infinity);
    assert.throws(() => validateDurationMs(Infinity, 'grace', false), configError('grace'));
  });
});

describe('resolveClientOptions', () => {
  it('applies every default', () => {
    assert.deepEqual(resolveClientOptions({ endpoints }), {
      endpoints,
      namespace: ZZLOCK_DEFAULTS.namespace,
      ttl: ZZLOCK_DEFAULTS.ttl,
      waitMs: ZZLOCK_DEFAULTS.acquireWaitMs,
      callTimeoutMs: ZZLOCK_DEFAULTS.callTimeoutMs,
      shutdownGraceMs: ZZLOCK_DEFAULTS.shutdownGraceMs,
      leaseIdleMs: ZZLOCK_DEFAULTS.leaseIdleMs,
      auth: undefined,
      tls: undefined,
    });
  });

  it('takes one endpoint as a string, a trailing slash, and https:// endpoints with tls', () => {
    assert.deepEqual(resolveClientOptions({ endpoints: 'http://etcd:2379/' }).endpoints, [
      'http://etcd:2379/',
    ]);
    const secure = ['https://etcd-0:2379', 'https://etcd-1:2379'];
    assert.deepEqual(
      resolveClientOptions({ endpoints: secure, tls: { ca: 'PEM' } }).endpoints,
      secure,
    );
    assert.deepEqual(resolveClientOptions({ endpoints: secure }).endpoints, secure);
  });

  it('accepts knowingly extra keys (the module’s own options), and no others', () => {
    assert.equal(resolveClientOptions({ endpoints, store: 'etcd' } as never, ['store']).ttl, 15);
    assert.throws(
      () => resolveClientOptions({ endpoints, store: 'etcd' } as never),
      configError('store'),
    );
  });
});
