import { Inject, Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import type { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { failedOutcome } from '../core/acquire-outcome.js';
import { LockConfigError, type LockAcquireFailedEvent } from '../core/index.js';
import { LockService } from '../lock.service.js';
import { ZZLOCK_NEST_DEFAULTS, ZZLOCK_OPTIONS } from '../zzlock.constants.js';
import type { ResolvedZZLockOptions } from '../zzlock-module-options.js';

type PromClient = typeof import('prom-client');

/**
 * Names of zzlock's metrics without their prefix (`zzlock_` by default). Every lock series has
 * the labels `lock`: the declared lock name or template (`@Locked`'s name or `label`, a call's
 * `label`), never a per-entity key (a call that gives no `label` is counted under
 * `'unlabelled'`), and `mode`: `exclusive`, `semaphore` or `shared` (three values, so at most
 * three series per lock label; a semaphore's permits are no label). The election series have the
 * label `election`: a name `@LeaderOnly` or `@OnLeadership` declares in code, so bounded.
 *
 * @example
 * `${'zzlock_'}${ZZLOCK_METRIC_NAMES.acquireDuration}`; // 'zzlock_acquire_duration_seconds'
 */
export const ZZLOCK_METRIC_NAMES = {
  /** Histogram {lock, mode, outcome}: time from asking for a lock to the grant or the failure. */
  acquireDuration: 'acquire_duration_seconds',
  /** Histogram {lock, mode}: time spent waiting behind another holder. */
  waitDuration: 'wait_duration_seconds',
  /** Histogram {lock, mode}: time from grant to release. */
  holdDuration: 'hold_duration_seconds',
  /** Gauge {lock, mode}: locks (permits, shared holds) held right now by this process. */
  heldLocks: 'held_locks',
  /** Counter {lock, mode}: acquisitions that found the lock held by someone else. */
  contended: 'contended_total',
  /** Counter {lock, mode}: `@Locked(..., { onBusy: 'skip' })` calls skipped. */
  skipped: 'skipped_total',
  /** Counter {lock, mode}: held locks lost (lease not renewed in time). */
  lost: 'lost_total',
  /** Counter {operation}: failed calls to the lock store. */
  storeErrors: 'store_errors_total',
  /** Gauge {election}: 1 while this replica leads the election, else 0. */
  leader: 'leader',
  /**
   * Counter {election, change}: this replica's leadership changes: `elected`, `lost` (its lease
   * could not be renewed in time), `resigned` (shutdown, or a method's `resign()`).
   */
  leadershipChanges: 'leadership_changes_total',
  /** Counter {election}: `@LeaderOnly` calls skipped because this replica did not lead. */
  leaderOnlySkipped: 'leader_only_skipped_total',
} as const;

/** The outcome label of a failed acquisition: the error code without its prefix, lower case. */
function outcomeOf(event: LockAcquireFailedEvent): string {
  return failedOutcome(event.outcome);
}

/**
 * zzlock's Prometheus metrics. prom-client is an optional peer: when it can be imported, the
 * metrics are registered at module init with no configuration (prom-client's global registry,
 * or `metrics.registry`) and fed by a lock observer; without it, or with `metrics: false`,
 * nothing happens. Metrics already in the registry (another app in the same process) are reused.
 * A provider of `ZZLockModule`, not exported: read the metrics from the registry.
 *
 * @example
 * // GET /metrics in your app, with prom-client's global registry:
 * @Get('metrics') metrics() { return register.metrics(); }
 * // zzlock_acquire_duration_seconds_bucket{lock="nightly",outcome="acquired",le="0.005"} 3
 * @internal
 */
@Injectable()
export class ZZLockMetrics implements OnModuleInit {
  readonly #logger = new Logger('ZZLock');
  #enabled = false;

  /**
   * @param options The validated module options (`ZZLOCK_OPTIONS`).
   * @param lockService The service whose locks are measured.
   */
  constructor(
    @Inject(ZZLOCK_OPTIONS) private readonly options: ResolvedZZLockOptions,
    private readonly lockService: LockService,
  ) {}

  /**
   * True once the metrics are registered and fed.
   * @default false until module init, and when prom-client is missing or metrics are off
   */
  get enabled(): boolean {
    return this.#enabled;
  }

  /** Loads prom-client, registers (or reuses) the metrics and starts observing locks. */
  async onModuleInit(): Promise<void> {
    const settings = this.options.metrics;
    if (settings === false || this.#enabled) return;
    let prom: PromClient;
    try {
      prom = await import('prom-client');
    } catch {
      this.#logger.debug('prom-client is not installed: zzlock metrics are off.');
      return;
    }
    const registry = (settings.registry ?? prom.register) as Registry;
    const name = (suffix: string): string => `${settings.prefix}${suffix}`;
    const reuse = <M>(
      metricName: string,
      type: abstract new (...args: never[]) => M,
      create: () => M,
    ): M => {
      const existing = registry.getSingleMetric(metricName);
      if (existing === undefined) return create();
      if (existing instanceof type) return existing;
      throw new LockConfigError(
        'metrics',
        `the registry already has a metric "${metricName}" of another type; set metrics.prefix`,
        metricName,
      );
    };
    const histogram = (
      suffix: string,
      help: string,
      labelNames: string[],
      buckets: readonly number[],
    ): Histogram<string> =>
      reuse(
        name(suffix),
        prom.Histogram,
        () =>
          new prom.Histogram({
            name: name(suffix),
            help,
            labelNames,
            buckets: [...buckets],
            registers: [registry],
          }),
      );
    const counter = (suffix: string, help: string, labelNames: string[]): Counter<string> =>
      reuse(
        name(suffix),
        prom.Counter,
        () => new prom.Counter({ name: name(suffix), help, labelNames, registers: [registry] }),
      );
    const gauge = (suffix: string, help: string, labelNames: string[]): Gauge<string> =>
      reuse(
        name(suffix),
        prom.Gauge,
        () => new prom.Gauge({ name: name(suffix), help, labelNames, registers: [registry] }),
      );

    const { waitBuckets, holdBuckets } = ZZLOCK_NEST_DEFAULTS;
    const acquireDuration = histogram(
      ZZLOCK_METRIC_NAMES.acquireDuration,
      'Time from asking for a lock to its grant or failure, by outcome.',
      ['lock', 'mode', 'outcome'],
      waitBuckets,
    );
    const waitDuration = histogram(
      ZZLOCK_METRIC_NAMES.waitDuration,
      'Time spent waiting for a lock held by another owner.',
      ['lock', 'mode'],
      waitBuckets,
    );
    const holdDuration = histogram(
      ZZLOCK_METRIC_NAMES.holdDuration,
      'Time a lock was held, from grant to release.',
      ['lock', 'mode'],
      holdBuckets,
    );
    const heldLocks = gauge(ZZLOCK_METRIC_NAMES.heldLocks, 'Locks held by this process.', [
      'lock',
      'mode',
    ]);
    const contended = counter(
      ZZLOCK_METRIC_NAMES.contended,
      'Acquisitions that found the lock held by another owner.',
      ['lock', 'mode'],
    );
    const skipped = counter(
      ZZLOCK_METRIC_NAMES.skipped,
      "@Locked calls with onBusy 'skip' that did not run because the lock was busy.",
      ['lock', 'mode'],
    );
    const lost = counter(
      ZZLOCK_METRIC_NAMES.lost,
      'Held locks lost because their lease could not be renewed in time.',
      ['lock', 'mode'],
    );
    const storeErrors = counter(
      ZZLOCK_METRIC_NAMES.storeErrors,
      'Failed calls to the lock store, by operation.',
      ['operation'],
    );

    const leader = gauge(
      ZZLOCK_METRIC_NAMES.leader,
      '1 while this replica leads the election, else 0.',
      ['election'],
    );
    const leadershipChanges = counter(
      ZZLOCK_METRIC_NAMES.leadershipChanges,
      "This replica's leadership changes: elected, lost or resigned.",
      ['election', 'change'],
    );
    const leaderOnlySkipped = counter(
      ZZLOCK_METRIC_NAMES.leaderOnlySkipped,
      '@LeaderOnly calls that did not run because this replica did not lead the election.',
      ['election'],
    );

    this.lockService.observe({
      acquired: ({ label, mode, waitedMs, contended: wasContended, reentrant }) => {
        const lock = { lock: label, mode };
        acquireDuration.observe(
          { ...lock, outcome: reentrant ? 'reentrant' : 'acquired' },
          waitedMs / 1000,
        );
        if (reentrant) return;
        heldLocks.inc(lock);
        if (wasContended) {
          contended.inc(lock);
          waitDuration.observe(lock, waitedMs / 1000);
        }
      },
      acquireFailed: (event) => {
        const lock = { lock: event.label, mode: event.mode };
        const outcome = outcomeOf(event);
        acquireDuration.observe({ ...lock, outcome }, event.waitedMs / 1000);
        if (outcome === 'busy' || outcome === 'timeout') contended.inc(lock);
        if (outcome === 'timeout') waitDuration.observe(lock, event.waitedMs / 1000);
      },
      released: ({ label, mode, heldMs }) => {
        heldLocks.dec({ lock: label, mode });
        holdDuration.observe({ lock: label, mode }, heldMs / 1000);
      },
      lost: ({ label, mode }) => lost.inc({ lock: label, mode }),
      storeError: ({ operation }) => storeErrors.inc({ operation }),
      skipped: ({ label, mode }) => skipped.inc({ lock: label, mode }),
      leadership: ({ election, change }) => {
        // inc/dec rather than set: two applications in one process share the series.
        if (change === 'campaigning')
          leader.inc({ election }, 0); // the series exists at 0
        else {
          if (change === 'elected') leader.inc({ election });
          else leader.dec({ election });
          leadershipChanges.inc({ election, change });
        }
      },
      leaderOnlySkipped: ({ election }) => leaderOnlySkipped.inc({ election }),
    });
    this.#enabled = true;
  }
}
