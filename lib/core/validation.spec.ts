// Unit spec of the validators themselves: the limits (what is just accepted, what is just not),
// the defaults they apply and the message they give. The catalogue of bad input through every entry
// point (LockClient, LockService, @Locked, module options), against a real etcd, is
// test/safety/bad-input.test.ts.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { inspect } from 'node:util';
import { ZZLOCK_DEFAULTS, ZZLOCK_LIMITS } from './defaults.js';
import { LockConfigError } from './errors/lock-config.error.js';
import {
  rejectUnknownKeys,
  resolveClientOptions,
  validateDurationMs,
  validateLockMode,
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

describe('validateLockMode', () => {
  it('maps permits and shared to a grant rule: 1 is a mutex, 2 to 256 a semaphore', () => {
    assert.equal(ZZLOCK_LIMITS.maxPermits, 256);
    assert.deepEqual(validateLockMode(undefined, undefined), { mode: 'exclusive', permits: 1 });
    assert.deepEqual(validateLockMode(1, false), { mode: 'exclusive', permits: 1 });
    assert.deepEqual(validateLockMode(2, undefined), { mode: 'semaphore', permits: 2 });
    assert.deepEqual(validateLockMode(256, false), { mode: 'semaphore', permits: 256 });
    assert.deepEqual(validateLockMode(undefined, true), { mode: 'shared', permits: 1 });
  });

  it('stops at the limits and refuses permits with shared: true, naming the option', () => {
    for (const permits of [0, -1, 257, 1.5, Number.NaN, Infinity, '2', null, 2n]) {
      assert.throws(() => validateLockMode(permits, undefined), configError('permits'));
    }
    assert.throws(() => validateLockMode(2, true), configError('permits'));
    assert.throws(() => validateLockMode(1, true), configError('permits'));
    for (const shared of ['true', 1, null, {}]) {
      assert.throws(() => validateLockMode(undefined, shared), configError('shared'));
    }
    assert.throws(
      () => validateLockMode(300, undefined),
      (error: unknown) => {
        assert.ok(error instanceof LockConfigError);
        assert.match(error.message, /from 1 \(a mutex\) to 256 \(got 300\)/);
        return true;
      },
    );
  });
});

describe('LockConfigError for lock holders that disagree', () => {
  it('names the lock and both permits, for a backend to throw as is', () => {
    const error = LockConfigError.permitsMismatch('export', 3, 2);
    assert.equal(error.code, 'ZZLOCK_CONFIG');
    assert.equal(error.name, 'LockConfigError');
    assert.equal(error.option, 'permits');
    assert.equal(error.value, 2);
    assert.equal(error.lockName, 'export');
    assert.match(
      error.message,
      /lock "export" is held with permits 3; this request asked for permits 2\./,
    );
  });

  it('explains an exclusive acquire inside a shared hold', () => {
    const error = LockConfigError.exclusiveInsideShared('catalog');
    assert.equal(error.option, 'shared');
    assert.equal(error.lockName, 'catalog');
    assert.match(error.message, /lock "catalog" is held shared by this call chain/);
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

describe('errors never echo a secret', () => {
  const secret = 'hunter2-s3cret';
  /** Everything an error shows of itself: message, stack, and every property, `value` too. */
  const shown = (error: LockConfigError) =>
    [error.message, String(error), inspect(error, { depth: null }), inspect(error.value)].join(
      '\n',
    );
  const hides = (text: string, option: string, bytes?: Buffer) => (error: unknown) => {
    assert.ok(error instanceof LockConfigError, `expected LockConfigError, got ${String(error)}`);
    assert.equal(error.option, option);
    const everything = shown(error);
    assert.ok(!everything.includes(text), `the secret is in the error:\n${everything}`);
    if (bytes !== undefined) {
      // A Buffer must not appear byte by byte ("104,117,110…") nor as <Buffer 68 75 …>.
      assert.ok(!everything.includes([...bytes.subarray(0, 4)].join(',')), everything);
      assert.ok(!everything.includes(bytes.subarray(0, 4).toString('hex')), everything);
      assert.ok(!/<Buffer /.test(everything), everything);
    }
    return true;
  };

  it('hides a misplaced top-level secret option, in any case, on the message and on value', () => {
    for (const key of [
      'password',
      'Password',
      'secret',
      'token',
      'apiKey',
      'passphrase',
      'credentials',
    ]) {
      assert.throws(
        () => resolveClientOptions({ endpoints, [key]: secret } as never),
        (error: unknown) => {
          hides(secret, key)(error);
          assert.equal((error as LockConfigError).value, undefined);
          assert.match((error as Error).message, /known options are endpoints/);
          assert.match((error as Error).message, /got a string, not shown/);
          return true;
        },
      );
    }
  });

  it('hides secret keys nested in an unknown option, and keeps the rest of its value', () => {
    assert.throws(
      () => resolveClientOptions({ endpoints, etcd: { user: 'root', password: secret } } as never),
      (error: unknown) => {
        hides(secret, 'etcd')(error);
        assert.deepEqual((error as LockConfigError).value, {
          user: 'root',
          password: '[a string, not shown: it may be a secret]',
        });
        return true;
      },
    );
  });

  it('describes any Buffer or Uint8Array by its size, never its bytes', () => {
    const bytes = Buffer.from(`-----BEGIN PRIVATE KEY-----${secret}`);
    const cases: [string, Record<string, unknown>][] = [
      ['privateKey', { endpoints: ['https://etcd:2379'], tls: { privateKey: bytes } }],
      ['Key', { endpoints: ['https://etcd:2379'], tls: { Key: bytes } }],
      ['pem', { endpoints: ['https://etcd:2379'], tls: { pem: bytes } }],
      ['pem', { endpoints, pem: new Uint8Array(bytes) }],
      ['endpoints', { endpoints: bytes }],
    ];
    for (const [option, options] of cases) {
      assert.throws(
        () => resolveClientOptions(options as never),
        (error: unknown) => {
          hides(secret, option, bytes)(error);
          assert.match(
            (error as Error).message,
            new RegExp(`got an? \\w+ of ${bytes.length} bytes`),
          );
          assert.equal((error as LockConfigError).value, undefined);
          return true;
        },
      );
    }
  });

  it('refuses credentials in an endpoint URL, pointing to auth, without echoing them', () => {
    for (const url of [
      `http://root:${secret}@127.0.0.1:2379`,
      `https://root:${secret}@etcd-0:2379/`,
      `root:${secret}@etcd-0:2379`,
    ]) {
      for (const given of [url, [url], ['http://127.0.0.1:2379', url]]) {
        assert.throws(
          () => resolveClientOptions({ endpoints: given as string[] }),
          (error: unknown) => {
            hides(secret, 'endpoints')(error);
            assert.match(
              (error as Error).message,
              /must not carry credentials.*auth: \{ username, password \}/,
            );
            assert.ok(!shown(error as LockConfigError).includes('root'), (error as Error).message);
            return true;
          },
        );
      }
    }
  });

  it('rejects unknown keys inside auth, and any bad auth, without echoing a value under it', () => {
    const cases: [string, unknown][] = [
      ['pw', { username: 'locks', pw: secret }],
      ['pass', { username: 'locks', password: secret, pass: secret }],
      ['auth', { username: secret }],
      ['auth', { username: '', password: secret }],
      ['auth', `locks:${secret}`],
    ];
    for (const [option, auth] of cases) {
      assert.throws(
        () => resolveClientOptions({ endpoints, auth } as never),
        (error: unknown) => {
          hides(secret, option)(error);
          return true;
        },
      );
    }
    assert.throws(
      () => resolveClientOptions({ endpoints, auth: { username: 'locks', pw: secret } } as never),
      /auth has no option "pw"; known options are username, password/,
    );
  });

  it('still shows ordinary values, with URL credentials removed from any string', () => {
    assert.throws(
      () => resolveClientOptions({ endpoints, namepsace: 'shop/' } as never),
      /got "shop\/"/,
    );
    assert.throws(
      () => resolveClientOptions({ endpoints, url: `http://root:${secret}@etcd` } as never),
      (error: unknown) => {
        hides(secret, 'url')(error);
        assert.match((error as Error).message, /got "http:\/\/\*\*\*@etcd"/);
        assert.equal((error as LockConfigError).value, 'http://***@etcd');
        return true;
      },
    );
  });

  it('hides what rejectUnknownKeys finds under a secret-looking parent, whatever its key', () => {
    assert.throws(
      () => rejectUnknownKeys({ user: 'x', pw: secret }, ['username', 'password'], 'auth'),
      hides(secret, 'user'),
    );
    assert.throws(
      () => rejectUnknownKeys({ password: secret }, ['ttl'], '@Locked'),
      hides(secret, 'password'),
    );
  });
});
