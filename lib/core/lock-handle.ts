import type { LockMode } from './lock-backend.js';

/**
 * A granted lock. Release it exactly once, or let `await using` do it.
 *
 * @example
 * await using lock = await locks.acquire('report');
 * await writeReport({ fence: lock.fencingToken, signal: lock.signal });
 * // released here, also when writeReport throws
 */
export interface LockHandle extends AsyncDisposable {
  /** The lock name, as given to acquire. */
  readonly name: string;
  /**
   * How the lock is held: `exclusive` (a mutex, `permits` 1 or none), `semaphore` (one of
   * `permits`) or `shared` (`shared: true`). A re-entrant handle tells the outer hold's mode: a
   * shared acquire inside an exclusive hold gets an `exclusive` handle.
   * @default 'exclusive'
   */
  readonly mode: LockMode;
  /**
   * Holders the lock admits at once: the semaphore's `permits`, 1 for an exclusive or shared
   * lock.
   * @default 1
   */
  readonly permits: number;
  /**
   * Strictly increasing across grants of one name (etcd's create revision of the queue key), in
   * grant order, and unique also among holders of one semaphore or shared lock at once. Pass it
   * to the protected resource and reject writes that carry a smaller one.
   *
   * A `bigint` (etcd revisions are 64-bit): `JSON.stringify` throws on it, so a route returning
   * `{ token: lock.fencingToken }` answers 500. Send `String(lock.fencingToken)` (what
   * {@link LockHandle.toJSON} does), and `BigInt(text)` it back before comparing.
   */
  readonly fencingToken: bigint;
  /**
   * Aborts, with a `LockLostError` as reason, the moment the library decides the lock is lost
   * (its lease could not be renewed within its TTL). Never aborts on a normal release.
   */
  readonly signal: AbortSignal;
  /** How many nested holds of this lock the current call chain has (1 when not re-entered). */
  readonly holdCount: number;
  /** True once this handle has been released. */
  readonly released: boolean;
  /**
   * Gives the lock up. Idempotent; never throws for a lock that was already lost. A re-entrant
   * handle only lowers the hold count: the lock goes when the outermost hold is released.
   */
  release(): Promise<void>;
  /**
   * The handle as JSON shows it, so that a route can return it (`return { lock }`): what the lock
   * is (name, mode, permits, fencing token as a decimal string), not its state in the call chain
   * (`holdCount`, `released`, `signal`), which a route's answer is serialized too late to tell:
   * after `@Locked` has released it.
   * @example
   * JSON.stringify(lock); // '{"name":"report","mode":"exclusive","permits":1,"fencingToken":"1042"}'
   */
  toJSON(): LockHandleJson;
}

/**
 * What `JSON.stringify` makes of a {@link LockHandle}: what the lock is, with the fencing token as
 * a decimal string (JSON has no 64-bit integers; `BigInt(json.fencingToken)` gives it back).
 *
 * @example
 * { name: 'report', mode: 'exclusive', permits: 1, fencingToken: '1042' }
 */
export interface LockHandleJson {
  /** The lock name. */
  readonly name: string;
  /** How the lock is held. */
  readonly mode: LockMode;
  /** Holders the lock admits at once. */
  readonly permits: number;
  /** The fencing token, in decimal. */
  readonly fencingToken: string;
}
