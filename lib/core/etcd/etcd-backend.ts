import { hostname } from 'node:os';
import { setTimeout as delay } from 'node:timers/promises';
import type { Etcd3, ICompare, IRangeRequest, ITxnResponse, Namespace } from 'etcd3';
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
import type { ResolvedClientOptions } from '../validation.js';
import { ZZLOCK_DEFAULTS } from '../defaults.js';
import { createEtcdClient } from './etcd-client-factory.js';
import { KeySlots } from './key-slots.js';
import { probeMember } from './member-probe.js';
import { prefixRangeEnd, queueKey, queuePrefix } from './etcd-keys.js';
import { type ActiveLease, LeaseSession } from './lease-session.js';
import { QueueWatch } from './queue-watch.js';
import { storeCall } from './store-call.js';
import { WaitBudget, Wakeup } from './wait-budget.js';

/** How often, and how many times, the key of a txn with an unknown outcome is deleted again. */
const UNCERTAIN_SWEEP_MS = 2_000;
const UNCERTAIN_SWEEPS = 30;

/** etcd's Compare also takes a range_end (proto field 64); etcd3's typings leave it out. */
type RangeCompare = ICompare & { range_end?: Buffer };

/** A lock's queue in etcd: its name, prefix and range end. */
interface Queue {
  readonly name: string;
  readonly prefix: Buffer;
  readonly end: Buffer;
}

/** A grant of this backend: the queue key and the lease it hangs on. */
interface EtcdGrant extends LockGrant {
  readonly key: Buffer;
  readonly lease: ActiveLease;
  readonly lostController: AbortController;
  /** The key's slot (see `KeySlots`), freed once the key is known to be deleted. */
  readonly slot: number;
}

/** Where a queued key stands after the enqueue txn. */
interface Enqueued {
  /** Create revision of our key: the fencing token if granted. */
  readonly revision: bigint;
  /** Create revision of the key just ahead of ours; `null`: none (granted); `undefined`: unknown. */
  readonly predecessor: bigint | null | undefined;
  /** How many keys were ahead of ours when it was put; `undefined`: unknown. */
  readonly ahead: number | undefined;
}

/** Options of {@link EtcdBackend} beyond the client's. */
export interface EtcdBackendHooks {
  /** Told of every failed call to etcd. */
  storeError?: (operation: string, error: unknown) => void;
}

/**
 * The etcd lock store: etcd's own lock recipe (a key per acquisition under the lock's prefix,
 * granted in create-revision order), hardened as DESIGN §3 describes — one lease per TTL shared
 * by all locks, a one-round-trip acquire when free, each waiter waiting only for its immediate
 * predecessor through one shared watch per lock name, own-clock lost-lock detection, and a
 * shutdown that deletes keys and revokes leases before closing the client.
 *
 * @example
 * const backend = new EtcdBackend(resolveClientOptions({ endpoints: ['http://127.0.0.1:2379'] }));
 */
export class EtcdBackend implements LockBackend {
  readonly #client: Etcd3;
  /** One client per member, for keepalives that fail over between members. */
  readonly #memberClients: readonly Etcd3[];
  readonly #sessions = new Map<number, LeaseSession>();
  readonly #watches = new Map<string, QueueWatch>();
  /**
   * Where queue watches are created: a namespace of `#client` with its own watch stream. Replaced
   * when etcd cancels a watch, because etcd3 then never attaches another watch to that stream
   * (microsoft/etcd3#114), and keeps the stream's auth token even once etcd no longer accepts it.
   */
  #watchScope: Namespace;
  readonly #held = new Set<EtcdGrant>();
  readonly #inFlight = new Set<Promise<unknown>>();
  readonly #closing = createClosingController();
  readonly #value = Buffer.from(`${hostname()}:${process.pid}`);
  /** The key slots each lease uses; forgotten with the lease. */
  readonly #slots = new WeakMap<ActiveLease, KeySlots>();
  /** Leases whose loss this backend listens for (one listener per lease, not per grant). */
  readonly #leasesWatched = new WeakSet<ActiveLease>();
  #closed?: Promise<void>;

  /**
   * @param options Resolved client options (see `resolveClientOptions`).
   * @param hooks Observers of store failures.
   */
  constructor(
    private readonly options: ResolvedClientOptions,
    private readonly hooks: EtcdBackendHooks = {},
  ) {
    this.#client = createEtcdClient(options);
    this.#watchScope = this.#client.namespace('');
    this.#memberClients =
      options.endpoints.length === 1
        ? [this.#client]
        : options.endpoints.map((endpoint) =>
            createEtcdClient({ ...options, endpoints: [endpoint] }),
          );
  }

  /** The live lease of each TTL in use: for health reports. */
  leaseStates(): LeaseState[] {
    return [...this.#sessions.values()].flatMap((session) => {
      const lease = session.active;
      return lease
        ? [
            {
              ttl: session.ttl,
              leaseId: lease.hex,
              sinceKeepaliveMs: lease.sinceConfirmedMs,
              lost: lease.lost.aborted,
            },
          ]
        : [];
    });
  }

  /** Probes each configured member through its long-lived client (none is opened or closed). */
  probeMembers(timeoutMs: number): Promise<StoreMemberHealth[]> {
    const { endpoints } = this.options;
    const closing = this.#closing.signal;
    return Promise.all(
      endpoints.map((url, i) => probeMember(this.#memberClients[i], url, timeoutMs, closing)),
    );
  }

  acquire(request: AcquireRequest): Promise<LockGrant | null> {
    if (this.#closing.signal.aborted)
      return Promise.reject(new LockClientClosedError(request.name));
    return this.#track(this.#acquire(request));
  }

  async release(grant: LockGrant): Promise<void> {
    const held = grant as EtcdGrant;
    if (!this.#held.delete(held)) return;
    if (held.lease.lost.aborted) return; // its lease is being revoked, and the key with it
    try {
      await this.#deleteKey('release', held.name, held.key, held.fencingToken);
      this.#freeSlot(held);
    } catch {
      this.#track(this.#retryDelete(held));
    }
  }

  close(): Promise<void> {
    this.#closed ??= this.#close();
    return this.#closed;
  }

  async #close(): Promise<void> {
    this.#closing.abort(new LockClientClosedError());
    while (this.#inFlight.size > 0) await Promise.allSettled([...this.#inFlight]);
    const held = [...this.#held];
    this.#held.clear();
    for (const grant of held) {
      grant.lostController.abort(
        new LockLostError(grant.name, grant.owner, 'the lock client closed'),
      );
    }
    await Promise.allSettled(
      held.map((grant) => this.#deleteKey('close', grant.name, grant.key, grant.fencingToken)),
    );
    await Promise.allSettled([...this.#sessions.values()].map((session) => session.revokeAll()));
    await Promise.allSettled([...this.#watches.values()].map((watch) => watch.close()));
    for (const member of this.#memberClients) member.close();
    this.#client.close();
  }

  async #acquire(request: AcquireRequest): Promise<EtcdGrant | null> {
    const { name, ttl, waitMs } = request;
    const budget = new WaitBudget(
      name,
      waitMs,
      request.signal ? [request.signal, this.#closing.signal] : [this.#closing.signal],
    );
    budget.check();
    const prefix = queuePrefix(this.options.namespace, name);
    const queue: Queue = { name, prefix, end: prefixRangeEnd(prefix) };
    const session = this.#session(ttl);

    for (;;) {
      const lease = await budget.race(session.lease());
      const slots = this.#slotsOf(lease);
      const slot = slots.take(name);
      const freeSlot = () => slots.free(name, slot);
      const key = queueKey(prefix, lease.hex, slot);
      let enqueued: Enqueued;
      try {
        if (waitMs === 0) {
          const attempt = this.#tryTxn(queue, key, lease);
          const revision = await this.#raceOrCleanUp(budget, attempt, queue, key);
          if (revision !== null) return this.#grant(queue, key, lease, revision, false, slot);
          freeSlot(); // nothing was written
          return null;
        }
        const attempt = this.#enqueueTxn(queue, key, lease);
        enqueued = await this.#raceOrCleanUp(budget, attempt, queue, key);
      } catch (error) {
        // A lease lost just as we used it fails the put: take a fresh lease and try again.
        if (lease.lost.aborted && budget.expired() === undefined) continue;
        throw error;
      }
      if (enqueued.predecessor === null && !lease.lost.aborted) {
        return this.#grant(queue, key, lease, enqueued.revision, false, slot);
      }
      let granted: boolean;
      try {
        granted = await this.#waitForTurn(queue, key, lease, enqueued, budget);
      } catch (error) {
        this.#track(this.#deleteQuietly(name, key, enqueued.revision, freeSlot));
        throw error;
      }
      if (granted && !lease.lost.aborted) {
        return this.#grant(queue, key, lease, enqueued.revision, true, slot);
      }
      // Our key or our lease vanished while waiting: queue again with a fresh key.
      this.#track(this.#deleteQuietly(name, key, enqueued.revision, freeSlot));
    }
  }

  /**
   * Awaits a txn within the budget; when the budget ends first or the txn fails (it may still
   * have been applied), deletes the key once the txn settles. Its slot is never freed.
   */
  async #raceOrCleanUp<T>(
    budget: WaitBudget,
    txn: Promise<T>,
    queue: Queue,
    key: Buffer,
  ): Promise<T> {
    try {
      return await budget.race(txn);
    } catch (error) {
      this.#track(
        txn
          .then(undefined, () => undefined)
          // The txn's outcome is unknown and it may still be applied later (a request etcd
          // received before a freeze or a deadline can commit after it), so its key name is
          // never reused: the slot stays taken, and an unguarded delete can only meet this key.
          .then(() => this.#sweepUncertain(queue.name, key)),
      );
      throw error;
    }
  }

  /**
   * Waits until no key older than ours is left. Resolves true when granted, false when our key or
   * our lease is gone.
   *
   * Fast path: the enqueue txn counted the keys ahead of ours, and no key can join ahead of it
   * later; the lock's shared watch reports each deletion, so when as many keys created before ours
   * have been deleted since, ours is first — granted with no further round trip. Our own key's
   * deletion is reported the same way; our lease is checked as a holder's is.
   *
   * Fallback (count unknown, or the watch may have missed events): read the queue, confirming our
   * key is still there, and wait for the immediate predecessor's deletion, then read again. A
   * watch silent for `waiterRecheckMs` (a stream stuck on a dead member) also triggers a read.
   */
  async #waitForTurn(
    queue: Queue,
    key: Buffer,
    lease: ActiveLease,
    enqueued: Enqueued,
    budget: WaitBudget,
  ): Promise<boolean> {
    const ours = enqueued.revision;
    let readAt = ours;
    let predecessor = enqueued.predecessor;
    /** Keys ahead of ours not yet seen deleted, while counting; `undefined`: by predecessor. */
    let ahead = enqueued.ahead;
    let ownKeyDeleted = false;
    let mustRead = predecessor === undefined || ahead === undefined;
    const wakeup = new Wakeup();
    const listener = {
      deleted: (createRevision: bigint, deleteRevision: bigint) => {
        if (createRevision === ours) {
          ownKeyDeleted = true;
          wakeup.fire();
        } else if (ahead !== undefined) {
          if (createRevision < ours && deleteRevision > readAt && (ahead -= 1) === 0) wakeup.fire();
        } else if (createRevision === predecessor) {
          wakeup.fire();
        }
      },
      resync: () => {
        mustRead = true;
        wakeup.fire();
      },
    };
    let watch = this.#watchFor(queue, readAt);
    let unsubscribe = watch.subscribe(listener);
    // Deletions the watch delivered before we subscribed (our txn's reply can trail them).
    if (ahead !== undefined && watch.covers(readAt)) ahead -= watch.deletedAfter(readAt, ours);
    else mustRead = true;
    const onLeaseLost = () => wakeup.fire();
    lease.lost.addEventListener('abort', onLeaseLost, { once: true });
    try {
      for (;;) {
        if (lease.lost.aborted || ownKeyDeleted || watch.wasDeleted(ours)) return false;
        if (watch.closed) {
          unsubscribe();
          watch = this.#watchFor(queue, readAt);
          unsubscribe = watch.subscribe(listener);
          mustRead = true;
        }
        // Every key counted ahead is gone, or the predecessor is: confirm with a read (which
        // also checks our key is still there) before granting.
        const predecessorGone =
          ahead === 0 ||
          (ahead === undefined &&
            predecessor !== undefined &&
            predecessor !== null &&
            watch.wasDeleted(predecessor));
        if (!mustRead && !predecessorGone && watch.covers(readAt)) {
          const woken = await budget.race(wakeup.wait(ZZLOCK_DEFAULTS.waiterRecheckMs));
          if (!woken && watch.silentForMs >= ZZLOCK_DEFAULTS.waiterRecheckMs) mustRead = true;
          continue;
        }
        mustRead = false;
        const read = await budget.race(this.#readPredecessor(queue, key, ours));
        if (read === 'gone') return false;
        readAt = read.revision;
        predecessor = read.predecessor;
        ahead = undefined;
        if (predecessor === null) return true;
      }
    } finally {
      unsubscribe();
      lease.lost.removeEventListener('abort', onLeaseLost);
    }
  }

  #grant(
    queue: Queue,
    key: Buffer,
    lease: ActiveLease,
    revision: bigint,
    waited: boolean,
    slot: number,
  ): EtcdGrant {
    const lostController = new AbortController();
    const grant: EtcdGrant = {
      name: queue.name,
      fencingToken: revision,
      lost: lostController.signal,
      waited,
      owner: lease.hex,
      key,
      lease,
      lostController,
      slot,
    };
    this.#held.add(grant);
    if (!this.#leasesWatched.has(lease)) {
      this.#leasesWatched.add(lease);
      lease.lost.addEventListener('abort', () => this.#leaseLost(lease), { once: true });
    }
    if (lease.lost.aborted) this.#leaseLost(lease); // lost in the instant since the grant
    return grant;
  }

  /** Tells every lock held on `lease` that it is lost. */
  #leaseLost(lease: ActiveLease): void {
    for (const grant of this.#held) {
      if (grant.lease !== lease || grant.lost.aborted) continue;
      grant.lostController.abort(
        new LockLostError(grant.name, lease.hex, String(lease.lost.reason)),
      );
    }
  }

  #freeSlot(grant: EtcdGrant): void {
    this.#slotsOf(grant.lease).free(grant.name, grant.slot);
  }

  /** Puts our key if the queue is empty: the lock's revision, or null when it is held. */
  async #tryTxn(queue: Queue, key: Buffer, lease: ActiveLease): Promise<bigint | null> {
    const queueIsEmpty: RangeCompare = {
      key: queue.prefix,
      range_end: queue.end,
      target: 'Create',
      result: 'Equal',
      create_revision: 0,
    };
    const response = await this.#txn('acquire', queue.name, {
      compare: [queueIsEmpty],
      success: [{ request_put: { key, value: this.#value, lease: lease.id } }],
      failure: [{ request_range: { key } }],
    });
    if (response.succeeded) return BigInt(response.header.revision);
    // A retried txn whose first attempt had succeeded finds its own key.
    const own = response.responses[0]?.response_range.kvs[0];
    return own ? BigInt(own.create_revision) : null;
  }

  /** Reads the queue's tail and puts our key behind it, in one round trip. */
  async #enqueueTxn(queue: Queue, key: Buffer, lease: ActiveLease): Promise<Enqueued> {
    const response = await this.#txn('acquire', queue.name, {
      compare: [{ key, target: 'Create', result: 'Equal', create_revision: 0 }],
      success: [
        { request_range: this.#lastKey(queue) },
        { request_put: { key, value: this.#value, lease: lease.id } },
      ],
      failure: [{ request_range: { key } }],
    });
    if (response.succeeded) {
      const tail = response.responses[0]?.response_range;
      const last = tail?.kvs[0];
      return {
        revision: BigInt(response.header.revision),
        predecessor: last ? BigInt(last.create_revision) : null,
        // The range runs before the put, and without filters etcd counts every key it matched.
        ahead: tail ? Number(tail.count) : undefined,
      };
    }
    const own = response.responses[0]?.response_range.kvs[0];
    return {
      revision: BigInt(own?.create_revision ?? response.header.revision),
      predecessor: undefined,
      ahead: undefined,
    };
  }

  /** Confirms our key is still there and finds the newest key older than it. */
  async #readPredecessor(
    queue: Queue,
    key: Buffer,
    revision: bigint,
  ): Promise<'gone' | { revision: bigint; predecessor: bigint | null }> {
    const response = await this.#txn('acquire', queue.name, {
      compare: [{ key, target: 'Create', result: 'Equal', create_revision: revision.toString() }],
      success: [
        {
          request_range: {
            ...this.#lastKey(queue),
            max_create_revision: (revision - 1n).toString(),
          },
        },
      ],
      failure: [],
    });
    if (!response.succeeded) return 'gone';
    const previous = response.responses[0]?.response_range.kvs[0];
    return {
      revision: BigInt(response.header.revision),
      predecessor: previous ? BigInt(previous.create_revision) : null,
    };
  }

  #lastKey(queue: Queue): IRangeRequest {
    return {
      key: queue.prefix,
      range_end: queue.end,
      sort_target: 'Create',
      sort_order: 'Descend',
      limit: 1,
      keys_only: true,
    };
  }

  #txn(
    operation: string,
    name: string,
    request: Parameters<Etcd3['kv']['txn']>[0],
  ): Promise<ITxnResponse> {
    return this.#store(operation, name, () => this.#client.kv.txn(request));
  }

  /**
   * Deletes a queue key. With `revision` (the key's create revision) only that incarnation of
   * the key is deleted, so a late or repeated delete can never remove a later key of the same
   * name; without it (the revision is unknown), the key's slot must stay taken until this resolves.
   */
  async #deleteKey(operation: string, name: string, key: Buffer, revision?: bigint): Promise<void> {
    await this.#store(operation, name, (): Promise<unknown> =>
      revision === undefined
        ? this.#client.kv.deleteRange({ key })
        : this.#client.kv.txn({
            compare: [
              { key, target: 'Create', result: 'Equal', create_revision: revision.toString() },
            ],
            success: [{ request_delete_range: { key } }],
            failure: [],
          }),
    );
  }

  /**
   * Deletes a key left by a wait given up or a failed enqueue, then calls `freeSlot`. With its
   * create `revision`, only that incarnation can be deleted (a delete that times out may still
   * commit later, after the name was reused); without it, the caller must never reuse the name.
   * A failed delete is retried until it succeeds or the client closes: the key hangs on a
   * lease this process keeps alive, so, left behind, it would keep its place in the queue and
   * every later waiter would wait behind it for as long as the process lives. The slot stays
   * taken until the delete succeeds (on close, revoking the lease removes the key).
   */
  async #deleteQuietly(
    name: string,
    key: Buffer,
    revision: bigint | undefined,
    freeSlot: () => void,
  ): Promise<void> {
    const closing = this.#closing.signal;
    if (await this.#deleteUntilDone('cleanup', name, key, revision, closing, false)) freeSlot();
  }

  /**
   * Deletes a key, retrying with a backoff from 100 ms doubling up to `callTimeoutMs` (waiting
   * before the first attempt too when `afterFailure`), until it succeeds or `stop` aborts.
   * @returns true once the key is deleted.
   */
  async #deleteUntilDone(
    operation: string,
    name: string,
    key: Buffer,
    revision: bigint | undefined,
    stop: AbortSignal,
    afterFailure: boolean,
  ): Promise<boolean> {
    let wait = afterFailure;
    for (let delayMs = 100; ; wait = true) {
      if (wait) {
        await delay(delayMs, undefined, { signal: stop }).catch(() => undefined);
        if (stop.aborted) return false;
        delayMs = Math.min(delayMs * 2, this.options.callTimeoutMs);
      }
      try {
        await this.#deleteKey(operation, name, key, revision);
        return true;
      } catch {
        // etcd did not answer: try again.
      }
    }
  }

  /**
   * Deletes the key of a txn whose outcome is unknown, and keeps deleting it every 2 s for a
   * minute: the txn itself may commit after the first delete (etcd can apply a request it received
   * before a freeze once the member is back), and its key, on a lease this process keeps alive,
   * would then block the queue. The name is never reused, so these deletes can only meet that key.
   */
  async #sweepUncertain(name: string, key: Buffer): Promise<void> {
    await this.#deleteQuietly(name, key, undefined, () => undefined);
    for (let sweep = 0; sweep < UNCERTAIN_SWEEPS && !this.#closing.signal.aborted; sweep += 1) {
      await delay(UNCERTAIN_SWEEP_MS, undefined, { signal: this.#closing.signal }).catch(
        () => undefined,
      );
      if (this.#closing.signal.aborted) return;
      await this.#deleteKey('cleanup', name, key).catch(() => undefined);
    }
  }

  /** Keeps deleting a released key until it goes, its lease goes, or the client closes. */
  async #retryDelete(grant: EtcdGrant): Promise<void> {
    const { name, key, lease, fencingToken } = grant;
    const stop = AbortSignal.any([lease.lost, this.#closing.signal]);
    if (await this.#deleteUntilDone('release retry', name, key, fencingToken, stop, true)) {
      this.#freeSlot(grant);
    }
    // On close, #close deletes nothing for released keys: revoking the lease removes them.
  }

  async #store<T>(operation: string, name: string | undefined, call: () => Promise<T>): Promise<T> {
    try {
      return await storeCall(operation, name, this.options.callTimeoutMs, call);
    } catch (error) {
      this.hooks.storeError?.(operation, error);
      throw error;
    }
  }

  #slotsOf(lease: ActiveLease): KeySlots {
    let slots = this.#slots.get(lease);
    if (!slots) {
      slots = new KeySlots();
      this.#slots.set(lease, slots);
    }
    return slots;
  }

  #session(ttl: number): LeaseSession {
    let session = this.#sessions.get(ttl);
    if (!session) {
      session = new LeaseSession(
        this.#client,
        this.#memberClients,
        ttl,
        this.options.callTimeoutMs,
      );
      this.#sessions.set(ttl, session);
    }
    return session;
  }

  #watchFor(queue: Queue, revision: bigint): QueueWatch {
    const existing = this.#watches.get(queue.name);
    if (existing && !existing.closed) return existing;
    const watch = new QueueWatch(
      this.#watchScope,
      queue.prefix,
      revision + 1n,
      ZZLOCK_DEFAULTS.watchLingerMs,
      (closed, cancelledBy) => {
        if (this.#watches.get(queue.name) === closed) this.#watches.delete(queue.name);
        if (cancelledBy !== undefined) this.#replaceWatchStream(closed.scope);
      },
    );
    this.#watches.set(queue.name, watch);
    return watch;
  }

  /**
   * Moves queue watches to a new stream after etcd cancelled one on `failed`: later watches on
   * that stream would never be attached. Its other watches close too (their waiters re-read the
   * queue and watch again on the new stream). The old stream stays open until `close()`.
   */
  #replaceWatchStream(failed: Namespace): void {
    if (failed !== this.#watchScope || this.#closing.signal.aborted) return;
    this.#watchScope = this.#client.namespace('');
    for (const watch of [...this.#watches.values()]) {
      if (watch.scope === failed) void watch.close();
    }
  }

  #track<T>(work: Promise<T>): Promise<T> {
    this.#inFlight.add(work);
    const forget = () => this.#inFlight.delete(work);
    work.then(forget, forget);
    return work;
  }
}
