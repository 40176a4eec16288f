import { LockNotHeldError, type Leadership } from '../core/index.js';

/**
 * One term of a module's leadership of an election, as `@OnLeadership` methods get it and
 * `LockService.leadership()` returns it: the campaign's `Leadership`, shared by every method of
 * the election, whose `signal` also aborts when the module steps down at shutdown and when one of
 * the methods resigns, and which knows the `@LeaderOnly` calls running under it.
 * @internal not exported from the package (users see it as a `Leadership`)
 */
export class ModuleLeadership implements Leadership {
  readonly #core: Leadership;
  /** Aborts when a method resigns. */
  readonly #resigned = new AbortController();
  readonly #signal: AbortSignal;
  /** The `@OnLeadership` and `@LeaderOnly` calls of this term still running. */
  readonly #running = new Set<Promise<unknown>>();

  /**
   * @param core The leadership the module's campaign was granted.
   * @param stepDown Aborts when the module steps down (shutdown).
   */
  constructor(core: Leadership, stepDown: AbortSignal) {
    this.#core = core;
    this.#signal = AbortSignal.any([core.signal, stepDown, this.#resigned.signal]);
  }

  get name(): string {
    return this.#core.name;
  }
  get term(): bigint {
    return this.#core.term;
  }
  get value(): string {
    return this.#core.value;
  }
  get resigned(): boolean {
    return this.#core.resigned;
  }

  /**
   * Aborts when the leadership is lost (`LockLostError`), the module steps down
   * (`LockClientClosedError`) or a method resigned (`LockNotHeldError`).
   */
  get signal(): AbortSignal {
    // A look at the campaign's signal judges the lease by the clock first (a pause past it).
    void this.#core.signal.aborted;
    return this.#signal;
  }

  /** True while nothing has ended this term. */
  get leading(): boolean {
    return !this.signal.aborted;
  }

  /** True when a method ended this term with `resign()`. */
  get resignedByMethod(): boolean {
    return this.#resigned.signal.aborted;
  }

  proclaim(value: string): Promise<void> {
    return this.#core.proclaim(value);
  }

  /**
   * Ends the term for every method of the election (their signal aborts) and resigns at once; the
   * module campaigns again after a short wait.
   */
  resign(): Promise<void> {
    if (!this.#resigned.signal.aborted) this.#resigned.abort(LockNotHeldError.resigned(this.name));
    return this.#core.resign();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.resign();
  }

  /** Counts `call` among the term's running calls until it settles. */
  track(call: Promise<unknown>): void {
    this.#running.add(call);
    const done = (): void => void this.#running.delete(call);
    call.then(done, done);
  }

  /** Resolves once every call of the term has settled, including those tracked meanwhile. */
  async settled(): Promise<void> {
    while (this.#running.size > 0) await Promise.allSettled([...this.#running]);
  }
}
