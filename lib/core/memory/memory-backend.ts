import { createClosingController } from '../closing-controller.js';
import { LockClientClosedError } from '../errors/lock-client-closed.error.js';
import { LockConfigError } from '../errors/lock-config.error.js';
import { LockLostError } from '../errors/lock-lost.error.js';
import type {
  AcquireRequest,
  LeaseState,
  LockBackend,
  LockGrant,
  LockMode,
  StoreMemberHealth,
} from '../lock-backend.js';
import { WaitBudget } from '../wait-budget.js';

/** One acquisition in a memory queue. */
interface MemoryEntry {
  readonly grant: LockGrant;
  readonly permits: number;
  readonly lost: AbortController;
  granted: boolean;
  /** Resolves the waiting acquire; a no-op for one granted at once. */
  readonly grantTurn: () => void;
}

/**
 * True when a request of `mode` with `permits` is granted behind `ahead` (the older entries of its
 * queue, every one with the same permits): the engine's three grant rules.
 */
function grantable(mode: LockMode, permits: number, ahead: readonly MemoryEntry[]): boolean {
  switch (mode) {
    case 'exclusive':
      return ahead.length === 0;
    case 'semaphore':
      return ahead.length < permits;
    case 'shared':
      return ahead.every((entry) => entry.grant.mode === 'shared');
  }
}

/**
 * An in-process lock store with the same contract as etcd's: FIFO grants under the same three
 * rules (exclusive, `permits`, shared), strictly increasing fencing tokens in grant order, holders
 * of one name agreeing on `permits`, nothing left queued on timeout or abort. For your own unit
 * tests and local development (`store: 'memory'`); it cannot coordinate two processes.
 *
 * @example
 * const locks = new LockManager(new MemoryBackend(), { ttl: 15, waitMs: 1000, shutdownGraceMs: 0 });
 */
export class MemoryBackend implements LockBackend {
  readonly #queues = new Map<string, MemoryEntry[]>();
  #lastToken = 0n;
  readonly #closing = createClosingController();

  async acquire(request: AcquireRequest): Promise<LockGrant | null> {
    const { name, mode, permits, waitMs, signal } = request;
    if (this.#closing.signal.aborted) throw new LockClientClosedError(name);
    const stop = signal ? AbortSignal.any([signal, this.#closing.signal]) : this.#closing.signal;
    const budget = new WaitBudget(name, waitMs, [stop]);
    budget.check();
    const queue = this.#queues.get(name) ?? [];
    // Every entry of a queue has the same permits (checked on entry), so the head speaks for all.
    const head = queue[0];
    if (head !== undefined && head.permits !== permits) {
      throw LockConfigError.permitsMismatch(name, head.permits, permits);
    }
    const now = grantable(mode, permits, queue);
    if (!now && waitMs === 0) return null;

    let resolveTurn!: () => void;
    const turn = new Promise<void>((resolve) => (resolveTurn = resolve));
    const lost = new AbortController();
    const entry: MemoryEntry = {
      grant: {
        name,
        mode,
        fencingToken: ++this.#lastToken,
        lost: lost.signal,
        waited: false,
        owner: 'memory',
      },
      permits,
      lost,
      granted: now,
      grantTurn: resolveTurn,
    };
    queue.push(entry);
    this.#queues.set(name, queue);
    if (now) return entry.grant;
    try {
      await budget.race(turn);
    } catch (error) {
      // A grant that raced the deadline is given back too: its caller has gone.
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
   * Makes every current holder of a lock lost, as expired etcd leases would: their `signal`
   * aborts with `LockLostError` and the next waiters are granted (one holder for a mutex, each
   * permit's or reader's for a semaphore or a shared lock). For testing how your code handles
   * loss.
   */
  expire(name: string): void {
    const holders = (this.#queues.get(name) ?? []).filter((entry) => entry.granted);
    for (const holder of holders) {
      holder.lost.abort(
        new LockLostError(name, undefined, 'it was expired by MemoryBackend.expire()'),
      );
      this.#remove(holder);
    }
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

  /** Takes an entry out of its queue and grants every waiter its rule now admits, in order. */
  #remove(entry: MemoryEntry): void {
    const name = entry.grant.name;
    const queue = this.#queues.get(name);
    if (!queue) return;
    const index = queue.indexOf(entry);
    if (index < 0) return;
    queue.splice(index, 1);
    if (queue.length === 0) {
      this.#queues.delete(name);
      return;
    }
    for (let i = 0; i < queue.length; i += 1) {
      const waiter = queue[i];
      if (waiter.granted) continue;
      // Grants go in queue order: once one waiter must wait, every later one does too.
      if (!grantable(waiter.grant.mode, waiter.permits, queue.slice(0, i))) break;
      waiter.granted = true;
      waiter.grantTurn();
    }
  }
}
