import type { Etcd3, Lease } from 'etcd3';
import { storeCall } from './store-call.js';

/**
 * How long before a lease's TTL runs out (counted from the last keepalive etcd confirmed) the
 * library already calls it lost: a tenth of the TTL, at least 250 ms.
 * @internal
 */
export function lostMarginMs(ttlSeconds: number): number {
  return Math.max(250, ttlSeconds * 100);
}

/**
 * One granted etcd lease, kept alive every TTL/3 by etcd3's single keepalive stream, and judged
 * lost by our own clock: when no keepalive sent at time T has been confirmed by
 * `T + ttl − margin`, {@link ActiveLease.lost} aborts. etcd3's own `lost` event comes only after
 * about 2×TTL, long after another process may have taken the lock.
 * @internal
 */
export class ActiveLease {
  readonly #lost = new AbortController();
  readonly #pendingKeepalives: number[] = [];
  #confirmedAt: number;
  #timer?: NodeJS.Timeout;

  constructor(
    private readonly lease: Lease,
    /** Decimal lease id, as etcd3 returns it. */
    readonly id: string,
    readonly ttl: number,
    grantSentAt: number,
  ) {
    this.#confirmedAt = grantSentAt;
    lease.on('keepaliveFired', () => this.#pendingKeepalives.push(performance.now()));
    lease.on('keepaliveSucceeded', () => this.#confirm(this.#pendingKeepalives.shift()));
    lease.on('keepaliveFailed', () => (this.#pendingKeepalives.length = 0));
    lease.on('lost', (error) => this.markLost(`etcd reported the lease gone (${error.message})`));
    this.#schedule();
  }

  /** Lease id in hex, as used in queue keys. */
  get hex(): string {
    return BigInt(this.id).toString(16);
  }

  /** Aborts, with a reason string, once the lease is considered lost. */
  get lost(): AbortSignal {
    return this.#lost.signal;
  }

  /** Milliseconds since the last keepalive etcd confirmed (the grant counts as one). */
  get sinceConfirmedMs(): number {
    return performance.now() - this.#confirmedAt;
  }

  /** Declares the lease lost: stops renewing it and aborts {@link lost}. Idempotent. */
  markLost(detail: string): void {
    if (this.#lost.signal.aborted) return;
    clearTimeout(this.#timer);
    this.lease.release();
    this.#lost.abort(detail);
  }

  /** Revokes the lease, deleting every key attached to it, within `timeoutMs`. */
  async revoke(timeoutMs: number): Promise<void> {
    clearTimeout(this.#timer);
    if (!this.#lost.signal.aborted) this.#lost.abort('the lease was revoked');
    await storeCall('lease revoke', undefined, timeoutMs, () => this.lease.revoke());
  }

  #confirm(sentAt: number | undefined): void {
    if (this.#lost.signal.aborted) return;
    this.#confirmedAt = Math.max(this.#confirmedAt, sentAt ?? performance.now());
    this.#schedule();
  }

  #schedule(): void {
    clearTimeout(this.#timer);
    const expiresIn =
      this.#confirmedAt + this.ttl * 1000 - lostMarginMs(this.ttl) - performance.now();
    this.#timer = setTimeout(
      () =>
        this.markLost(
          `no keepalive was confirmed for ${Math.round(this.sinceConfirmedMs)} ms of a ${this.ttl} s TTL`,
        ),
      Math.max(0, expiresIn),
    );
    this.#timer.unref();
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

  constructor(
    private readonly client: Etcd3,
    readonly ttl: number,
    private readonly callTimeoutMs: number,
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

  /** Revokes every lease this session granted. */
  async revokeAll(): Promise<void> {
    const leases = [...this.#all];
    this.#all.clear();
    this.#current = undefined;
    await Promise.allSettled(leases.map((lease) => lease.revoke(this.callTimeoutMs)));
  }

  async #grant(): Promise<ActiveLease> {
    const sentAt = performance.now();
    const lease = this.client.lease(this.ttl, { autoKeepAlive: true });
    lease.on('lost', () => undefined); // handled by ActiveLease; keeps EventEmitter from throwing
    let id: string;
    try {
      id = await storeCall('lease grant', undefined, this.callTimeoutMs, () => lease.grant());
    } catch (error) {
      lease.release();
      throw error;
    }
    const active = new ActiveLease(lease, id, this.ttl, sentAt);
    this.#all.add(active);
    active.lost.addEventListener(
      'abort',
      () => {
        // A lost lease is revoked in the background so its keys go now, not at TTL's end.
        active
          .revoke(this.callTimeoutMs)
          .then(() => this.#all.delete(active))
          .catch(() => undefined);
      },
      { once: true },
    );
    return active;
  }
}
