// @LeaderOnly and @OnLeadership in a Nest app on the memory store (one process, no etcd): the
// module campaigns at bootstrap, calls @OnLeadership with the Leadership and runs @LeaderOnly
// calls while it leads; after a loss it skips them, campaigns again and calls @OnLeadership anew;
// a method's resign() and a failing method; shutdown aborts the signal, awaits the method and
// resigns before the store closes; decorator order around @Cron and @Interval; events, metrics
// and health; bad input at decoration and at module init.
import 'reflect-metadata';
import assert from 'node:assert/strict';
import { hostname } from 'node:os';
import { after, before, describe, it } from 'node:test';
import { Injectable, Module, type INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Cron, Interval, ScheduleModule, SchedulerRegistry } from '@nestjs/schedule';
import { Test } from '@nestjs/testing';
import { Registry } from 'prom-client';
import {
  LeaderOnly,
  LockClientClosedError,
  LockConfigError,
  LockLostError,
  LockNotHeldError,
  LockService,
  MemoryBackend,
  OnLeadership,
  ZZLOCK_LEADER_ONLY_METADATA,
  ZZLOCK_MANAGER,
  ZZLockHealthIndicator,
  ZZLockModule,
  type LeaderOnlyMetadata,
  type LeaderOnlySkippedEvent,
  type Leadership,
  type LeadershipChangeEvent,
  type LockManager,
  type ZZLockModuleOptions,
} from '../../lib/index.js';
import { waitFor } from '../support/wait-for.js';
import { WarningRecorder } from './helpers.js';

const NEVER = '0 0 1 1 *'; // once a year: registered, fired by hand
/** Metadata keys of @nestjs/schedule (not exported from its entry). */
const CRON_METADATA = 'SCHEDULE_CRON_OPTIONS';
const SCHEDULE_INTERVAL_OPTIONS = 'SCHEDULE_INTERVAL_OPTIONS';

/** Keeps every leadership event from the start: it observes before the application bootstraps. */
@Injectable()
class EventLog {
  readonly events: LeadershipChangeEvent[] = [];
  readonly skipped: LeaderOnlySkippedEvent[] = [];

  constructor(locks: LockService) {
    locks.observe({
      leadership: (event) => this.events.push(event),
      leaderOnlySkipped: (event) => this.skipped.push(event),
    });
  }
}

@Injectable()
class Ingest {
  readonly leaderships: Leadership[] = [];
  readonly ended: string[] = [];
  readonly ran: string[] = [];
  /** What each term's method saw as the reason its signal aborted. */
  readonly reasons: unknown[] = [];

  constructor(private readonly locks: LockService) {}

  /** Leads until the signal aborts, then takes one more turn of the event loop to wind down. */
  @OnLeadership('ingest')
  async lead(leadership: Leadership): Promise<void> {
    this.leaderships.push(leadership);
    await new Promise<void>((resolve) =>
      leadership.signal.addEventListener('abort', () => resolve(), { once: true }),
    );
    this.reasons.push(leadership.signal.reason);
    await new Promise<void>((resolve) => setImmediate(resolve));
    this.ended.push(`term ${leadership.term}`);
  }

  @Cron(NEVER, { name: 'poll-below' })
  @LeaderOnly('ingest')
  async pollBelow(): Promise<string> {
    const leadership = this.locks.leadership('ingest');
    this.ran.push(`below ${leadership?.term}`);
    return 'polled';
  }

  @LeaderOnly('ingest')
  @Cron(NEVER, { name: 'poll-above' })
  pollAbove(): string {
    this.ran.push('above');
    return 'polled';
  }

  @Interval('sweep', 3_600_000)
  @LeaderOnly('ingest')
  sweep(): void {
    this.ran.push('sweep');
  }
}

@Injectable()
class Flaky {
  calls = 0;

  /** Fails at each term: the leadership stays (the @LeaderOnly methods still run). */
  @OnLeadership('ingest')
  fail(): void {
    this.calls += 1;
    throw new Error('flaky failed');
  }
}

interface Started {
  app: INestApplicationContext;
  events: LeadershipChangeEvent[];
  skipped: LeaderOnlySkippedEvent[];
  registry: Registry;
  backend: MemoryBackend;
}

async function start(
  providers: (new (...args: never[]) => object)[],
  options: ZZLockModuleOptions = {},
  logger: WarningRecorder | false = false,
): Promise<Started> {
  const registry = new Registry();
  @Module({
    imports: [
      ScheduleModule.forRoot(),
      ZZLockModule.forRoot({ store: 'memory', metrics: { registry }, ...options }),
    ],
    providers: [EventLog, ...providers],
  })
  class AppModule {}
  const app = await NestFactory.createApplicationContext(AppModule, { logger });
  const { events, skipped } = app.get(EventLog);
  const backend = app.get<LockManager>(ZZLOCK_MANAGER).backend as MemoryBackend;
  return { app, events, skipped, registry, backend };
}

describe('@LeaderOnly and @OnLeadership on the memory store', () => {
  let started: Started;
  const warnings = new WarningRecorder();

  before(async () => {
    started = await start([Ingest, Flaky], { elections: { value: 'replica-1' } }, warnings);
  });
  after(async () => {
    await started?.app.close();
  });

  it('campaigns at bootstrap and calls @OnLeadership with the Leadership', async () => {
    const ingest = started.app.get(Ingest);
    await waitFor('the first term', () => ingest.leaderships.length === 1);
    const [leadership] = ingest.leaderships;
    assert.equal(leadership!.name, 'ingest');
    assert.equal(leadership!.value, 'replica-1');
    assert.equal(typeof leadership!.term, 'bigint');
    assert.equal(leadership!.signal.aborted, false);
    assert.equal(started.app.get(LockService).leadership('ingest')?.term, leadership!.term);
    assert.equal(started.app.get(LockService).leadership('other'), null, 'not declared');
    assert.deepEqual(
      started.events.map(({ change, leading }) => [change, leading]),
      [
        ['campaigning', false],
        ['elected', true],
      ],
    );
    assert.equal(started.events[1]!.term, leadership!.term);
  });

  it('runs @LeaderOnly above or below @Cron and @Interval, metadata and name kept', async () => {
    const ingest = started.app.get(Ingest);
    const schedule = started.app.get(SchedulerRegistry);
    const proto = Ingest.prototype;
    for (const method of [proto.pollAbove, proto.pollBelow]) {
      assert.ok(Reflect.getMetadata(CRON_METADATA, method), `${method.name} is still a cron job`);
      const metadata: LeaderOnlyMetadata = Reflect.getMetadata(ZZLOCK_LEADER_ONLY_METADATA, method);
      assert.equal(metadata.election, 'ingest');
    }
    assert.equal(proto.pollAbove.name, 'pollAbove');
    assert.equal(proto.pollBelow.name, 'pollBelow');
    assert.ok(Reflect.getMetadata(SCHEDULE_INTERVAL_OPTIONS, proto.sweep));
    assert.ok(schedule.getInterval('sweep'));
    await schedule.getCronJob('poll-above').fireOnTick();
    await schedule.getCronJob('poll-below').fireOnTick();
    await waitFor('both cron runs', () => ingest.ran.length >= 2);
    assert.equal(
      await ingest.pollAbove(),
      'polled',
      'a sync method returns a Promise of its value',
    );
    await ingest.sweep();
    const term = ingest.leaderships[0]!.term;
    assert.deepEqual([...ingest.ran].sort(), ['above', 'above', `below ${term}`, 'sweep']);
  });

  it('keeps leading when an @OnLeadership method fails', async () => {
    assert.equal(started.app.get(Flaky).calls, 1);
    assert.equal(await started.app.get(Ingest).pollAbove(), 'polled');
  });

  it('after a loss: aborts the signal, skips @LeaderOnly, campaigns again, calls @OnLeadership anew', async () => {
    const ingest = started.app.get(Ingest);
    const first = ingest.leaderships[0]!;
    started.backend.expireLeader('ingest');
    assert.ok(first.signal.aborted);
    assert.ok(first.signal.reason instanceof LockLostError);
    assert.equal(await ingest.pollAbove(), undefined, 'skipped: not the leader');
    assert.deepEqual(started.skipped.at(-1), {
      election: 'ingest',
      method: 'Ingest.pollAbove',
      reason: 'not-leader',
    });
    assert.equal(started.app.get(LockService).leadership('ingest'), null);
    await waitFor('the second term', () => ingest.leaderships.length === 2, 5_000);
    const second = ingest.leaderships[1]!;
    assert.ok(second.term > first.term);
    assert.deepEqual(ingest.ended, [`term ${first.term}`], 'the first term ended before');
    assert.ok(ingest.reasons[0] instanceof LockLostError);
    assert.equal(started.app.get(Flaky).calls, 2);
    assert.deepEqual(
      started.events.slice(2).map(({ change }) => change),
      ['lost', 'campaigning', 'elected'],
    );
    assert.ok(started.events[2]!.reason instanceof LockLostError);
    assert.match(warnings.warnings.join('\n'), /Lost the leadership of "ingest"/);
    assert.equal(await ingest.pollAbove(), 'polled');
  });

  it("ends the term for every method on a method's resign(), then leads again", async () => {
    const ingest = started.app.get(Ingest);
    const second = ingest.leaderships[1]!;
    await second.resign();
    assert.ok(second.signal.aborted);
    assert.ok(second.signal.reason instanceof LockNotHeldError);
    await waitFor('the third term', () => ingest.leaderships.length === 3, 5_000);
    assert.ok(ingest.leaderships[2]!.term > second.term);
    assert.deepEqual(
      started.events.slice(5).map(({ change }) => change),
      ['resigned', 'campaigning', 'elected'],
    );
  });

  it('counts and gauges in metrics, and reports the election in health', async () => {
    const text = await started.registry.metrics();
    assert.match(text, /^zzlock_leader\{election="ingest"\} 1$/m);
    assert.match(
      text,
      /^zzlock_leadership_changes_total\{election="ingest",change="elected"\} 3$/m,
    );
    assert.match(text, /^zzlock_leadership_changes_total\{election="ingest",change="lost"\} 1$/m);
    assert.match(
      text,
      /^zzlock_leadership_changes_total\{election="ingest",change="resigned"\} 1$/m,
    );
    assert.match(text, /^zzlock_leader_only_skipped_total\{election="ingest"\} 1$/m);
    const health = await started.app.get(ZZLockHealthIndicator).isHealthy();
    const term = started.app.get(Ingest).leaderships[2]!.term;
    assert.deepEqual(health, {
      zzlock: {
        status: 'up',
        store: 'memory',
        elections: [
          { name: 'ingest', leading: true, leader: { value: 'replica-1', term: String(term) } },
        ],
      },
    });
  });

  it('at shutdown: aborts the signal, waits for the method, resigns, then closes', async () => {
    const ingest = started.app.get(Ingest);
    const third = ingest.leaderships[2]!;
    const before = started.events.length;
    await started.app.close();
    assert.ok(third.signal.aborted);
    assert.ok(ingest.reasons[2] instanceof LockClientClosedError);
    assert.deepEqual(ingest.ended.at(-1), `term ${third.term}`, 'the method ended');
    assert.deepEqual(
      started.events.slice(before).map(({ change }) => change),
      ['resigned'],
    );
    assert.equal(third.resigned, true);
    assert.equal(await ingest.pollAbove(), undefined, 'skipped after shutdown');
    assert.equal(started.skipped.at(-1)?.reason, 'closing');
    const text = await started.registry.metrics();
    assert.match(text, /^zzlock_leader\{election="ingest"\} 0$/m);
  });
});

describe('@LeaderOnly and @OnLeadership: options and bad input', () => {
  it('proclaims host:pid unless elections.value says otherwise', async () => {
    @Injectable()
    class Leader {
      value?: string;
      @OnLeadership('default-value')
      lead(leadership: Leadership): void {
        this.value = leadership.value;
      }
    }
    const { app } = await start([Leader]);
    try {
      await waitFor('the term', () => app.get(Leader).value !== undefined);
      assert.equal(app.get(Leader).value, `${hostname()}:${process.pid}`);
    } finally {
      await app.close();
    }
  });

  it('rejects bad decorator input at class definition with LockConfigError', () => {
    const bad: [string, () => unknown][] = [
      ['an empty name', () => LeaderOnly('')],
      ['a name that is no string', () => LeaderOnly(42 as unknown as string)],
      ['a control character', () => OnLeadership('in\ngest')],
      ['an empty @OnLeadership name', () => OnLeadership('')],
      [
        'a static method',
        () => {
          class Static {
            @LeaderOnly('x')
            static job(): void {}
          }
          return Static;
        },
      ],
      [
        'a static @OnLeadership',
        () => {
          class Static {
            @OnLeadership('x')
            static lead(): void {}
          }
          return Static;
        },
      ],
      [
        'an accessor',
        () => {
          class Accessor {
            @(LeaderOnly('x') as unknown as MethodDecorator)
            get job(): number {
              return 1;
            }
          }
          return Accessor;
        },
      ],
      [
        'two elections on one method',
        () => {
          class Twice {
            @LeaderOnly('a')
            @LeaderOnly('b')
            job(): void {}
          }
          return Twice;
        },
      ],
      [
        'two @OnLeadership on one method',
        () => {
          class Twice {
            @OnLeadership('a')
            @OnLeadership('b')
            lead(): void {}
          }
          return Twice;
        },
      ],
    ];
    for (const [what, decorate] of bad) {
      assert.throws(decorate, LockConfigError, what);
    }
  });

  it('rejects bad elections options at module init with LockConfigError', async () => {
    const bad: [string, unknown, RegExp][] = [
      ['an unknown key', { valeu: 'x' }, /elections has no option "valeu"/],
      ['no object', 'replica-1', /elections is \{ value\?, ttl\? \}/],
      ['a value that is no string', { value: 42 }, /elections\.value/],
      ['an oversized value', { value: 'x'.repeat(5000) }, /elections\.value/],
      ['a ttl of 0', { ttl: 0 }, /elections\.ttl/],
      ['a fractional ttl', { ttl: 1.5 }, /elections\.ttl/],
    ];
    for (const [what, elections, message] of bad) {
      const options = {
        store: 'memory',
        metrics: false,
        elections: elections as ZZLockModuleOptions['elections'],
      } as const;
      await assert.rejects(
        Test.createTestingModule({ imports: [ZZLockModule.forRoot(options)] }).compile(),
        (error: unknown) => error instanceof LockConfigError && message.test(error.message),
        what,
      );
    }
  });

  it('fails a @LeaderOnly call on an instance no module bound, with LockConfigError', async () => {
    class Unbound {
      @LeaderOnly('x')
      async job(): Promise<string> {
        return 'ran';
      }
    }
    await assert.rejects(new Unbound().job(), LockConfigError);
  });
});
