import { createClosingController } from '../closing-controller.js';
import { LockClientClosedError } from '../errors/lock-client-closed.error.js';
import { LockLostError } from '../errors/lock-lost.error.js';
import type {
  AcquireRequest,
  LeaseState,
  LockBackend,
  LockGrant,
  StoreMemberHealth,
} from '../lock-backend.js';
import { WaitBudget } from '../wait-budget.js';

/** One acquisition in a memory queue. */
interface MemoryEntry {
  readonly grant: LockGrant;
  readonly lost: AbortController;
  granted: (waited: boolean) => void;
}

/**
 * An in-process lock store with the same contract as etcd's: FIFO grants, strictly increasing
 * fencing tokens, nothing left queued on timeout or abort. For your own unit tests and local
 * development (`store: 'memory'`); it cannot coordinate two processes.
 *
 * @example
 * const locks = new LockManager(new MemoryBackend(), { ttl: 15, waitMs: 1000, shutdownGraceMs: 0 });
 */
export class MemoryBackend implements LockBackend {
  readonly #queues = new Map<string, MemoryEntry[]>();
  #lastToken = 0n;
  readonly #closing = createClosingController();

  async acquire(request: AcquireRequest): Promise<LockGrant | null> {
    const { name, waitMs, signal } = request;
    if (this.#closing.signal.aborted) throw new LockClientClosedError(name);
    const stop = signal ? AbortSignal.any([signal, this.#closing.signal]) : this.#closing.signal;
    const budget = new WaitBudget(name, waitMs, [stop]);
    budget.check();
    const queue = this.#queues.get(name) ?? [];
    this.#queues.set(name, queue);
    if (queue.length > 0 && waitMs === 0) return null;

    let resolveTurn!: (waited: boolean) => void;
    const turn = new Promise<boolean>((resolve) => (resolveTurn = resolve));
    const lost = new AbortController();
    const entry: MemoryEntry = {
      grant: {
        name,
        mode: request.mode,
        fencingToken: ++this.#lastToken,
        lost: lost.signal,
        waited: false,
        owner: 'memory',
      },
      lost,
      granted: resolveTurn,
    };
    queue.push(entry);
    if (queue.length === 1) return entry.grant;
    try {
      await budget.race(turn);
    } catch (error) {
      this.#remove(entry);
      throw error;
    }
    return { ...entry.grant, waited: true };
  }

  async release(grant: LockGrant): Promise<void> {
    const entry = this.#queues
      .get(grant.name)
      ?.find((e) => e.grant.fencingToken === grant.fencingToken);
    if (entry) this.#remove(entry);
  }

  /**
   * Makes a held lock lost, as an expired etcd lease would: its `signal` aborts with
   * `LockLostError` and the next waiter is granted. For testing how your code handles loss.
   */
  expire(name: string): void {
    const holder = this.#queues.get(name)?.[0];
    if (!holder) return;
    holder.lost.abort(
      new LockLostError(name, undefined, 'it was expired by MemoryBackend.expire()'),
    );
    this.#remove(holder);
  }

  async close(): Promise<void> {
    this.#closing.abort(new LockClientClosedError());
    for (const queue of this.#queues.values()) {
      for (const entry of queue)
        entry.lost.abort(new LockLostError(entry.grant.name, undefined, 'the lock client closed'));
    }
    this.#queues.clear();
  }

  /** No leases in memory: `[]`. */
  leaseStates(): LeaseState[] {
    return [];
  }

  /** No members in memory: `[]`. */
  async probeMembers(): Promise<StoreMemberHealth[]> {
    return [];
  }

  #remove(entry: MemoryEntry): void {
    const queue = this.#queues.get(entry.grant.name);
    if (!queue) return;
    const index = queue.indexOf(entry);
    if (index < 0) return;
    queue.splice(index, 1);
    if (queue.length === 0) this.#queues.delete(entry.grant.name);
    else if (index === 0) queue[0].granted(true);
  }
}
