import { LockAbortedError } from './errors/lock-aborted.error.js';
import { LockClientClosedError } from './errors/lock-client-closed.error.js';
import { LockTimeoutError } from './errors/lock-timeout.error.js';
import { ZZLockError } from './errors/zzlock.error.js';

/** setTimeout's largest delay; longer waits are treated as unbounded. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * The time and the abort signal one acquisition may spend waiting. Every await of the wait goes
 * through {@link WaitBudget.race}, so a deadline or an abort ends it at once, whatever etcd does.
 * @internal
 */
export class WaitBudget {
  readonly #deadline: number;

  /**
   * @param name The lock, for errors.
   * @param waitMs The wait allowed; `0` means "no wait": only the signal can end a call early.
   * @param signals End the wait when one fires (checked in order; cheaper than `AbortSignal.any`).
   */
  constructor(
    readonly name: string,
    readonly waitMs: number,
    readonly signals: readonly AbortSignal[],
  ) {
    this.#deadline = waitMs === 0 ? Infinity : performance.now() + waitMs;
  }

  /** The error that ends this wait now, if any. */
  expired(): ZZLockError | undefined {
    const signal = this.signals.find((candidate) => candidate.aborted);
    if (signal) {
      const reason: unknown = signal.reason;
      // Shutdown aborts every wait with one reason: each caller gets its own error, naming its lock.
      if (reason instanceof LockClientClosedError) return new LockClientClosedError(this.name);
      return reason instanceof ZZLockError ? reason : new LockAbortedError(this.name, reason);
    }
    if (performance.now() >= this.#deadline) return new LockTimeoutError(this.name, this.waitMs);
    return undefined;
  }

  /** Throws the error that ends this wait, if any. */
  check(): void {
    const error = this.expired();
    if (error) throw error;
  }

  /** Settles like `work`, or rejects with the timeout/abort error first. */
  race<T>(work: Promise<T>): Promise<T> {
    const expired = this.expired();
    if (expired) {
      work.catch(() => undefined); // started already: its failure must not go unhandled
      return Promise.reject(expired);
    }
    return new Promise<T>((resolve, reject) => {
      const remaining = this.#deadline - performance.now();
      // A timer may fire a little before performance.now() reaches the deadline (Node schedules
      // it from the event loop's cached clock): then it waits out the rest, so that a wait never
      // ends before its waitMs.
      const onTimer = () => {
        const left = this.#deadline - performance.now();
        if (left > 0) timer = setTimeout(onTimer, left);
        else finish(this.expired() ?? new LockTimeoutError(this.name, this.waitMs));
      };
      let timer = remaining <= MAX_TIMER_MS ? setTimeout(onTimer, remaining) : undefined;
      const onAbort = () => finish(this.expired());
      for (const signal of this.signals) signal.addEventListener('abort', onAbort, { once: true });
      const finish = (error: ZZLockError | undefined, settle?: () => void) => {
        clearTimeout(timer);
        for (const signal of this.signals) signal.removeEventListener('abort', onAbort);
        if (settle) settle();
        else reject(error);
      };
      work.then(
        (value) => finish(undefined, () => resolve(value)),
        (error: unknown) => finish(undefined, () => reject(error)),
      );
    });
  }
}

/**
 * A wake-up call that is not lost when it comes before anyone waits for it.
 * @internal
 */
export class Wakeup {
  #fired = false;
  #resolve?: () => void;

  /** Wakes the waiter, now or at its next {@link wait}. */
  fire(): void {
    this.#fired = true;
    this.#resolve?.();
  }

  /**
   * Resolves at the next (or a pending) {@link fire}, and consumes it; or after `timeoutMs`.
   * @returns true when woken by {@link fire}, false when the time ran out.
   */
  async wait(timeoutMs: number): Promise<boolean> {
    if (!this.#fired) {
      let timer: NodeJS.Timeout | undefined;
      await new Promise<void>((resolve) => {
        this.#resolve = resolve;
        timer = setTimeout(resolve, timeoutMs);
      });
      clearTimeout(timer);
    }
    const fired = this.#fired;
    this.#fired = false;
    this.#resolve = undefined;
    return fired;
  }
}
