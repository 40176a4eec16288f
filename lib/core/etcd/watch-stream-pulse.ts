/**
 * When a watch stream last showed it is alive: any event or (re)registration of any watch on it.
 * A key watch is silent by nature (it hears only its key's deletion), so a waiter tells a quiet
 * queue from a stream stuck on a frozen member by its stream's pulse, not its own watch's: under
 * load the stream keeps beating and no waiter polls; a stream that went silent makes its waiters
 * read again.
 * @internal
 */
export class WatchStreamPulse {
  #heardAt = performance.now();

  /** The stream delivered something. */
  beat(): void {
    this.#heardAt = performance.now();
  }

  /** Milliseconds since the stream last delivered anything. */
  get silentForMs(): number {
    return performance.now() - this.#heardAt;
  }
}
