import { hostname } from 'node:os';
import type { Etcd3, ITxnResponse } from 'etcd3';
import { createClosingController } from '../closing-controller.js';
import { LockClientClosedError } from '../errors/lock-client-closed.error.js';
import { LockConfigError } from '../errors/lock-config.error.js';
import { LockLostError } from '../errors/lock-lost.error.js';
import { StoreRejectedError } from '../errors/store-rejected.error.js';
import type {
  AcquireRequest,
  GrantMode,
  Leader,
  LeaseState,
  LockBackend,
  LockGrant,
  StoreMemberHealth,
} from '../lock-backend.js';
import type { StoreInspection } from '../lock-inspection.js';
import type { ResolvedClientOptions } from '../validation.js';
import { WaitBudget } from '../wait-budget.js';
import { createEtcdClient } from './etcd-client-factory.js';
import { queueKey } from './etcd-keys.js';
import { type GrantRule, grantRuleOf } from './grant-rule.js';
import { watchLeader } from './leader-watch.js';
import { KeyJanitor, type DeleteJob } from './key-janitor.js';
import { traceKey } from './key-trace.js';
import { KeySlots } from './key-slots.js';
import { probeMember } from './member-probe.js';
import { type ActiveLease, LeaseSession } from './lease-session.js';
import {
  type Blocker,
  type Confirmed,
  type Enqueued,
  type Queue,
  type TxnRequest,
  confirmTxn,
  oldestBlocker,
  stillBlockedTxn,
  decodeConfirm,
  decodeEnqueue,
  decodeLeader,
  decodeTryAcquire,
  deleteTxn,
  enqueueTxn,
  leaderRead,
  proclaimTxn,
  queueOf,
  tryAcquireTxn,
  writtenRevision,
} from './queue-txns.js';
import { waitForTurn } from './queue-waiter.js';
import { storeCall } from './store-call.js';
import { StoreRetry } from './store-retry.js';
import { inspectStore } from './store-inspector.js';
import { WatchRegistry } from './watch-registry.js';

/** Options of {@link EtcdBackend} beyond the client's. */
export interface EtcdBackendHooks {
  /** Told of every failed call to etcd. */
  storeError?: (operation: string, error: unknown) => void;
  /** Told when a call that failed succeeds again (its outage is over). */
  storeRecovered?: (operation: string) => void;
}

/** A lease's key slots, and the lease they are on. */
interface LeaseKeys {
  readonly lease: ActiveLease;
  readonly slots: KeySlots;
}

/** A queue key of ours: where it is, and how to give its slot back once it is deleted. */
class PlacedKey {
  constructor(
    readonly queue: Queue,
    readonly rule: GrantRule,
    readonly key: Buffer,
    readonly owner: LeaseKeys,
    readonly slot: number,
  ) {}

  get lease(): ActiveLease {
    return this.owner.lease;
  }

  /** The key is deleted (or was never written): its name may be reused. */
  free(why: string): void {
    traceKey(() => `free ${this.key.toString()} slot ${this.slot}: ${why}`);
    this.owner.slots.free(this.queue.name, this.slot);
  }
}

/** A grant of this backend: a placed key that reached the head of its queue. */
class EtcdGrant implements LockGrant {
  readonly #lost = new AbortController();

  constructor(
    readonly placed: PlacedKey,
    readonly fencingToken: bigint,
    readonly waited: boolean,
  ) {}

  get name(): string {
    return this.placed.queue.name;
  }

  get mode(): GrantMode {
    return this.placed.rule.mode;
  }

  get owner(): string {
    return this.placed.lease.hex;
  }

  /**
   * Every look at the signal first judges the lease by the clock (see `ActiveLease.isLost`): a
   * holder that resumes after a pause past its lease learns at its first look that it lost the lock.
   */
  get lost(): AbortSignal {
    this.placed.lease.isLost();
    return this.#lost.signal;
  }

  markLost(reason: LockLostError): void {
    this.#lost.abort(reason);
  }
}

/**
 * The etcd lock store: etcd's own lock recipe (a key per acquisition under the lock's prefix,
 * granted in create-revision order), hardened as DESIGN §3 describes. This class orchestrates;
 * each concern has its own file: the txns (`queue-txns.ts`, pure), the waiter
 * (`queue-waiter.ts`), background deletes (`key-janitor.ts`), watches (`watch-registry.ts`),
 * leases (`lease-session.ts`) and key names (`key-slots.ts`).
 *
 * @example
 * const backend = new EtcdBackend(resolveClientOptions({ endpoints: ['http://127.0.0.1:2379'] }));
 */
export class EtcdBackend implements LockBackend {
  readonly #client: Etcd3;
  /**
   * The same endpoints, one attempt per call: for the txns that put a queue key if absent and for
   * deletes that compare nothing, which must never be applied by a retry we do not know of.
   */
  readonly #onceClient: Etcd3;
  /** One client per member, for keepalives that fail over between members. */
  readonly #memberClients: readonly Etcd3[];
  readonly #sessions = new Map<number, LeaseSession>();
  readonly #watches: WatchRegistry;
  readonly #janitor: KeyJanitor;
  readonly #held = new Set<EtcdGrant>();
  readonly #inFlight = new Set<Promise<unknown>>();
  readonly #closing = createClosingController();
  readonly #owner = `${hostname()}:${process.pid}`;
  /** The key slots of each lease in use; forgotten with the lease. */
  readonly #keys = new WeakMap<ActiveLease, LeaseKeys>();
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
    this.#onceClient = createEtcdClient(options, 'once');
    this.#watches = new WatchRegistry(this.#client);
    this.#janitor = new KeyJanitor((job) => this.#deleteOnce(job));
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
    const { placed } = held;
    // Lost (judged by the clock now): the lease is being revoked, and the key with it.
    if (placed.lease.isLost()) return;
    const job = this.#deleteJob('release', placed, held.fencingToken);
    try {
      await this.#deleteOnce(job);
      placed.free(`released ${held.fencingToken}`);
    } catch (error) {
      if (error instanceof StoreRejectedError) return this.#refusedDelete(placed, error);
      this.#track(
        this.#janitor.remove({ ...job, operation: 'release retry' }, true).then((deleted) => {
          if (deleted) placed.free(`release retried ${held.fencingToken}`);
        }),
      );
    }
  }

  close(): Promise<void> {
    this.#closed ??= this.#close();
    return this.#closed;
  }

  /**
   * Puts the new value on the leader's own key, with its lease, only if the key still exists in
   * its granted incarnation (one txn); a key found gone makes the grant lost.
   */
  async proclaim(grant: LockGrant, value: string): Promise<void> {
    const held = grant as EtcdGrant;
    const { placed } = held;
    if (!this.#held.has(held) || held.lost.aborted) throw this.#lostReason(held);
    const request = proclaimTxn(placed.key, held.fencingToken, Buffer.from(value), placed.lease.id);
    const response = await this.#txn('proclaim', held.name, request);
    if (response.succeeded && !placed.lease.isLost()) return;
    if (!response.succeeded) {
      // Our key is gone (deleted by hand, or with its lease): the leadership with it.
      held.markLost(new LockLostError(held.name, held.owner, 'its key was gone from etcd'));
      if (this.#held.delete(held)) placed.free('proclaim found it gone');
    }
    throw this.#lostReason(held);
  }

  /** The oldest key of the election's queue: one range. */
  async leader(name: string): Promise<Leader | null> {
    if (this.#closing.signal.aborted) throw new LockClientClosedError(name);
    const queue = queueOf(this.options.namespace, name, 'election');
    const { kvs } = await this.#store('leader', name, () =>
      this.#client.kv.range(leaderRead(queue)),
    );
    return decodeLeader(kvs);
  }

  /** See `watchLeader`: a prefix watch over the election's queue, read again after reconnects. */
  observeLeader(name: string, signal: AbortSignal): AsyncIterable<Leader | null> {
    const queue = queueOf(this.options.namespace, name, 'election');
    const stop = AbortSignal.any([signal, this.#closing.signal]);
    return watchLeader(
      queue,
      {
        watchPrefix: (prefix) => this.#watches.watchPrefix(prefix),
        readQueue: async ({ prefix, end }) => {
          const response = await this.#store('observe leader', name, () =>
            this.#client.kv.range({
              key: prefix,
              range_end: end,
              sort_target: 'Create',
              sort_order: 'Ascend',
            }),
          );
          return { kvs: response.kvs, revision: BigInt(response.header.revision) };
        },
      },
      stop,
    );
  }

  /** See `inspectStore`: one range read of the namespace, then the holders' lease lookups. */
  async inspect(): Promise<StoreInspection> {
    if (this.#closing.signal.aborted) throw new LockClientClosedError();
    return inspectStore(this.options.namespace, {
      readKeys: async (request) =>
        (await this.#store('inspect', undefined, () => this.#client.kv.range(request))).kvs,
      timeToLive: async (leaseId) =>
        Number(
          (
            await this.#store('inspect', undefined, () =>
              this.#client.leaseClient.leaseTimeToLive({ ID: leaseId }),
            )
          ).TTL,
        ),
    });
  }

  /** Why a grant can no longer be used: its lost reason, or a fresh `LockLostError`. */
  #lostReason(grant: EtcdGrant): LockLostError {
    const reason: unknown = grant.lost.reason;
    return reason instanceof LockLostError
      ? reason
      : new LockLostError(grant.name, grant.owner, 'it was released');
  }

  async #close(): Promise<void> {
    this.#closing.abort(new LockClientClosedError());
    const janitorClosed = this.#janitor.close(); // background deletes end: the revoke does them
    while (this.#inFlight.size > 0) await Promise.allSettled([...this.#inFlight]);
    await janitorClosed;
    const held = [...this.#held];
    this.#held.clear();
    for (const grant of held) {
      grant.markLost(new LockLostError(grant.name, grant.owner, 'the lock client closed'));
    }
    // Revoking a lease deletes every key on it, held or not: no delete per key first.
    await Promise.allSettled([...this.#sessions.values()].map((session) => session.revokeAll()));
    await this.#watches.close();
    for (const member of this.#memberClients) member.close();
    this.#onceClient.close();
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
    const queue = queueOf(this.options.namespace, name, request.mode);
    const rule = grantRuleOf(request.mode, request.permits);
    const value = rule.keyValue(this.#owner, request.value);
    const session = this.#session(ttl);
    // A no-wait acquisition tries other members at once, if there are any.
    const retry = new StoreRetry(budget, this.options.endpoints.length > 1 ? undefined : 0);
    // One permit (exclusive, shared): a busy lock is told by a compare, with nothing written.
    const tryOnly = waitMs === 0 && rule.permits === 1;

    for (;;) {
      let placed: PlacedKey;
      try {
        placed = this.#place(queue, rule, await retry.explain(() => budget.race(session.lease())));
        retry.succeeded();
      } catch (error) {
        await retry.after(error);
        continue;
      }
      const { key, lease } = placed;
      let response: ITxnResponse;
      try {
        const txn = tryOnly ? tryAcquireTxn : enqueueTxn;
        const request = txn(queue, rule, key, value, lease.id);
        response = await this.#settle(budget, retry, request, placed);
        traceKey(
          () =>
            `written ${key.toString()} ${response.header.revision} succeeded ${response.succeeded} ` +
            `own ${writtenRevision(response)}`,
        );
        retry.succeeded();
      } catch (error) {
        // A lease lost just as we used it fails the put: take a fresh lease and try again.
        if (lease.isLost() && budget.expired() === undefined) continue;
        await retry.afterOneAttempt(error); // within the budget, etcd not answering is waited out
        continue;
      }

      const outcome = tryOnly
        ? this.#decideTry(placed, response)
        : await this.#decideQueued(
            placed,
            decodeEnqueue(response, (kv) => rule.permitsOf(kv)),
            waitMs,
            budget,
            retry,
          );
      if (outcome !== 'again') return outcome;
    }
  }

  /**
   * What a {@link tryAcquireTxn} came to: a grant, busy (`null`), or `'again'` when our lease was
   * lost just as it granted. A busy lock held under other permits is a `LockConfigError`.
   */
  #decideTry(placed: PlacedKey, response: ITxnResponse): EtcdGrant | null | 'again' {
    const revision = decodeTryAcquire(response);
    if (revision === null) {
      const written = writtenRevision(response); // a late txn of this name, behind a blocker
      if (written === undefined) placed.free('try wrote nothing');
      else this.#cleanUp(placed, written);
      this.#agree(
        placed,
        oldestBlocker(response, (kv) => placed.rule.permitsOf(kv)),
      );
      return null;
    }
    if (!placed.lease.isLost()) return this.#grant(placed, revision, false);
    this.#cleanUp(placed, revision);
    return 'again';
  }

  /**
   * What a queued key comes to: granted at once or after waiting its turn, busy (`null`, a
   * semaphore's try), or `'again'` when our key or our lease vanished meanwhile (queue again with
   * a fresh key). Whatever is not a grant is cleaned up, also when this throws.
   */
  async #decideQueued(
    placed: PlacedKey,
    enqueued: Enqueued,
    waitMs: number,
    budget: WaitBudget,
    retry: StoreRetry,
  ): Promise<EtcdGrant | null | 'again'> {
    const { rule, lease } = placed;
    const { blockers, revision } = enqueued;
    try {
      if (blockers !== undefined) this.#agree(placed, enqueued.head);
      let granted = blockers !== undefined && rule.isGranted(blockers.length);
      const waited = !granted;
      if (!granted && waitMs === 0) {
        // A semaphore's try: the txn read what blocks us (or, retried, we read it now).
        const read =
          blockers === undefined ? await this.#tryConfirm(placed, revision, retry) : 'busy';
        if (read === 'busy') {
          this.#cleanUp(placed, revision);
          return null;
        }
        granted = read === 'granted';
      } else if (!granted) {
        granted = await waitForTurn({
          rule,
          lease,
          enqueued,
          budget,
          retry,
          watches: this.#watches,
          confirm: () => this.#confirm(placed, revision),
          stillBlocked: async (blockers) =>
            (
              await this.#txn(
                'acquire',
                placed.queue.name,
                stillBlockedTxn(placed.key, revision, blockers),
              )
            ).succeeded,
          agree: (head) => this.#agree(placed, head),
        });
      }
      // Judged by the clock now, not by a timer that a pause may have held up: news that we are
      // next, received before a pause, is no grant after it.
      if (granted && !lease.isLost()) return this.#grant(placed, revision, waited && waitMs > 0);
    } catch (error) {
      this.#cleanUp(placed, revision);
      throw error;
    }
    this.#cleanUp(placed, revision);
    return 'again';
  }

  /** One confirm read for a semaphore's try whose enqueue txn did not say what blocks it. */
  async #tryConfirm(
    placed: PlacedKey,
    revision: bigint,
    retry: StoreRetry,
  ): Promise<'granted' | 'busy' | 'gone'> {
    const read = await retry.explain(() => this.#confirm(placed, revision));
    if (read === 'gone') return 'gone';
    this.#agree(placed, read.head);
    return placed.rule.isGranted(read.blockers.length) ? 'granted' : 'busy';
  }

  /**
   * Every holder of a name must ask for the same permits (a mutex and a shared lock: 1): a key
   * put with other permits is a caller's mistake, never a reason to admit more holders. The
   * queue's head (its oldest key) decides: a newer key that disagrees with it is a request being
   * refused, whose key is on its way out, and must not get ours refused too.
   */
  #agree(placed: PlacedKey, head: Blocker | undefined): void {
    const { rule, queue } = placed;
    // An election's keys carry proclaimed values, not permits: there is nothing to agree on.
    if (!rule.agreesOnPermits) return;
    if (head === undefined || head.permits === rule.permits) return;
    throw LockConfigError.permitsMismatch(queue.name, head.permits, rule.permits);
  }

  /** Takes a key name on `lease` for `queue`, under the prefix of `rule`'s keys. */
  #place(queue: Queue, rule: GrantRule, lease: ActiveLease): PlacedKey {
    const owner = this.#keysOf(lease);
    const slot = owner.slots.take(queue.name);
    const key = queueKey(rule.keyPrefix(queue.prefix), lease.hex, slot);
    traceKey(() => `place ${key.toString()} slot ${slot}`);
    return new PlacedKey(queue, rule, key, owner, slot);
  }

  /**
   * Awaits an acquire txn within the budget. When the budget ends first or the txn fails, what
   * it left in etcd is cleaned up once it settles (see {@link #cleanUpAfter}).
   */
  async #settle(
    budget: WaitBudget,
    retry: StoreRetry,
    request: TxnRequest,
    placed: PlacedKey,
  ): Promise<ITxnResponse> {
    // One attempt: one that fails is a txn of unknown outcome, cleaned up as such, and the
    // acquisition tries again under a new key name (see EtcdAttempts).
    const txn = this.#txn('acquire', placed.queue.name, request, this.#onceClient);
    try {
      return await retry.explain(() => budget.race(txn));
    } catch (error) {
      traceKey(() => `gave up ${placed.key.toString()}: ${String(error)}`);
      this.#track(this.#cleanUpAfter(txn, placed));
      throw error;
    }
  }

  /**
   * Cleans up after an acquire txn that was given up, by what its outcome turns out to be:
   * - applied (it answered, maybe after the budget ended): delete that key, by its revision;
   * - refused by etcd (`StoreRejectedError`): nothing was written, the name is free at once;
   * - unknown (no answer): the txn may still commit later, so its name is not reused for a while
   *   and the key is deleted again over that time (see `KeyJanitor.sweepUncertain`).
   */
  async #cleanUpAfter(txn: Promise<ITxnResponse>, placed: PlacedKey): Promise<void> {
    let response: ITxnResponse;
    try {
      response = await txn;
    } catch (error) {
      if (error instanceof StoreRejectedError) placed.free('acquire refused');
      else if (await this.#janitor.sweepUncertain(this.#deleteJob('cleanup', placed))) {
        placed.free('uncertain acquire swept');
      }
      return;
    }
    const revision = writtenRevision(response);
    traceKey(() => `late answer ${placed.key.toString()}: written ${revision}`);
    if (revision === undefined) placed.free('given-up acquire wrote nothing');
    else this.#cleanUp(placed, revision);
  }

  /** Deletes a key of ours that will not be granted, in the background; frees its name after. */
  #cleanUp(placed: PlacedKey, revision: bigint): void {
    traceKey(() => `clean up ${placed.key.toString()} ${revision}`);
    this.#track(
      this.#janitor.remove(this.#deleteJob('cleanup', placed, revision)).then((deleted) => {
        if (deleted) placed.free(`cleaned up ${revision}`);
      }),
    );
  }

  /**
   * etcd refused to delete a key of ours (reported once by the store-error hook): retrying cannot
   * help, and the key, on a lease this process keeps alive, would block its lock for every process.
   * So the lease goes: its keepalives stop, it is revoked if etcd allows, and etcd expires it (and
   * the key) within its TTL otherwise. Locks held on it are signalled lost first.
   */
  #refusedDelete(placed: PlacedKey, error: StoreRejectedError): void {
    placed.lease.markLost(
      `etcd refused to delete a key of it (${error.reason}), so the lease was let go to expire`,
    );
  }

  #deleteJob(operation: string, placed: PlacedKey, revision?: bigint): DeleteJob {
    return {
      operation,
      name: placed.queue.name,
      key: placed.key,
      revision,
      stop: placed.lease.lost,
      refused: (error) => this.#refusedDelete(placed, error),
    };
  }

  #grant(placed: PlacedKey, revision: bigint, waited: boolean): EtcdGrant {
    traceKey(() => `grant ${placed.key.toString()} ${revision}`);
    const grant = new EtcdGrant(placed, revision, waited);
    this.#held.add(grant);
    return grant;
  }

  /** The key slots of `lease`, made on first use: they also let the lease go once unused. */
  #keysOf(lease: ActiveLease): LeaseKeys {
    let keys = this.#keys.get(lease);
    if (keys === undefined) {
      const slots = new KeySlots(this.options.leaseIdleMs, () =>
        this.#sessions.get(lease.ttl)?.retire(lease),
      );
      keys = { lease, slots };
      this.#keys.set(lease, keys);
      // One listener per lease, not per grant: tells every lock held on it that it is lost.
      lease.lost.addEventListener('abort', () => this.#leaseLost(lease, slots), { once: true });
    }
    return keys;
  }

  /** Tells every lock held on `lease` that it is lost. */
  #leaseLost(lease: ActiveLease, slots: KeySlots): void {
    slots.dispose();
    for (const grant of this.#held) {
      if (grant.placed.lease !== lease) continue;
      grant.markLost(new LockLostError(grant.name, lease.hex, String(lease.lost.reason)));
    }
  }

  async #confirm(placed: PlacedKey, revision: bigint): Promise<Confirmed> {
    const { queue, rule, key } = placed;
    return decodeConfirm(
      await this.#txn('acquire', queue.name, confirmTxn(queue, rule, key, revision)),
      (kv) => rule.permitsOf(kv),
    );
  }

  #txn(
    operation: string,
    name: string,
    request: TxnRequest,
    client: Etcd3 = this.#client,
  ): Promise<ITxnResponse> {
    return this.#store(operation, name, () => client.kv.txn(request));
  }

  /** One delete of a queue key: by its create revision when known, else whatever is there. */
  async #deleteOnce(job: DeleteJob): Promise<void> {
    const { key, revision } = job;
    await this.#store(job.operation, job.name, (): Promise<unknown> =>
      revision === undefined
        ? this.#onceClient.kv.deleteRange({ key }) // compares nothing: never retried unseen
        : this.#client.kv.txn(deleteTxn(key, revision)),
    );
  }

  async #store<T>(operation: string, name: string | undefined, call: () => Promise<T>): Promise<T> {
    try {
      return await storeCall(operation, name, this.options.callTimeoutMs, call);
    } catch (error) {
      this.hooks.storeError?.(operation, error);
      throw error;
    }
  }

  #session(ttl: number): LeaseSession {
    let session = this.#sessions.get(ttl);
    if (!session) {
      session = new LeaseSession(
        this.#client,
        this.#memberClients,
        ttl,
        this.options.callTimeoutMs,
        {
          storeError: (operation, error) => this.hooks.storeError?.(operation, error),
          storeRecovered: (operation) => this.hooks.storeRecovered?.(operation),
          // Its slots exist from the grant on, so a lease no acquisition ever uses goes idle too.
          leaseGranted: (lease) => void this.#keysOf(lease),
        },
      );
      this.#sessions.set(ttl, session);
    }
    return session;
  }

  #track<T>(work: Promise<T>): Promise<T> {
    this.#inFlight.add(work);
    const forget = () => this.#inFlight.delete(work);
    work.then(forget, forget);
    return work;
  }
}
