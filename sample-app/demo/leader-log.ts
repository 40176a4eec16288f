import { LockClient } from '../../lib/index.js';

/** One leader as the demo saw it take over. */
export interface ObservedLeader {
  /** What it proclaims: the replica's id. */
  readonly value: string;
  /** Its term (the fencing token of its leadership). */
  readonly term: bigint;
  /** When the demo was told, in ms on `performance.now()`. */
  readonly at: number;
}

/**
 * Follows one election from the demo process, as any client of the library can
 * (`election.observe()`), and keeps every leader with when it was seen: who led when.
 */
export class LeaderLog {
  /** Every leader seen, in order (never `null`: an election without a leader is not kept). */
  readonly leaders: ObservedLeader[] = [];
  readonly #client: LockClient;
  readonly #stop = new AbortController();
  readonly #following: Promise<void>;
  #current: ObservedLeader | null = null;
  #error: unknown;

  /**
   * @param endpoints etcd client URLs.
   * @param namespace The replicas' lock namespace.
   * @param election The election to follow.
   */
  constructor(endpoints: readonly string[], namespace: string, election: string) {
    const client = new LockClient({ endpoints: [...endpoints], namespace });
    this.#client = client;
    this.#following = (async () => {
      try {
        const changes = client.election(election).observe({ signal: this.#stop.signal });
        for await (const leader of changes) {
          this.#current =
            leader === null
              ? null
              : { value: leader.value, term: leader.term, at: performance.now() };
          if (this.#current !== null) this.leaders.push(this.#current);
        }
      } catch (error) {
        this.#error = error;
      }
    })();
  }

  /** The leader now, as last told; `null` when none. */
  get current(): ObservedLeader | null {
    return this.#current;
  }

  /**
   * Waits until the current leader matches `accept`, polling every 20 ms for at most `timeoutMs`.
   * @throws when the deadline passes or the observation failed
   */
  async waitFor(
    what: string,
    accept: (leader: ObservedLeader) => boolean,
    timeoutMs: number,
  ): Promise<ObservedLeader> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      if (this.#error !== undefined)
        throw new Error(`following the election failed: ${String(this.#error)}`);
      const leader = this.#current;
      if (leader !== null && accept(leader)) return leader;
      if (performance.now() > deadline) {
        throw new Error(`no ${what} within ${timeoutMs} ms (leader: ${leader?.value ?? 'none'})`);
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  /** Stops following and closes the client. Idempotent. */
  async close(): Promise<void> {
    this.#stop.abort();
    await this.#following;
    await this.#client.close();
  }
}
