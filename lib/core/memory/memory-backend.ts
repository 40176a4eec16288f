import { hostname } from 'node:os';
import { createClosingController } from '../closing-controller.js';
import { LockClientClosedError } from '../errors/lock-client-closed.error.js';
import { LockConfigError } from '../errors/lock-config.error.js';
import { LockLostError } from '../errors/lock-lost.error.js';
import type {
  AcquireRequest,
  GrantMode,
  Leader,
  LeaseState,
  LockBackend,
  LockGrant,
  StoreMemberHealth,
} from '../lock-backend.js';
import type { ElectionInfo, LockInfo, StoreInspection } from '../lock-inspection.js';
import { WaitBudget } from '../wait-budget.js';

/** One acquisition in a memory queue. */
interface MemoryEntry {
  readonly grant: LockGrant;
  readonly permits: number;
  readonly lost: AbortController;
  granted: boolean;
  /** Resolves the waiting acquire; a no-op for one granted at once. */
  readonly grantTurn: () => void;
  /** An election candidate's proclaimed value; `''` for a lock. */
  value: string;
}

/**
 * True when a request of `mode` with `permits` is granted behind `ahead` (the older entries of its
 * queue, every one with the same permits): the engine's three grant rules.
 */
function grantable(mode: GrantMode, permits: number, ahead: readonly MemoryEntry[]): boolean {
  switch (mode) {
    case 'exclusive':
    case 'election':
      return ahead.length === 0;
    case 'semaphore':
      return ahead.length < permits;
    case 'shared':
      return ahead.every((entry) => entry.grant.mode === 'shared');
  }
}

/** Whether two leaders are the same: one term, one value. */
function sameLeader(a: Leader | null, b: Leader | null): boolean {
  if (a === null || b === null) return a === b;
  return a.term === b.term && a.value === b.value;
}

/**
 * An in-process lock store with the same contract as etcd's: FIFO grants under the same three
 * rules (exclusive, `permits`, shared), strictly increasing fencing tokens in grant order, holders
 * of one name agreeing on `permits`, nothing left queued on timeout or abort; and elections
 * (candidates elected in campaign order, terms strictly increasing, observers told every change),
 * in a name space of their own. For your own unit tests and local development
 * (`store: 'memory'`); it cannot coordinate two processes.
 *
 * @example
 * const locks = new LockManager(new MemoryBackend(), { ttl: 15, waitMs: 1000, shutdownGraceMs: 0 });
 */
export class MemoryBackend implements LockBackend {
  readonly #queues = new Map<string, MemoryEntry[]>();
  /** The queues of elections: a name space of their own, as in etcd. */
  readonly #elections = new Map<string, MemoryEntry[]>();
  /** The observers of each election: each is told every leader change at once. */
  readonly #observers = new Map<string, Set<(leader: Leader | null) => void>>();
  #lastToken = 0n;
  readonly #closing = createClosingController();

  async acquire(request: AcquireRequest): Promise<LockGrant | null> {
    const { name, mode, permits, waitMs, signal } = request;
    if (this.#closing.signal.aborted) throw new LockClientClosedError(name);
    const stop = signal ? AbortSignal.any([signal, this.#closing.signal]) : this.#closing.signal;
    const budget = new WaitBudget(name, waitMs, [stop]);
    budget.check();
    const queues = this.#queuesOf(mode);
    const queue = queues.get(name) ?? [];
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
      value: request.value ?? '',
    };
    queue.push(entry);
    queues.set(name, queue);
    if (mode === 'election') this.#tellObservers(name);
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
    const entry = this.#entryOf(grant);
    if (entry) this.#remove(entry);
  }

  async proclaim(grant: LockGrant, value: string): Promise<void> {
    const entry = this.#entryOf(grant);
    if (entry === undefined || entry.lost.signal.aborted) {
      const reason: unknown = grant.lost.reason;
      throw reason instanceof LockLostError
        ? reason
        : new LockLostError(grant.name, undefined, 'it was released');
    }
    entry.value = value;
    this.#tellObservers(grant.name);
  }

  async leader(name: string): Promise<Leader | null> {
    if (this.#closing.signal.aborted) throw new LockClientClosedError(name);
    return this.#leaderOf(name);
  }

  async *observeLeader(name: string, signal: AbortSignal): AsyncGenerator<Leader | null> {
    const stop = AbortSignal.any([signal, this.#closing.signal]);
    if (stop.aborted) return;
    const pending: (Leader | null)[] = [this.#leaderOf(name)];
    let wake: (() => void) | undefined;
    const listener = (leader: Leader | null) => {
      pending.push(leader);
      wake?.();
    };
    const onStop = () => wake?.();
    stop.addEventListener('abort', onStop, { once: true });
    let observers = this.#observers.get(name);
    if (observers === undefined) this.#observers.set(name, (observers = new Set()));
    observers.add(listener);
    let told: Leader | null | undefined;
    try {
      for (;;) {
        while (pending.length > 0) {
          const next = pending.shift() ?? null;
          if (told !== undefined && sameLeader(told, next)) continue;
          told = next;
          yield next;
          if (stop.aborted) return;
        }
        if (stop.aborted) return;
        await new Promise<void>((resolve) => (wake = resolve));
        wake = undefined;
      }
    } finally {
      stop.removeEventListener('abort', onStop);
      observers.delete(listener);
      if (observers.size === 0 && this.#observers.get(name) === observers) {
        this.#observers.delete(name);
      }
    }
  }

  /**
   * Makes the leader of an election lost, as an expired etcd lease would: its `signal` aborts
   * with `LockLostError` and the next candidate is elected. For testing how your code handles
   * the loss of leadership.
   */
  expireLeader(name: string): void {
    const leader = this.#elections.get(name)?.[0];
    if (leader === undefined) return;
    leader.lost.abort(
      new LockLostError(name, undefined, 'it was expired by MemoryBackend.expireLeader()'),
    );
    this.#remove(leader);
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
    for (const queue of [...this.#queues.values(), ...this.#elections.values()]) {
      for (const entry of queue)
        entry.lost.abort(new LockLostError(entry.grant.name, undefined, 'the lock client closed'));
    }
    this.#queues.clear();
    this.#elections.clear();
  }

  /** No leases in memory: `[]`. */
  leaseStates(): LeaseState[] {
    return [];
  }

  /** No members in memory: `[]`. */
  async probeMembers(): Promise<StoreMemberHealth[]> {
    return [];
  }

  /**
   * Every lock and election held or waited for in this process, as `EtcdBackend.inspect()` lists
   * them: owner `host:pid`, and no lease (`lease` and `ttlLeft` are `null`).
   */
  async inspect(): Promise<StoreInspection> {
    if (this.#closing.signal.aborted) throw new LockClientClosedError();
    const owner = `${hostname()}:${process.pid}`;
    const byName = <T extends { name: string }>(a: T, b: T) =>
      a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
    const locks: LockInfo[] = [...this.#queues].map(([name, queue]) => {
      const holders = queue.filter((entry) => entry.granted);
      const head = queue[0];
      return {
        name,
        mode: head.grant.mode === 'election' ? 'exclusive' : head.grant.mode,
        permits: head.permits,
        holders: holders.map((entry) => ({
          owner,
          lease: null,
          fencingToken: entry.grant.fencingToken,
          ttlLeft: null,
        })),
        waiting: queue.length - holders.length,
      };
    });
    const elections: ElectionInfo[] = [...this.#elections].map(([name, [head, ...behind]]) => ({
      name,
      leader: { value: head.value, term: head.grant.fencingToken, lease: null, ttlLeft: null },
      waiting: behind.length,
    }));
    return { locks: locks.sort(byName), elections: elections.sort(byName) };
  }

  #queuesOf(mode: GrantMode): Map<string, MemoryEntry[]> {
    return mode === 'election' ? this.#elections : this.#queues;
  }

  #entryOf(grant: LockGrant): MemoryEntry | undefined {
    return this.#queuesOf(grant.mode)
      .get(grant.name)
      ?.find((e) => e.grant.fencingToken === grant.fencingToken);
  }

  /** The head of an election's queue: its leader. */
  #leaderOf(name: string): Leader | null {
    const head = this.#elections.get(name)?.[0];
    return head === undefined ? null : { value: head.value, term: head.grant.fencingToken };
  }

  #tellObservers(name: string): void {
    const observers = this.#observers.get(name);
    if (observers === undefined) return;
    const leader = this.#leaderOf(name);
    for (const observer of observers) observer(leader);
  }

  /** Takes an entry out of its queue and grants every waiter its rule now admits, in order. */
  #remove(entry: MemoryEntry): void {
    const name = entry.grant.name;
    const queues = this.#queuesOf(entry.grant.mode);
    const queue = queues.get(name);
    if (!queue) return;
    const index = queue.indexOf(entry);
    if (index < 0) return;
    queue.splice(index, 1);
    if (entry.grant.mode === 'election') this.#tellObservers(name);
    if (queue.length === 0) {
      queues.delete(name);
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
