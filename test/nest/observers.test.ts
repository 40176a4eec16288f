// Observers through LockService, on the memory store: a lost lock and a skipped @Locked call are
// told as plain frozen events, and an observer that throws is logged once per hook as a ZZLock
// warning (Nest's logger) while locking goes on and the observer keeps being called.
import 'reflect-metadata';
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Injectable, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import {
  Locked,
  LockService,
  MemoryBackend,
  ZZLOCK_MANAGER,
  ZZLockModule,
  type LockEventBase,
  type LockManager,
  type LockSkippedEvent,
} from '../../lib/index.js';
import { WarningRecorder } from './helpers.js';

@Injectable()
class Cron {
  @Locked('tick', { onBusy: 'skip' })
  async tick(): Promise<string> {
    return 'ran';
  }
}

@Module({
  imports: [ZZLockModule.forRoot({ store: 'memory', metrics: false })],
  providers: [Cron],
})
class ObservedApp {}

describe('LockService observers', () => {
  it('get plain frozen events for a lost lock and a skipped call', async () => {
    const app = await NestFactory.createApplicationContext(ObservedApp, { logger: false });
    try {
      const locks = app.get(LockService);
      const lost: LockEventBase[] = [];
      const skipped: LockSkippedEvent[] = [];
      locks.observe({ lost: (e) => lost.push(e), skipped: (e) => skipped.push(e) });

      const lock = await locks.acquire('order:7', { label: 'order' });
      (app.get<LockManager>(ZZLOCK_MANAGER).backend as MemoryBackend).expire('order:7');
      await lock.release();
      assert.equal(lost.length, 1);
      assert.deepEqual({ ...lost[0] }, { name: 'order:7', label: 'order', mode: 'exclusive' });
      assert.equal(Object.getPrototypeOf(lost[0]), Object.prototype);
      assert.ok(Object.isFrozen(lost[0]));

      const held = await locks.acquire('tick');
      assert.equal(await app.get(Cron).tick(), undefined);
      await held.release();
      assert.equal(skipped.length, 1);
      assert.equal(skipped[0]!.reason, 'busy');
      assert.ok(Object.isFrozen(skipped[0]));
    } finally {
      await app.close();
    }
  });

  it('log a throwing observer once per hook, and keep calling it', async () => {
    const recorder = new WarningRecorder();
    const app = await NestFactory.createApplicationContext(ObservedApp, { logger: recorder });
    try {
      const locks = app.get(LockService);
      const calls = { acquired: 0, skipped: 0 };
      locks.observe({
        acquired: () => {
          calls.acquired += 1;
          throw new Error('dashboard down');
        },
        skipped: () => {
          calls.skipped += 1;
          throw new Error('pager down');
        },
      });
      const cron = app.get(Cron);
      for (let round = 0; round < 3; round += 1) {
        assert.equal(await cron.tick(), 'ran', 'a throwing observer breaks no call');
        const held = await locks.acquire('tick');
        assert.equal(await cron.tick(), undefined);
        await held.release();
      }
      assert.deepEqual(calls, { acquired: 6, skipped: 3 });
      const warned = recorder.warnings.filter((line) => line.includes('hook threw'));
      assert.deepEqual(warned.length, 2, JSON.stringify(warned));
      assert.match(warned[0]!, /^ZZLock: .*"acquired" hook threw \(Error: dashboard down\)/);
      assert.match(warned[1]!, /^ZZLock: .*"skipped" hook threw \(Error: pager down\)/);
    } finally {
      await app.close();
    }
  });
});
