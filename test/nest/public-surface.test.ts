// The package's public surface: lib/index.ts exports no internals, LockService exposes neither its
// manager nor @Locked's runtime (which lives in an internal runner), at run time or in its
// declarations, and every token documented as injectable is exported by ZZLockModule. Pure module
// mechanics: a memory store, no etcd.
import 'reflect-metadata';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { describe, it } from 'node:test';
import { Inject, Injectable, Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import * as api from '../../lib/index.js';
import {
  LockManager,
  LockService,
  ZZLOCK_MANAGER,
  ZZLOCK_MODULE_OPTIONS,
  ZZLOCK_OPTIONS,
  ZZLockHealthIndicator,
  ZZLockModule,
  type ResolvedZZLockOptions,
  type ZZLockModuleOptions,
} from '../../lib/index.js';

describe('public surface', () => {
  it('exports no internals from the package entry', () => {
    for (const internal of [
      'LockedExplorer',
      'createLockManager',
      'resolveModuleOptions',
      'ZZLockMetrics',
      'ZZLOCK_INSTANCE_BINDING',
      'runLocked',
      'LockedRunner',
      'AcquisitionOutageLog',
      'reportLockSkipped',
      'releaseLockAt',
      'ZZLockConfigurableModule',
      'LeadershipRunner',
      'ElectionCandidacy',
      'ModuleLeadership',
      'campaignRetryDelayMs',
      'wrapMethod',
      'boundRunners',
    ]) {
      assert.ok(!(internal in api), `${internal} is exported from lib/index.ts`);
    }
    for (const exported of [
      'ZZLockModule',
      'LockService',
      'Locked',
      'LeaderOnly',
      'OnLeadership',
      'ZZLOCK_LEADER_ONLY_METADATA',
      'ZZLOCK_ON_LEADERSHIP_METADATA',
      'LockInterceptor',
    ]) {
      assert.ok(exported in api, `${exported} is missing from lib/index.ts`);
    }
  });

  it('exports every error class, each with its stable code, from both entries', async () => {
    const core = await import('../../lib/core/index.js');
    const codes: Record<string, string> = {
      LockTimeoutError: 'ZZLOCK_TIMEOUT',
      LockBusyError: 'ZZLOCK_BUSY',
      LockAbortedError: 'ZZLOCK_ABORTED',
      LockLostError: 'ZZLOCK_LOST',
      LockNotHeldError: 'ZZLOCK_NOT_HELD',
      LockConfigError: 'ZZLOCK_CONFIG',
      StoreUnavailableError: 'ZZLOCK_STORE_UNAVAILABLE',
      StoreRejectedError: 'ZZLOCK_STORE_REJECTED',
      LockClientClosedError: 'ZZLOCK_CLOSED',
      PeerDependencyMissingError: 'ZZLOCK_PEER_MISSING',
    };
    assert.deepEqual(Object.values(api.ZZLockErrorCode).sort(), Object.values(codes).sort());
    for (const entry of [api, core] as Record<string, unknown>[]) {
      assert.equal(entry.ZZLockError, api.ZZLockError);
      for (const name of Object.keys(codes))
        assert.equal(entry[name], api[name as keyof typeof api]);
    }
    const rejected = new api.StoreRejectedError('acquire', 'x', 'no-space', new Error('full'));
    assert.ok(rejected instanceof api.ZZLockError);
    assert.equal(rejected.name, 'StoreRejectedError');
    assert.equal(rejected.code, codes.StoreRejectedError);
    assert.equal(rejected.reason, 'no-space');
    assert.equal(rejected.lockName, 'x');
  });

  it('exports the semaphore and shared-lock surface from both entries', async () => {
    const core = await import('../../lib/core/index.js');
    for (const entry of [api, core]) {
      assert.equal(entry.ZZLOCK_LIMITS.maxPermits, 256);
      assert.equal(entry.validateLockMode, api.validateLockMode);
      const mismatch = entry.LockConfigError.permitsMismatch('export', 3, 2);
      assert.ok(mismatch instanceof api.LockConfigError);
      assert.equal(mismatch.lockName, 'export');
    }
    const declarations = await readFile(
      new URL('../../lib/core/index.d.ts', import.meta.url),
      'utf8',
    );
    for (const type of ['LockMode', 'LockModeRequest']) {
      assert.match(declarations, new RegExp(`\\b${type}\\b`), `${type} is not exported`);
    }
    const handle = await readFile(
      new URL('../../lib/core/lock-handle.d.ts', import.meta.url),
      'utf8',
    );
    assert.match(handle, /readonly mode: LockMode;/);
    assert.match(handle, /readonly permits: number;/);
  });

  it('exports the election surface from both entries, and LockService.election', async () => {
    const core = await import('../../lib/core/index.js');
    for (const entry of [api, core]) {
      assert.equal(entry.Election, api.Election);
      assert.equal(entry.validateElectionValue, api.validateElectionValue);
      assert.equal(entry.ZZLOCK_LIMITS.maxElectionValueBytes, 4096);
      assert.equal(typeof entry.MemoryBackend.prototype.expireLeader, 'function');
    }
    assert.equal(typeof LockService.prototype.election, 'function');
    assert.equal(typeof api.LockClient.prototype.election, 'function');
    const declarations = await readFile(
      new URL('../../lib/core/index.d.ts', import.meta.url),
      'utf8',
    );
    for (const type of [
      'Leadership',
      'CampaignOptions',
      'ObserveLeaderOptions',
      'Leader',
      'GrantMode',
    ]) {
      assert.match(declarations, new RegExp(`\\b${type}\\b`), `${type} is not exported`);
    }
    const service = await readFile(new URL('../../lib/lock.service.d.ts', import.meta.url), 'utf8');
    assert.match(service, /\belection\(name: string\): Election;/);
  });

  it("keeps @Locked's runtime and the manager off LockService, at run time and in its declarations", async () => {
    for (const member of ['reportSkipped', 'releaseAt', 'manager']) {
      assert.ok(!(member in LockService.prototype), `LockService.prototype.${member}`);
    }
    const serviceModule: Record<string, unknown> = await import('../../lib/lock.service.js');
    assert.deepEqual(Object.keys(serviceModule), ['LockService'], 'no friend functions beside it');
    const declarations = await readFile(
      new URL('../../lib/lock.service.d.ts', import.meta.url),
      'utf8',
    );
    const classBody = declarations
      .slice(declarations.indexOf('export declare class LockService'))
      .replace(/\/\*[\s\S]*?\*\//g, '') // JSDoc may mention anything
      .replace(/^\s*constructor\(.*\);$/m, ''); // and the constructor's parameters name its deps
    assert.ok(classBody.length > 0);
    assert.doesNotMatch(classBody, /\breportSkipped\b|\breleaseAt\(|\bmanager\b|\bstatic\b/);
    for (const method of [
      /\bacquire\(/,
      /\btryAcquire\(/,
      /\bwithLock</,
      /\bcurrent\(/,
      /\bobserve\(/,
      /\bleaseStates\(\): LeaseState\[\];/,
      /\bstopAcquiring\(\): void;/,
      /\bleadership\(election: string\): Leadership \| null;/,
      /\bshutdown\(\): Promise<void>;/,
    ]) {
      assert.match(classBody, method);
    }
  });

  it('lets a module that imports ZZLockModule inject every documented token', async () => {
    @Injectable()
    class Consumer {
      constructor(
        @Inject(ZZLOCK_MODULE_OPTIONS) readonly raw: ZZLockModuleOptions,
        @Inject(ZZLOCK_OPTIONS) readonly options: ResolvedZZLockOptions,
        @Inject(ZZLOCK_MANAGER) readonly manager: LockManager,
        readonly locks: LockService,
        readonly health: ZZLockHealthIndicator,
      ) {}
    }
    @Module({
      imports: [ZZLockModule.forRoot({ store: 'memory', metrics: false, isGlobal: false })],
      providers: [Consumer],
    })
    class Feature {}

    const moduleRef = await Test.createTestingModule({ imports: [Feature] }).compile();
    try {
      const consumer = moduleRef.get(Consumer);
      assert.deepEqual(consumer.raw, { store: 'memory', metrics: false });
      assert.equal(consumer.options.store, 'memory');
      assert.ok(consumer.manager instanceof LockManager);
      assert.ok(!('manager' in consumer.locks), 'the manager is injected by its token only');
      assert.ok(consumer.health instanceof ZZLockHealthIndicator);
    } finally {
      await moduleRef.close();
    }
  });
});
