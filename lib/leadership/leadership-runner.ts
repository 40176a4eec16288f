import { Inject, Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import {
  LockClientClosedError,
  type Leadership,
  type LockManager,
  type StoreRejectedError,
} from '../core/index.js';
import { observerErrorMessage } from '../core/errors/messages.js';
import { ObserverSet } from '../core/observer-set.js';
import { ZZLOCK_MANAGER, ZZLOCK_OPTIONS } from '../zzlock.constants.js';
import type { ResolvedZZLockOptions } from '../zzlock-module-options.js';
import type { LeaderOnlySkippedEvent, ZZLockObserver } from '../zzlock-observer.js';
import { ElectionCandidacy, type LeadershipHandler } from './election-candidacy.js';
import type { LeaderOnlyMetadata } from './leader-only.decorator.js';

const logger = new Logger('ZZLock');

/**
 * This replica's standing in one declared election, as the health indicator reports it.
 * @internal
 */
export interface ElectionStanding {
  /** The election. */
  readonly name: string;
  /** True while this replica leads it. */
  readonly leading: boolean;
  /** The term it leads, when it leads. */
  readonly term?: bigint;
  /** What this replica proclaims. */
  readonly value: string;
  /** Why this replica gave the election up, when etcd refused its candidacy. */
  readonly refusal?: StoreRejectedError;
}

/**
 * The runtime of `@LeaderOnly` and `@OnLeadership`, one per `ZZLockModule`: the explorer declares
 * the elections their methods name and hands it the `@OnLeadership` methods; once the application
 * has bootstrapped it campaigns for each election (an {@link ElectionCandidacy}), runs
 * `@LeaderOnly` calls only while it leads, and reports changes (logs, `leadership` and
 * `leaderOnlySkipped` observers). `LockService.stopAcquiring()` starts its step-down and
 * `LockService.shutdown()` awaits it before anything else is released.
 * @internal not exported from the package
 *
 * @example
 * // Provided by ZZLockModule; a @LeaderOnly wrapper calls:
 * runner.runIfLeading(metadata, () => original.apply(this, args));
 */
@Injectable()
export class LeadershipRunner implements OnApplicationBootstrap {
  readonly #manager: LockManager;
  readonly #options: ResolvedZZLockOptions;
  readonly #candidacies = new Map<string, ElectionCandidacy>();
  readonly #observers = new ObserverSet<ZZLockObserver>((hook, error) =>
    logger.warn(observerErrorMessage(hook, error)),
  );
  readonly #stepDown = new AbortController();
  readonly #graceOver: Promise<void>;
  #endGrace!: () => void;
  #steppingDown?: Promise<void>;

  /**
   * @param manager The application's lock manager (`ZZLOCK_MANAGER`).
   * @param options The validated module options (`ZZLOCK_OPTIONS`).
   */
  constructor(
    @Inject(ZZLOCK_MANAGER) manager: LockManager,
    @Inject(ZZLOCK_OPTIONS) options: ResolvedZZLockOptions,
  ) {
    this.#manager = manager;
    this.#options = options;
    this.#graceOver = new Promise<void>((resolve) => (this.#endGrace = resolve));
  }

  /** Declares an election a decorator names: the module campaigns for it at bootstrap. */
  declare(election: string): void {
    if (!this.#candidacies.has(election)) {
      this.#candidacies.set(
        election,
        new ElectionCandidacy(election, this.#manager.election(election)),
      );
    }
  }

  /** Adds an `@OnLeadership` method of `election`, called at each term. */
  addHandler(election: string, handler: LeadershipHandler): void {
    this.declare(election);
    this.#candidacies.get(election)!.addHandler(handler);
  }

  /** The declared elections, in declaration order. */
  get elections(): string[] {
    return [...this.#candidacies.keys()];
  }

  /** Starts campaigning for every declared election, unless the step-down has begun. */
  onApplicationBootstrap(): void {
    if (this.#stepDown.signal.aborted) return;
    const { value, ttl } = this.#options.elections;
    for (const candidacy of this.#candidacies.values()) {
      candidacy.start({
        value,
        ttl,
        stepDown: this.#stepDown.signal,
        graceOver: this.#graceOver,
        report: (event) => this.#observers.emit('leadership', event),
        logger,
      });
    }
  }

  /** This replica's current leadership of a declared election, or `undefined`. */
  leadership(election: string): Leadership | undefined {
    return this.#candidacies.get(election)?.leadership;
  }

  /**
   * Runs one call of a `@LeaderOnly` method if this replica leads its election (the call counts
   * among the term's running calls); else reports it skipped and resolves `undefined`.
   */
  runIfLeading(metadata: LeaderOnlyMetadata, run: () => unknown): Promise<unknown> {
    const term = this.#candidacies.get(metadata.election)?.leadership;
    if (term === undefined || this.#stepDown.signal.aborted) {
      const reason = this.#stepDown.signal.aborted ? 'closing' : 'not-leader';
      const event: LeaderOnlySkippedEvent = { ...metadata, reason };
      logger.debug(
        `Skipped ${metadata.method}: this replica does not lead "${metadata.election}"` +
          (reason === 'closing' ? ' (shutting down).' : '.'),
      );
      this.#observers.emit('leaderOnlySkipped', event);
      return Promise.resolve(undefined);
    }
    const call = new Promise<unknown>((resolve) => resolve(run()));
    term.track(call);
    return call;
  }

  /** Adds the `leadership` and `leaderOnlySkipped` hooks of `observer`, if it has them. */
  observe(observer: ZZLockObserver): void {
    if (observer.leadership || observer.leaderOnlySkipped) this.#observers.add(observer);
  }

  /** This replica's standing in each declared election. */
  standings(): ElectionStanding[] {
    const { value } = this.#options.elections;
    return [...this.#candidacies.values()].map((candidacy) => {
      const leadership = candidacy.leadership;
      return {
        name: candidacy.name,
        leading: leadership !== undefined,
        ...(leadership === undefined ? {} : { term: leadership.term }),
        value,
        ...(candidacy.refusal === undefined ? {} : { refusal: candidacy.refusal }),
      };
    });
  }

  /**
   * Steps down from every election: campaigns end, `@LeaderOnly` calls are skipped, the signals
   * of the terms abort; waits for their calls (within `shutdownGraceMs`) and resigns, so the next
   * replica leads at once. Idempotent; never rejects.
   */
  stepDown(): Promise<void> {
    this.#steppingDown ??= (async () => {
      this.#stepDown.abort(new LockClientClosedError());
      const timer = setTimeout(this.#endGrace, this.#options.client.shutdownGraceMs);
      try {
        await Promise.all([...this.#candidacies.values()].map((candidacy) => candidacy.done));
      } finally {
        clearTimeout(timer);
        this.#endGrace();
      }
    })();
    return this.#steppingDown;
  }
}
