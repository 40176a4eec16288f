// What an HTTP client and the log see when a lock fails on a route, in a Nest app started as a
// user would (NestFactory, real HTTP, real etcd behind a loopback proxy that the test cuts):
// etcd down answers 503 with Retry-After, a cron job with onBusy: 'skip' is skipped, and the
// outage is logged once when it starts and once when it ends; a server-side lock misconfiguration
// answers 500 with a body that says nothing of it, logged once with the detail; every body is
// Nest's standard error body, without developer advice; a route can return its lock handle as JSON.
import 'reflect-metadata';
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  Controller,
  Get,
  Injectable,
  Module,
  Param,
  type INestApplication,
  type LoggerService,
} from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Cron, ScheduleModule, SchedulerRegistry } from '@nestjs/schedule';
import {
  Locked,
  LockClient,
  LockService,
  StoreRejectedError,
  ZZLockModule,
  type LockedResponseBody,
  type LockHandleJson,
  type LockServerErrorResponseBody,
  type LockSkippedEvent,
  type LockUnavailableResponseBody,
} from '../../lib/index.js';
import { startEtcd, startTcpProxy, type EtcdCluster, type TcpProxy } from '../support/index.js';
import { leftovers, waitFor } from './helpers.js';

const namespace = 'nest-route-answers/';
const NEVER = '0 0 1 1 *'; // once a year: registered, fired by hand
/** The app's only way to etcd; started before the app, whose options factory reads it. */
let proxy: TcpProxy;

/** One line of Nest's log, as this file's logger keeps it. */
interface LogLine {
  level: 'log' | 'warn' | 'error' | 'debug';
  text: string;
}

/** Keeps every log, warning and error (with what follows the message: a stack, the context). */
class LogRecorder implements LoggerService {
  readonly lines: LogLine[] = [];

  log(message: unknown, ...rest: unknown[]): void {
    this.#keep('log', message, rest);
  }
  warn(message: unknown, ...rest: unknown[]): void {
    this.#keep('warn', message, rest);
  }
  error(message: unknown, ...rest: unknown[]): void {
    this.#keep('error', message, rest);
  }
  debug(message: unknown, ...rest: unknown[]): void {
    this.#keep('debug', message, rest);
  }
  verbose(): void {}
  fatal(message: unknown, ...rest: unknown[]): void {
    this.#keep('error', message, rest);
  }

  /** Lines of `level` from zzlock or @nestjs/schedule, newest last. */
  of(level: LogLine['level']): string[] {
    return this.lines.filter((line) => line.level === level).map((line) => line.text);
  }

  #keep(level: LogLine['level'], message: unknown, rest: unknown[]): void {
    const text = [message, ...rest]
      .map((part) => (part instanceof Error ? `${part.stack}` : String(part)))
      .join(' | ');
    if (/ZZLock|Schedule|ExceptionsHandler/.test(text)) this.lines.push({ level, text });
  }
}

@Controller()
class OrdersController {
  constructor(private readonly locks: LockService) {}

  @Get('orders/:id')
  @Locked((id: string) => `order:${id}`, { label: 'order', retryAfter: 2 })
  order(@Param('id') id: string) {
    return { order: id, lock: this.locks.current() };
  }

  /** Asks for 3 permits, where the test's other holder took the name with 2. */
  @Get('export')
  @Locked('export', { permits: 3 })
  export() {
    return { exported: true };
  }

  @Get('rejected')
  rejected() {
    throw new StoreRejectedError(
      'acquire',
      'audit',
      'permission-denied',
      new Error('etcdserver: permission denied'),
    );
  }
}

@Injectable()
class SweepJob {
  runs = 0;

  @Cron(NEVER, { name: 'sweep' })
  @Locked('sweep', { onBusy: 'skip' })
  async sweep(): Promise<void> {
    this.runs += 1;
  }
}

@Module({
  imports: [
    ScheduleModule.forRoot(),
    ZZLockModule.forRootAsync({
      useFactory: () => ({
        endpoints: [proxy.endpoint],
        namespace,
        ttl: 5,
        callTimeoutMs: 1000,
        metrics: false,
      }),
    }),
  ],
  controllers: [OrdersController],
  providers: [SweepJob],
})
class AppModule {}

describe('lock errors on routes, and what is logged', () => {
  let etcd: EtcdCluster;
  let app: INestApplication;
  let base: string;
  let other: LockClient;
  const logs = new LogRecorder();
  const skipped: LockSkippedEvent[] = [];

  before(async () => {
    etcd = await startEtcd();
    proxy = await startTcpProxy(etcd.endpoints[0]!);
    other = new LockClient({ endpoints: etcd.endpoints, namespace });
    app = await NestFactory.create(AppModule, { logger: logs });
    app.get(LockService).observe({ skipped: (event) => skipped.push(event) });
    await app.listen(0, '127.0.0.1');
    base = await app.getUrl();
  });
  after(async () => {
    await app?.close();
    await other?.close();
    await proxy?.close();
    if (etcd) {
      assert.deepEqual(await leftovers(etcd.endpoints, namespace), { keys: [], leases: [] });
      await etcd.stop();
    }
  });

  it('returns the lock handle in JSON, with the fencing token as a decimal string', async () => {
    const first = await fetch(`${base}/orders/7`);
    assert.equal(first.status, 200);
    const { order, lock } = (await first.json()) as { order: string; lock: LockHandleJson };
    assert.equal(order, '7');
    assert.deepEqual(
      { ...lock, fencingToken: undefined },
      { name: 'order:7', mode: 'exclusive', permits: 1, fencingToken: undefined },
    );
    assert.match(lock.fencingToken, /^\d+$/);
    const second = (await (await fetch(`${base}/orders/7`)).json()) as { lock: LockHandleJson };
    assert.ok(BigInt(second.lock.fencingToken) > BigInt(lock.fencingToken), 'tokens increase');
  });

  it('answers 423 with Nest’s error body, no lock name nor developer advice', async () => {
    const held = await other.acquire('order:8');
    try {
      const busy = await fetch(`${base}/orders/8`);
      assert.equal(busy.status, 423);
      assert.equal(busy.headers.get('retry-after'), '2');
      const body: LockedResponseBody = {
        statusCode: 423,
        message: 'The resource is locked by another request; retry later.',
        error: 'Locked',
      };
      assert.deepEqual(await busy.json(), body);
    } finally {
      await held.release();
    }
    assert.deepEqual(logs.of('warn'), [], 'a busy lock is routine: nothing above debug');
    assert.deepEqual(logs.of('error'), []);
  });

  it('answers 500 with a safe body to a permits disagreement, and logs the detail once', async () => {
    const held = await other.acquire('export', { permits: 2 });
    try {
      for (let request = 0; request < 3; request += 1) {
        const response = await fetch(`${base}/export`);
        assert.equal(response.status, 500);
        assert.equal(response.headers.get('retry-after'), null, 'retrying will not help');
        const body: LockServerErrorResponseBody = {
          statusCode: 500,
          message: 'Internal server error',
          error: 'Internal Server Error',
        };
        assert.deepEqual(await response.json(), body);
      }
    } finally {
      await held.release();
    }
    const errors = logs.of('error');
    assert.equal(errors.length, 1, errors.join('\n'));
    assert.match(errors[0]!, /LockConfigError: Invalid zzlock option "permits"/);
    assert.match(errors[0]!, /held with permits 2; this request asked for permits 3/);
    assert.match(errors[0]!, /Logged once per distinct error/);
    assert.match(errors[0]!, /\n\s+at /, 'with its stack');
  });

  it('answers 500 to a refusal of etcd (StoreRejectedError), logged once', async () => {
    for (let request = 0; request < 2; request += 1) {
      const response = await fetch(`${base}/rejected`);
      assert.equal(response.status, 500);
      assert.deepEqual(await response.json(), {
        statusCode: 500,
        message: 'Internal server error',
        error: 'Internal Server Error',
      });
    }
    const errors = logs.of('error').filter((line) => line.includes('StoreRejectedError'));
    assert.equal(errors.length, 1, errors.join('\n'));
    assert.match(errors[0]!, /grant the user's role readwrite/);
  });

  it('answers 503 + Retry-After while etcd is unreachable, skips the cron job, and logs the outage once at its start and once at its end', async () => {
    const sweep = app.get(SweepJob);
    const schedule = app.get(SchedulerRegistry);
    const before = { warn: logs.of('warn').length, error: logs.of('error').length };
    proxy.cut();
    try {
      for (const id of ['1', '2', '3']) {
        const response = await fetch(`${base}/orders/${id}`);
        assert.equal(response.status, 503, `order ${id}`);
        assert.equal(response.headers.get('retry-after'), '2');
        assert.notEqual(response.headers.get('connection'), 'close', 'not shutting down');
        const body: LockUnavailableResponseBody = {
          statusCode: 503,
          message: 'The service is temporarily unavailable; retry later.',
          error: 'Service Unavailable',
        };
        assert.deepEqual(await response.json(), body);
      }
      for (let tick = 0; tick < 3; tick += 1) await schedule.getCronJob('sweep').fireOnTick();
      await waitFor('three skipped ticks', () => skipped.length === 3);
      assert.equal(sweep.runs, 0);
      assert.deepEqual(
        skipped.map(({ name, reason, method }) => ({ name, reason, method })),
        Array(3).fill({ name: 'sweep', reason: 'unavailable', method: 'SweepJob.sweep' }),
      );
    } finally {
      proxy.restore();
    }
    const warnings = logs.of('warn').slice(before.warn);
    assert.equal(warnings.length, 1, warnings.join('\n'));
    assert.match(warnings[0]!, /^Lock acquisitions fail: The lock store \(etcd\) failed/);
    assert.match(warnings[0]!, /Logged once per outage/);
    assert.deepEqual(logs.of('error').slice(before.error), [], 'no stack per request or tick');
    assert.deepEqual(
      logs.of('log').filter((line) => line.includes('succeed again')),
      [],
      'not ended while nothing was granted',
    );

    await waitFor('a grant through the restored proxy', async () => {
      const response = await fetch(`${base}/orders/4`);
      await response.body?.cancel();
      return response.status === 200;
    });
    await schedule.getCronJob('sweep').fireOnTick();
    await waitFor('the sweep to run again', () => sweep.runs === 1);
    assert.equal(skipped.length, 3, 'not skipped once etcd answers');
    const ended = logs.of('log').filter((line) => line.includes('succeed again'));
    assert.equal(ended.length, 1, ended.join('\n'));
    assert.match(ended[0]!, /^Lock acquisitions succeed again, after \d+ failed/);
    assert.equal(logs.of('warn').length, before.warn + 1, 'still the one warning');
  });
});
