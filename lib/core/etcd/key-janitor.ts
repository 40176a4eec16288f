import { setTimeout as delay } from 'node:timers/promises';
import { createClosingController } from '../closing-controller.js';
import { StoreRejectedError } from '../errors/store-rejected.error.js';

/** How often, and how many times, the key of a txn with an unknown outcome is deleted again. */
const UNCERTAIN_SWEEP_MS = 2_000;
const UNCERTAIN_SWEEPS = 30;

/** Most delete calls the janitor has in flight at once; more jobs wait their turn. */
const MAX_CALLS_IN_FLIGHT = 8;

/** First wait before a failed delete is tried again. */
const FIRST_RETRY_MS = 100;

/**
 * Longest wait between two attempts of a delete: a released key still queued blocks every waiter
 * of its lock, so once etcd is back (a leader election ends) it must go at once, not a backoff of
 * seconds later. The calls in flight stay bounded by {@link MAX_CALLS_IN_FLIGHT}.
 */
const MAX_RETRY_MS = 250;

/** One key to delete. @internal */
export interface DeleteJob {
  /** What the delete is for, in store-error reports (`release retry`, `cleanup`). */
  readonly operation: string;
  /** The lock. */
  readonly name: string;
  /** The queue key. */
  readonly key: Buffer;
  /** The key's create revision: only that incarnation is deleted. Unknown: any incarnation. */
  readonly revision?: bigint;
  /** Ends the job when it aborts: the key's lease is lost, and the key goes with it. */
  readonly stop: AbortSignal;
  /** Told once when etcd refuses the delete (the job then ends). */
  readonly refused?: (error: StoreRejectedError) => void;
}

/**
 * Deletes one key, once: resolves when etcd has applied the delete (or the key was already gone),
 * rejects with etcd's refusal (`StoreRejectedError`) or unavailability.
 * @internal
 */
export type DeleteCall = (job: DeleteJob) => Promise<void>;

/**
 * Owns every background delete of queue keys — a release that failed, a wait given up, a txn whose
 * outcome is unknown — so none is left behind and none runs forever:
 * - a key left behind hangs on a lease this process keeps alive, so it would keep its place in
 *   the queue and stall the lock for as long as the process lives: a delete is retried, with a
 *   backoff, until it succeeds;
 * - it stops when the key's lease is lost (etcd deletes the key with it), when the client closes
 *   (revoking the leases deletes the keys), or when etcd refuses the delete (permission denied,
 *   NOSPACE…: retrying cannot help; the refusal reaches the store-error hooks once);
 * - the same key is never deleted by two jobs at once, and at most {@link MAX_CALLS_IN_FLIGHT}
 *   calls are in flight, so a burst of abandoned waits cannot flood etcd.
 * @internal
 */
export class KeyJanitor {
  readonly #closing = createClosingController();
  readonly #jobs = new Map<string, Promise<boolean>>();
  #callsInFlight = 0;
  readonly #turns: (() => void)[] = [];

  /**
   * @param deleteOnce Sends one delete.
   * @param maxRetryMs Longest wait between two attempts.
   */
  constructor(
    private readonly deleteOnce: DeleteCall,
    private readonly maxRetryMs = MAX_RETRY_MS,
  ) {}

  /** Background jobs not yet finished. */
  get pending(): number {
    return this.#jobs.size;
  }

  /**
   * Deletes `job.key` until it is gone. With `afterFailure`, waits before the first attempt (the
   * caller's own attempt just failed).
   * @returns true once the key is deleted; false when the job stopped first (see the class doc).
   */
  remove(job: DeleteJob, afterFailure = false): Promise<boolean> {
    return this.#once(`${job.key.toString('latin1')}@${job.revision ?? '?'}`, () =>
      this.#removeUntilDone(job, afterFailure),
    );
  }

  /**
   * Deletes the key of a txn whose outcome is unknown, and keeps deleting it every 2 s for a
   * minute: the txn itself may commit after the first delete (etcd can apply a request it received
   * before a freeze once the member is back). The caller never reuses the key's name meanwhile, so
   * these unguarded deletes can only meet that key.
   * @returns true once the minute is over and the key is known gone: its name may be reused.
   */
  sweepUncertain(job: Omit<DeleteJob, 'revision'>): Promise<boolean> {
    return this.#once(`${job.key.toString('latin1')}@uncertain`, async () => {
      if (!(await this.#removeUntilDone(job, false))) return false;
      for (let sweep = 0; sweep < UNCERTAIN_SWEEPS; sweep += 1) {
        if (!(await this.#pause(job.stop, UNCERTAIN_SWEEP_MS))) return false;
        try {
          await this.#call(job);
        } catch (error) {
          if (error instanceof StoreRejectedError) return this.#refused(job, error);
          // Not answered: the next sweep, or the final delete, tries again.
        }
      }
      return this.#removeUntilDone(job, false);
    });
  }

  /** Ends every job at once (the client is closing) and waits for them to settle. */
  async close(): Promise<void> {
    this.#closing.abort();
    for (const turn of this.#turns.splice(0)) turn();
    await Promise.allSettled([...this.#jobs.values()]);
  }

  #once(id: string, run: () => Promise<boolean>): Promise<boolean> {
    const running = this.#jobs.get(id);
    if (running) return running;
    if (this.#closing.signal.aborted) return Promise.resolve(false);
    const job = run().finally(() => this.#jobs.delete(id));
    this.#jobs.set(id, job);
    return job;
  }

  async #removeUntilDone(job: DeleteJob, afterFailure: boolean): Promise<boolean> {
    let retryMs = FIRST_RETRY_MS;
    if (afterFailure && !(await this.#pause(job.stop, retryMs))) return false;
    for (;;) {
      if (this.#stopped(job.stop)) return false;
      try {
        return await this.#call(job);
      } catch (error) {
        if (error instanceof StoreRejectedError) return this.#refused(job, error); // etcd said no
      }
      retryMs = Math.min(retryMs * 2, this.maxRetryMs);
      if (!(await this.#pause(job.stop, retryMs))) return false;
    }
  }

  /** One delete call, within the bound on calls in flight; false when stopped before it. */
  async #call(job: DeleteJob): Promise<boolean> {
    while (this.#callsInFlight >= MAX_CALLS_IN_FLIGHT) {
      await new Promise<void>((resolve) => this.#turns.push(resolve));
      if (this.#stopped(job.stop)) {
        // The turn freed by a finished call was handed to this job: pass it on, or the jobs still
        // waiting would wait until some other call ends (seen in a soak: every lock stalled 30 s,
        // the released keys undeleted, after the leases of waiting jobs were lost).
        this.#turns.shift()?.();
        return false;
      }
    }
    this.#callsInFlight += 1;
    try {
      await this.deleteOnce(job);
      return true;
    } finally {
      this.#callsInFlight -= 1;
      this.#turns.shift()?.();
    }
  }

  /** Waits `ms`; false when the job must stop instead. */
  async #pause(stop: AbortSignal, ms: number): Promise<boolean> {
    if (this.#stopped(stop)) return false;
    const signal = AbortSignal.any([stop, this.#closing.signal]);
    await delay(ms, undefined, { signal }).catch(() => undefined);
    return !this.#stopped(stop);
  }

  #refused(job: Omit<DeleteJob, 'revision'>, error: StoreRejectedError): false {
    job.refused?.(error);
    return false;
  }

  #stopped(stop: AbortSignal): boolean {
    return stop.aborted || this.#closing.signal.aborted;
  }
}
