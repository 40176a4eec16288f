// Bad election input through every entry point (LockClient, LockService) gets a LockConfigError
// naming the option, before any call to etcd: the clients here point at a port nobody listens on,
// with a call deadline far beyond the test's, so a call that reached for etcd would fail as
// StoreUnavailableError (or hang), not as LockConfigError. Unit tier: no etcd.
import 'reflect-metadata';
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Test, type TestingModule } from '@nestjs/testing';
import {
  LockClient,
  LockConfigError,
  LockService,
  ZZLOCK_LIMITS,
  ZZLockModule,
  type Election,
} from '../../lib/index.js';

const unreachable = ['http://127.0.0.1:9'];

describe('bad election input, before any call to etcd', () => {
  let client: LockClient;
  let moduleRef: TestingModule;
  let fronts: [string, { election(name: string): Election }][];
  before(async () => {
    client = new LockClient({ endpoints: unreachable, callTimeoutMs: 600_000 });
    moduleRef = await Test.createTestingModule({
      imports: [ZZLockModule.forRoot({ endpoints: unreachable, metrics: false })],
    }).compile();
    fronts = [
      ['LockClient', client],
      ['LockService', moduleRef.get(LockService)],
    ];
  });
  after(async () => {
    await client?.close();
    await moduleRef?.close();
  });

  const isConfigError = (option: string) => (error: unknown) =>
    error instanceof LockConfigError && error.code === 'ZZLOCK_CONFIG' && error.option === option;

  it('election names: the rules of lock names', () => {
    for (const [front, locks] of fronts) {
      for (const name of ['', 'x'.repeat(ZZLOCK_LIMITS.maxNameLength + 1), 'a\nb', 7, '\uDC00']) {
        assert.throws(
          () => locks.election(name as string),
          isConfigError('name'),
          `${front} ${String(name)}`,
        );
      }
    }
  });

  it('campaign values that are not strings or too large, ttl, unknown options, signals', async () => {
    const cases: [unknown, string][] = [
      [null, 'options'],
      ['replica-1', 'options'],
      [{}, 'value'],
      [{ value: null }, 'value'],
      [{ value: { host: 'a' } }, 'value'],
      [{ value: Buffer.from('a') }, 'value'],
      [{ value: 'x'.repeat(ZZLOCK_LIMITS.maxElectionValueBytes + 1) }, 'value'],
      [{ value: '€'.repeat(Math.floor(ZZLOCK_LIMITS.maxElectionValueBytes / 3) + 1) }, 'value'],
      [{ value: 'v', ttl: 0 }, 'ttl'],
      [{ value: 'v', ttl: ZZLOCK_LIMITS.maxTtl + 1 }, 'ttl'],
      [{ value: 'v', ttl: '5' }, 'ttl'],
      [{ value: 'v', signal: {} }, 'signal'],
      [{ value: 'v', permits: 2 }, 'permits'],
    ];
    for (const [front, locks] of fronts) {
      for (const [options, option] of cases) {
        await assert.rejects(
          locks.election('ingest').campaign(options as never),
          isConfigError(option),
          `${front} campaign(${String(JSON.stringify(options)).slice(0, 30)})`,
        );
      }
      assert.throws(
        () => locks.election('ingest').observe(null as never),
        isConfigError('options'),
      );
      assert.throws(
        () => locks.election('ingest').observe({ signal: 1 } as never),
        isConfigError('signal'),
      );
      assert.throws(
        () => locks.election('ingest').observe({ from: 1 } as never),
        isConfigError('from'),
      );
    }
  });

  it('a value of exactly the limit is accepted (the campaign then waits for etcd)', async () => {
    const controller = new AbortController();
    const campaign = client.election('ingest').campaign({
      value: 'x'.repeat(ZZLOCK_LIMITS.maxElectionValueBytes),
      signal: controller.signal,
    });
    controller.abort();
    await assert.rejects(campaign, (error: unknown) => !(error instanceof LockConfigError));
  });
});
