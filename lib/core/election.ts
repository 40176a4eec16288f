import { LockAbortedError } from './errors/lock-aborted.error.js';
import { LockClientClosedError } from './errors/lock-client-closed.error.js';
import { LockConfigError } from './errors/lock-config.error.js';
import { LockNotHeldError } from './errors/lock-not-held.error.js';
import type { CampaignOptions, Leadership, ObserveLeaderOptions } from './election-options.js';
import type { Leader, LockBackend, LockGrant } from './lock-backend.js';
import {
  rejectUnknownKeys,
  validateElectionValue,
  validateSignal,
  validateTtl,
} from './validation.js';

/** What an {@link Election} needs from the client that made it. @internal */
export interface ElectionContext {
  /** The store. */
  readonly backend: LockBackend;
  /** The client's default lease TTL, in seconds. */
  readonly ttl: number;
  /** Aborts when the client starts closing: campaigns end, observers finish. */
  readonly closing: AbortSignal;
}

/** Keys `campaign()` accepts. */
const CAMPAIGN_OPTION_KEYS = ['value', 'ttl', 'signal'] as const;
/** Keys `observe()` accepts. */
const OBSERVE_OPTION_KEYS = ['signal'] as const;

/** The leadership `campaign()` resolves with: a grant of the election's queue. */
class GrantedLeadership implements Leadership {
  #value: string;
  #resigning?: Promise<void>;
  /** The proclaims in flight, in call order. */
  #proclaiming: Promise<void> = Promise.resolve();

  constructor(
    private readonly grant: LockGrant,
    value: string,
    private readonly backend: LockBackend,
  ) {
    this.#value = value;
  }

  get name(): string {
    return this.grant.name;
  }
  get term(): bigint {
    return this.grant.fencingToken;
  }
  get value(): string {
    return this.#value;
  }
  get signal(): AbortSignal {
    return this.grant.lost;
  }
  get resigned(): boolean {
    return this.#resigning !== undefined;
  }

  proclaim(value: string): Promise<void> {
    let checked: string;
    try {
      checked = validateElectionValue(value);
    } catch (error) {
      return Promise.reject(error);
    }
    const next = this.#proclaiming.then(async () => {
      if (this.#resigning !== undefined) throw LockNotHeldError.resigned(this.name);
      if (this.signal.aborted) throw this.signal.reason;
      await this.backend.proclaim(this.grant, checked);
      this.#value = checked;
    });
    this.#proclaiming = next.catch(() => undefined);
    return next;
  }

  resign(): Promise<void> {
    this.#resigning ??= this.#proclaiming.then(() => this.backend.release(this.grant));
    return this.#resigning;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.resign();
  }
}

/**
 * One leader election, by name: candidates campaign, the oldest is the leader, everyone can ask
 * who leads or follow every change. Made by `locks.election(name)` (`LockClient`, `LockService`);
 * cheap, holds nothing by itself: make one wherever you need it.
 *
 * On etcd it is etcd's own election recipe (Go's `concurrency.Election`, `etcdctl elect`) over
 * zzlock's one queue engine: a campaign queues a key whose value is the proclaimed value, elected
 * when no older key is queued; the term is the key's create revision. Lease, lost signal, cleanup
 * and shutdown are those of locks.
 *
 * @example
 * const election = locks.election('ingest');
 * const leadership = await election.campaign({ value: 'replica-1' }); // waits until elected
 * leadership.signal.addEventListener('abort', () => stopIngesting());
 * await ingest({ fence: leadership.term });
 * await leadership.resign();
 *
 * @example
 * for await (const leader of locks.election('ingest').observe({ signal })) {
 *   console.log(leader === null ? 'no leader' : `${leader.value} leads (term ${leader.term})`);
 * }
 */
export class Election {
  /**
   * @param name The election's name (already validated).
   * @param context The client's store, default TTL and closing signal.
   * @internal
   */
  constructor(
    readonly name: string,
    private readonly context: ElectionContext,
  ) {}

  /**
   * Stands for election and resolves once elected: candidates are elected in campaign order, the
   * next one as soon as the leader resigns, or within its TTL (plus a second) if it dies. Waits
   * as long as it takes; end it with `signal`. A store outage meanwhile is waited out.
   * @throws LockConfigError (bad input, before any network call), LockAbortedError (`signal`),
   *   LockClientClosedError
   * @example
   * await using leadership = await election.campaign({ value: 'replica-1', ttl: 10 });
   */
  async campaign(options: CampaignOptions): Promise<Leadership> {
    if (options === null || typeof options !== 'object') {
      throw new LockConfigError(
        'options',
        'campaign() takes { value, ttl?, signal? }: value is what the leader proclaims',
        options,
      );
    }
    rejectUnknownKeys(options, CAMPAIGN_OPTION_KEYS, 'campaign()');
    const value = validateElectionValue(options.value);
    const ttl = validateTtl(options.ttl ?? this.context.ttl);
    const signal = validateSignal(options.signal);
    const { backend, closing } = this.context;
    if (closing.aborted) throw new LockClientClosedError(this.name);
    let grant: LockGrant | null;
    try {
      grant = await backend.acquire({
        name: this.name,
        mode: 'election',
        permits: 1,
        ttl,
        waitMs: Infinity,
        signal: signal === undefined ? closing : AbortSignal.any([signal, closing]),
        value,
      });
    } catch (error) {
      const abortedByClose =
        error instanceof LockAbortedError && closing.aborted && !signal?.aborted;
      throw abortedByClose ? new LockClientClosedError(this.name) : error;
    }
    // A campaign waits without a deadline: a backend resolves it with a grant or rejects.
    if (grant === null) throw new LockClientClosedError(this.name);
    return new GrantedLeadership(grant, value, backend);
  }

  /**
   * Who leads now: the value and term of the oldest candidate, `null` when no one campaigns.
   * One read.
   * @throws StoreUnavailableError, LockClientClosedError
   * @example
   * const leader = await election.leader(); // { value: 'replica-1', term: 1042n } | null
   */
  leader(): Promise<Leader | null> {
    if (this.context.closing.aborted) {
      return Promise.reject(new LockClientClosedError(this.name));
    }
    return this.context.backend.leader(this.name);
  }

  /**
   * The leader (or `null`) now, then at every change: another leader (a new term) or a new
   * value. No change is missed, and after a reconnect the election is read again before anything
   * more is told, so a stale leader is never reported. Ends when `signal` fires, the loop
   * breaks, or the client closes; a store outage meanwhile is ridden out.
   * @throws LockConfigError (bad options), at the call; StoreRejectedError from the iteration
   *   when etcd refuses to let this client read the election (permission denied…)
   * @example
   * for await (const leader of election.observe({ signal })) render(leader?.value ?? 'none');
   */
  observe(options: ObserveLeaderOptions = {}): AsyncIterable<Leader | null> {
    if (options === null || typeof options !== 'object') {
      throw new LockConfigError('options', 'observe() takes { signal? }', options);
    }
    rejectUnknownKeys(options, OBSERVE_OPTION_KEYS, 'observe()');
    const signal = validateSignal(options.signal);
    const { backend, closing } = this.context;
    return backend.observeLeader(
      this.name,
      signal === undefined ? closing : AbortSignal.any([signal, closing]),
    );
  }
}
