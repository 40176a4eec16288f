import { randomBytes } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { EtcdLeaseInvalidError, type Etcd3 } from 'etcd3';
import { StoreRejectedError } from '../errors/store-rejected.error.js';
import { LockClientClosedError } from '../errors/lock-client-closed.error.js';
import { storeCall } from './store-call.js';

/**
 * How long before a lease's TTL runs out (counted from the last keepalive etcd confirmed) the
 * library already calls it lost: a tenth of the TTL, at least 250 ms.
 * @internal
 */
export function lostMarginMs(ttlSeconds: number): number {
  return Math.max(250, ttlSeconds * 100);
}

/** etcd's answer to a grant whose id is taken: here, by an earlier attempt of the same grant. */
const LEASE_EXISTS = /lease already exists/;

/**
 * A lease id of our own choosing: random, positive, below 2^63 (etcd's ids are int64; 0 asks etcd
 * to choose). 62 random bits make a clash with another client's lease practically impossible.
 */
function randomLeaseId(): string {
  return (randomBytes(8).readBigUInt64BE() >> 2n || 1n).toString();
}

/**
 * Revokes lease `ID` within `timeoutMs`; a lease already gone (expired, revoked, or never granted)
 * is what was wanted.
 */
async function revokeLease(client: Etcd3, ID: string, timeoutMs: number): Promise<void> {
  await storeCall('lease revoke', undefined, timeoutMs, async () => {
    try {
      await client.leaseClient.leaseRevoke({ ID });
    } catch (error) {
      if (!(error instanceof EtcdLeaseInvalidError)) throw error;
    }
  });
}

/** Shortest wait between keepalive attempts after a failed one, in ms. */
const KEEPALIVE_RETRY_MS = 50;

/** Where a lease reports the calls etcd failed, and their recovery. @internal */
export interface LeaseHooks {
  /** A call failed (every failed attempt: metrics count them). */
  storeError(operation: string, error: unknown): void;
  /** A call succeeded after failing: the outage of `operation` is over. */
  storeRecovered(operation: string): void;
  /** A lease was granted (before any acquisition uses it). */
  leaseGranted(lease: ActiveLease): void;
}

/**
 * Sends one keepalive for `leaseId` through `client` and resolves the TTL etcd answers
 * (`0`: the lease is gone). Rejects when no answer comes within `timeoutMs`.
 * @internal
 */
async function keepaliveOnce(client: Etcd3, leaseId: string, timeoutMs: number): Promise<number> {
  return storeCall('lease keepalive', undefined, timeoutMs, async () => {
    const stream = await client.leaseClient.leaseKeepAlive({ deadline: Date.now() + timeoutMs });
    try {
      return await new Promise<number>((resolve, reject) => {
        stream.on('data', (response) => resolve(Number(response.TTL)));
        stream.on('error', reject);
        stream.on('end', () => reject(new Error('keepalive stream ended without an answer')));
        stream.write({ ID: leaseId });
      });
    } finally {
      stream.end();
    }
  });
}

/**
 * One granted etcd lease, renewed every TTL/3 and judged lost by our own clock: when no keepalive
 * sent at time T has been confirmed by `T + ttl − margin`, {@link ActiveLease.lost} aborts
 * (etcd3's own `lost` event comes only after about 2×TTL, long after another process may have
 * taken the lock).
 *
 * Keepalives go to one member at a time, through a client of that member alone; a keepalive that
 * is not answered within half the renewal interval moves the lease to the next member and is
 * sent again at once. So one frozen or partitioned member costs a lease at most one late
 * keepalive, not the lock.
 * @internal
 */
export class ActiveLease {
  readonly #lost = new AbortController();
  readonly #intervalMs: number;
  readonly #attemptTimeoutMs: number;
  #member = 0;
  #hex?: string;
  #confirmedAt: number;
  #lostTimer?: NodeJS.Timeout;
  #renewTimer?: NodeJS.Timeout;

  /**
   * @param members One client per etcd member, to renew through (a single client is fine).
   * @param id Decimal lease id, as etcd returns it.
   * @param ttl Granted TTL in seconds.
   * @param grantSentAt When the grant was sent (performance.now()): the first confirmation.
   * @param hooks Told of failed keepalives and of their recovery.
   * @param outage Shared by the leases of one session: an outage that outlived a lease ends with
   *   the next lease's first confirmed keepalive.
   */
  constructor(
    private readonly members: readonly Etcd3[],
    readonly id: string,
    readonly ttl: number,
    grantSentAt: number,
    private readonly hooks: LeaseHooks,
    private readonly outage: { failing: boolean } = { failing: false },
  ) {
    // Every lock held or waited for on this lease listens to `lost`: thousands are normal.
    setMaxListeners(0, this.#lost.signal);
    this.#intervalMs = (ttl * 1000) / 3;
    this.#attemptTimeoutMs = Math.max(200, this.#intervalMs / 2);
    this.#confirmedAt = grantSentAt;
    this.#scheduleLoss();
    this.#scheduleRenewal(this.#intervalMs);
  }

  /** Lease id in hex, as used in queue keys. */
  get hex(): string {
    this.#hex ??= BigInt(this.id).toString(16);
    return this.#hex;
  }

  /** Aborts, with a reason string, once the lease is considered lost. */
  get lost(): AbortSignal {
    return this.#lost.signal;
  }

  /** Milliseconds since the send time of the last keepalive etcd confirmed (or of the grant). */
  get sinceConfirmedMs(): number {
    return performance.now() - this.#confirmedAt;
  }

  /**
   * True when the lease is lost, judged by the clock now: the lost timer cannot run while the
   * process is paused or its event loop blocked, so every look at a grant or a waiter comes here
   * first, and a lease past its deadline is declared lost on the spot (its `lost` listeners run
   * before this returns). A reply etcd sent before a pause is then never acted on after it.
   */
  isLost(): boolean {
    if (!this.#lost.signal.aborted && performance.now() >= this.#deadline()) this.#expire();
    return this.#lost.signal.aborted;
  }

  /** Declares the lease lost: stops renewing it and aborts {@link lost}. Idempotent. */
  markLost(detail: string): void {
    if (this.#lost.signal.aborted) return;
    this.#stop();
    this.#lost.abort(detail);
  }

  /**
   * Stops renewing and revokes the lease, deleting every key attached to it, within `timeoutMs`,
   * through `client` (one that fails over between members, so one member down costs nothing).
   */
  async revoke(client: Etcd3, timeoutMs: number): Promise<void> {
    this.#stop();
    if (!this.#lost.signal.aborted) this.#lost.abort('the lease was revoked');
    await revokeLease(client, this.id, timeoutMs);
  }

  #stop(): void {
    clearTimeout(this.#lostTimer);
    clearTimeout(this.#renewTimer);
  }

  #scheduleRenewal(delayMs: number): void {
    this.#renewTimer = setTimeout(() => void this.#renew(), delayMs);
  }

  async #renew(): Promise<void> {
    if (this.#lost.signal.aborted) return;
    const sentAt = performance.now();
    const member = this.members[this.#member];
    try {
      const ttl = await keepaliveOnce(member, this.id, this.#attemptTimeoutMs);
      if (this.isLost()) return; // a reply that comes after the deadline saves nothing
      if (ttl <= 0) {
        this.markLost('etcd reported the lease gone (expired or revoked)');
        return;
      }
      this.#confirmedAt = Math.max(this.#confirmedAt, sentAt);
      if (this.outage.failing) {
        this.outage.failing = false;
        this.hooks.storeRecovered('lease keepalive');
      }
      this.#scheduleLoss();
      this.#scheduleRenewal(this.#intervalMs);
    } catch (error) {
      if (this.#lost.signal.aborted) return;
      this.outage.failing = true;
      this.hooks.storeError('lease keepalive', error);
      if (error instanceof StoreRejectedError) {
        // etcd answered no: not the member's fault, and asking again at once will not help.
        this.#scheduleRenewal(this.#attemptTimeoutMs);
        return;
      }
      this.#member = (this.#member + 1) % this.members.length;
      this.#scheduleRenewal(KEEPALIVE_RETRY_MS);
    }
  }

  /** When the lease counts as lost unless a keepalive is confirmed first (performance.now()). */
  #deadline(): number {
    return this.#confirmedAt + this.ttl * 1000 - lostMarginMs(this.ttl);
  }

  #expire(): void {
    this.markLost(
      `no keepalive was confirmed for ${Math.round(this.sinceConfirmedMs)} ms of a ${this.ttl} s TTL`,
    );
  }

  #scheduleLoss(): void {
    clearTimeout(this.#lostTimer);
    this.#lostTimer = setTimeout(
      () => this.#expire(),
      Math.max(0, this.#deadline() - performance.now()),
    );
    this.#lostTimer.unref();
  }
}

/**
 * The lease of one TTL, shared by every lock with that TTL in this client: granted lazily, and
 * replaced by a fresh one when it is lost.
 * @internal
 */
export class LeaseSession {
  #current?: Promise<ActiveLease>;
  readonly #all = new Set<ActiveLease>();
  /** Ids of grants that got no answer: etcd may have granted them, and nobody renews them. */
  readonly #unanswered = new Set<string>();
  #closed = false;
  /** Whether keepalives of this session's leases are failing now (across leases). */
  readonly #outage = { failing: false };

  /**
   * @param client The client leases are granted through.
   * @param members One client per etcd member, for keepalives (see {@link ActiveLease}).
   * @param ttl The TTL of every lease of this session, in seconds.
   * @param callTimeoutMs Deadline of grant and revoke calls.
   * @param hooks Told of failed keepalives and revokes.
   */
  constructor(
    private readonly client: Etcd3,
    private readonly members: readonly Etcd3[],
    readonly ttl: number,
    private readonly callTimeoutMs: number,
    private readonly hooks: LeaseHooks,
  ) {}

  /** The lease in use right now, if one has been granted and not lost. */
  get active(): ActiveLease | undefined {
    return [...this.#all].findLast((lease) => !lease.lost.aborted);
  }

  /** The live lease of this TTL, granting one when there is none (or the last was lost). */
  async lease(): Promise<ActiveLease> {
    for (;;) {
      if (this.#current === undefined) {
        const granting = this.#grant();
        this.#current = granting;
        granting.catch(() => {
          if (this.#current === granting) this.#current = undefined;
        });
      }
      const current = this.#current;
      const lease = await current;
      if (!lease.lost.aborted) return lease;
      if (this.#current === current) this.#current = undefined;
    }
  }

  /** Revokes every lease this session granted, deleting their keys; later grants are revoked at once. */
  async revokeAll(): Promise<void> {
    this.#closed = true;
    const leases = [...this.#all];
    this.#all.clear();
    this.#current = undefined;
    // Grants that got no answer may have been applied: their leases go too, not a TTL later.
    const unanswered = [...this.#unanswered];
    this.#unanswered.clear();
    await Promise.allSettled([
      ...leases.map((lease) => this.#revoke(lease)),
      ...unanswered.map((ID) => this.#revokeUnanswered(ID)),
    ]);
  }

  /** Revokes a lease whose grant got no answer; "not found" means it was never granted. */
  async #revokeUnanswered(ID: string): Promise<void> {
    try {
      await revokeLease(this.client, ID, this.callTimeoutMs);
    } catch (error) {
      this.hooks.storeError('lease revoke', error);
    }
  }

  /**
   * Lets an unused lease go: new acquisitions get a fresh one, and this one is revoked. The caller
   * knows no key of this process hangs on it.
   */
  retire(lease: ActiveLease): void {
    if (!this.#all.has(lease) || lease.lost.aborted) return;
    lease.markLost('it was unused, and released');
  }

  async #grant(): Promise<ActiveLease> {
    const sentAt = performance.now();
    // Our own id makes the grant idempotent: a retry of a grant that was applied is told "already
    // exists", and a grant that got no answer, which etcd may still apply late, can be revoked.
    const ID = randomLeaseId();
    try {
      await storeCall('lease grant', undefined, this.callTimeoutMs, async () => {
        try {
          await this.client.leaseClient.leaseGrant({ ID, TTL: this.ttl });
        } catch (error) {
          if (!LEASE_EXISTS.test(String(error))) throw error; // else: an earlier attempt of ours
        }
      });
    } catch (error) {
      this.hooks.storeError('lease grant', error);
      if (!(error instanceof StoreRejectedError)) this.#unanswered.add(ID);
      throw error;
    }
    const active = new ActiveLease(this.members, ID, this.ttl, sentAt, this.hooks, this.#outage);
    if (this.#closed) {
      // Granted after close() took its list of leases: revoke it now, not a TTL from now.
      void this.#revoke(active);
      throw new LockClientClosedError();
    }
    this.#all.add(active);
    this.hooks.leaseGranted(active);
    active.lost.addEventListener(
      'abort',
      () => {
        // A lost lease is revoked in the background so its keys go now, not at TTL's end. It
        // leaves the session whatever the outcome: etcd expires it anyway, and a lease kept here
        // would be revoked again at close for nothing.
        if (this.#all.delete(active)) void this.#revoke(active);
      },
      { once: true },
    );
    return active;
  }

  /** Revokes `lease`; a failure is reported, never thrown (etcd expires the lease anyway). */
  async #revoke(lease: ActiveLease): Promise<void> {
    try {
      await lease.revoke(this.client, this.callTimeoutMs);
    } catch (error) {
      this.hooks.storeError('lease revoke', error);
    }
  }
}
