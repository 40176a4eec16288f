import { setTimeout as delay } from 'node:timers/promises';
import { LockTimeoutError } from '../errors/lock-timeout.error.js';
import { StoreUnavailableError } from '../errors/store-unavailable.error.js';
import type { WaitBudget } from '../wait-budget.js';

/** First backoff after a failed call, in ms; it doubles up to {@link MAX_BACKOFF_MS}. */
const FIRST_BACKOFF_MS = 50;
/**
 * Longest backoff. A leader election takes one to two seconds, and a waiter sleeping when it ends
 * is late by up to its backoff: a 1 s cap made grants resume up to 3.1 s after a leader kill in a
 * soak. etcd's Go client retries every 25 ms; 250 ms is a few calls per second per waiting acquire.
 */
const MAX_BACKOFF_MS = 250;

/**
 * Further attempts of an acquisition that may not wait, after a call etcd did not answer (when
 * there are other members to try).
 */
const ZERO_WAIT_RETRIES = 2;

/**
 * How a waiting acquisition rides out an etcd that does not answer for a while (a leader election,
 * a member going away): within its wait budget it tries again after a backoff — on another member,
 * since each call fails over — and fails with `StoreUnavailableError` only once the budget runs out
 * while etcd is still failing. An acquisition that may not wait (`waitMs: 0`) fails at once, but
 * for the txn that puts its key (see {@link StoreRetry.afterOneAttempt}).
 * Refusals (`StoreRejectedError`) are never ridden out: etcd answered.
 * @internal
 */
export class StoreRetry {
  #failures = 0;
  #lastError?: StoreUnavailableError;
  /** The first failure of an acquisition that may not wait: what it fails with. */
  #firstError?: StoreUnavailableError;

  /**
   * @param budget The acquisition's wait budget.
   * @param zeroWaitRetries Further attempts at once of a no-wait acquisition's one-attempt call:
   *   worth it only with other members to go to.
   */
  constructor(
    private readonly budget: WaitBudget,
    private readonly zeroWaitRetries = ZERO_WAIT_RETRIES,
  ) {}

  /** True while the last call failed and none has succeeded since. */
  get failing(): boolean {
    return this.#failures > 0;
  }

  /** A call succeeded: the next failure starts from the first backoff again. */
  succeeded(): void {
    this.#failures = 0;
    this.#lastError = undefined;
    this.#firstError = undefined;
  }

  /**
   * After a failed call: waits the backoff and returns, so the caller tries again; or throws
   * `error` when it cannot be ridden out, and the last store error when the budget runs out first.
   */
  async after(error: unknown): Promise<void> {
    if (!(error instanceof StoreUnavailableError) || this.budget.waitMs === 0) throw error;
    this.#lastError = error;
    const backoffMs = Math.min(FIRST_BACKOFF_MS * 2 ** this.#failures, MAX_BACKOFF_MS);
    this.#failures += 1;
    // Jitter, so that the waiters of many processes do not retry in step.
    await this.explain(() => this.budget.race(delay(backoffMs * (0.5 + Math.random() / 2))));
  }

  /**
   * After a call made with one attempt (a txn that puts a key, which the etcd client does not
   * retry): as {@link after}, except that an acquisition that may not wait gets up to two more
   * attempts at once, each on a member picked afresh, as the client's own retries gave it before.
   * Failing, it reports the first failure: the later ones may only say that a member's breaker is
   * open.
   */
  async afterOneAttempt(error: unknown): Promise<void> {
    if (!(error instanceof StoreUnavailableError) || this.budget.waitMs > 0) {
      return this.after(error);
    }
    this.#firstError ??= error;
    if (this.#failures >= this.zeroWaitRetries) throw this.#firstError;
    this.#failures += 1;
  }

  /**
   * Runs `work` (a call within the budget); when the budget runs out while etcd is failing, the
   * caller learns why: the last `StoreUnavailableError`, not a bare timeout.
   */
  async explain<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      if (error instanceof LockTimeoutError && this.#lastError !== undefined) throw this.#lastError;
      throw error;
    }
  }
}
