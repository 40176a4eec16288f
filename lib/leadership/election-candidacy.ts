import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '@nestjs/common';
import {
  LockClientClosedError,
  StoreRejectedError,
  type Election,
  type Leadership,
} from '../core/index.js';
import type { LeadershipChangeEvent } from '../zzlock-observer.js';
import { campaignRetryDelayMs } from './campaign-backoff.js';
import { ModuleLeadership } from './module-leadership.js';

/**
 * An `@OnLeadership` method bound to its instance.
 * @internal
 */
export interface LeadershipHandler {
  /** The method, as `Class.method`. */
  readonly method: string;
  /** Calls it with the leadership. */
  readonly call: (leadership: Leadership) => unknown;
}

/** What a candidacy needs from its runner. @internal */
export interface CandidacyContext {
  /** What the replica proclaims and the TTL it campaigns with. */
  readonly value: string;
  readonly ttl: number;
  /** Aborts when the module steps down: campaigns end, terms end. */
  readonly stepDown: AbortSignal;
  /** Resolves when the step-down's grace is over: calls still running are then left behind. */
  readonly graceOver: Promise<void>;
  /** Tells the observers. */
  readonly report: (event: LeadershipChangeEvent) => void;
  readonly logger: Logger;
}

/**
 * This replica's candidacy in one election its decorators declare: campaigns, leads (calls the
 * `@OnLeadership` methods with the term, lets `@LeaderOnly` calls run), and campaigns again after
 * the term ends, waiting with {@link campaignRetryDelayMs} between two campaigns, until the module
 * steps down; then it waits (within the grace) for the calls of its term and resigns. One term's
 * calls have all ended before the next term's begin. Gives up only on a refusal from the store
 * (`StoreRejectedError`: permission denied, never retried).
 * @internal not exported from the package
 */
export class ElectionCandidacy {
  readonly #handlers: LeadershipHandler[] = [];
  #current?: ModuleLeadership;
  #done?: Promise<void>;
  #refusal?: StoreRejectedError;

  /**
   * @param name The election.
   * @param election Where to campaign.
   */
  constructor(
    readonly name: string,
    private readonly election: Election,
  ) {}

  /** The `@OnLeadership` methods of the election, called at each term. */
  addHandler(handler: LeadershipHandler): void {
    this.#handlers.push(handler);
  }

  /** The term this replica leads now, or `undefined` (no leadership, or it has ended). */
  get leadership(): ModuleLeadership | undefined {
    const current = this.#current;
    return current !== undefined && current.leading ? current : undefined;
  }

  /** Why the candidacy gave up, if the store refused it. */
  get refusal(): StoreRejectedError | undefined {
    return this.#refusal;
  }

  /** Starts campaigning (once); {@link done} settles when the candidacy has ended. */
  start(context: CandidacyContext): void {
    this.#done ??= this.#run(context).catch((error: unknown) =>
      context.logger.error(`The candidacy for "${this.name}" failed: ${String(error)}`),
    );
  }

  /** Settles once the candidacy has ended (step-down or refusal); at once if it never started. */
  get done(): Promise<void> {
    return this.#done ?? Promise.resolve();
  }

  async #run(context: CandidacyContext): Promise<void> {
    const { stepDown, value, ttl, logger } = context;
    let failures = 0;
    while (!stepDown.aborted) {
      context.report({ election: this.name, change: 'campaigning', leading: false, value });
      let core: Leadership;
      try {
        core = await this.election.campaign({ value, ttl, signal: stepDown });
      } catch (error) {
        if (stepDown.aborted || error instanceof LockClientClosedError) return;
        if (error instanceof StoreRejectedError) {
          this.#refusal = error;
          logger.error(
            `etcd refused the candidacy for "${this.name}": this replica will not lead it. ` +
              String(error),
          );
          return;
        }
        failures += 1;
        const delayMs = campaignRetryDelayMs(failures);
        logger.warn(
          `The campaign for "${this.name}" failed; campaigning again in ${Math.round(delayMs)} ms: ` +
            String(error),
        );
        await this.#pause(delayMs, stepDown);
        continue;
      }
      const electedAt = performance.now();
      const lasted = await this.#lead(core, context);
      if (stepDown.aborted) return;
      // A leadership that did not last its TTL counts as a failure: never a tight loop of
      // elections and losses while the store is failing.
      failures = lasted || performance.now() - electedAt >= ttl * 1000 ? 1 : failures + 1;
      await this.#pause(campaignRetryDelayMs(failures), stepDown);
    }
  }

  /**
   * One term: tells, calls the handlers, waits for its end, waits for its calls (within the grace
   * once stepping down), resigns. True when it ended by a resign rather than a loss.
   */
  async #lead(core: Leadership, context: CandidacyContext): Promise<boolean> {
    const { stepDown, value, logger } = context;
    if (stepDown.aborted) {
      // Elected as the step-down began: nothing ran under it.
      await this.#resign(core, logger);
      return true;
    }
    const term = new ModuleLeadership(core, stepDown);
    const event = { election: this.name, value, term: core.term };
    this.#current = term;
    context.report({ ...event, change: 'elected', leading: true });
    logger.log(`Leads "${this.name}" (term ${core.term}) as "${value}".`);
    for (const handler of this.#handlers) term.track(this.#call(handler, term, logger));
    if (!term.signal.aborted) await once(term.signal);
    const lost = core.signal.aborted && !term.resignedByMethod;
    if (lost) {
      const reason: unknown = core.signal.reason;
      context.report({ ...event, change: 'lost', leading: false, reason });
      logger.warn(`Lost the leadership of "${this.name}" (term ${core.term}): ${String(reason)}`);
    }
    await this.#settled(term, context);
    await this.#resign(core, logger); // after a loss too: its key may still be there
    if (!lost) {
      context.report({ ...event, change: 'resigned', leading: false });
      logger.log(`Resigned the leadership of "${this.name}" (term ${core.term}).`);
    }
    return !lost;
  }

  async #resign(core: Leadership, logger: Logger): Promise<void> {
    try {
      await core.resign();
    } catch (error) {
      logger.warn(`Resigning "${this.name}" failed; its lease will free it: ${String(error)}`);
    }
  }

  /**
   * Waits for the term's calls, until the step-down's grace is over at most, warning once if they
   * outlive the term by its TTL.
   */
  async #settled(term: ModuleLeadership, context: CandidacyContext): Promise<void> {
    const timer = setTimeout(() => {
      context.logger.warn(
        `@OnLeadership or @LeaderOnly calls of "${this.name}" still run ${context.ttl} s after ` +
          'their leadership ended: stop them when the leadership signal aborts. This replica ' +
          'campaigns again (or, shutting down, resigns) once they have ended.',
      );
    }, context.ttl * 1000);
    try {
      await Promise.race([term.settled(), context.graceOver]);
    } finally {
      clearTimeout(timer);
    }
  }

  async #call(handler: LeadershipHandler, term: ModuleLeadership, logger: Logger): Promise<void> {
    try {
      await handler.call(term);
    } catch (error) {
      // A failing method leaves the leadership to the others (@LeaderOnly keeps running).
      logger.error(
        `@OnLeadership ${handler.method}() failed in term ${term.term} of "${this.name}": ` +
          String(error),
        error instanceof Error ? error.stack : undefined,
      );
    }
  }

  async #pause(ms: number, stepDown: AbortSignal): Promise<void> {
    await sleep(ms, undefined, { signal: stepDown }).catch(() => undefined);
  }
}

/** Resolves when `signal` aborts. */
function once(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) =>
    signal.addEventListener('abort', () => resolve(), { once: true }),
  );
}
