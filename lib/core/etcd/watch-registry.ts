import type { Etcd3, Namespace } from 'etcd3';
import { ZZLOCK_DEFAULTS } from '../defaults.js';
import type { Queue } from './queue-txns.js';
import { QueueWatch } from './queue-watch.js';

/**
 * The queue watches of one client: one long-lived {@link QueueWatch} per lock name, shared by
 * that name's waiters in this process, created on first need and closed after a linger with no
 * waiter.
 * @internal
 */
export class WatchRegistry {
  readonly #watches = new Map<string, QueueWatch>();
  /**
   * Where queue watches are created: a namespace of the client with its own watch stream.
   * Replaced when etcd cancels a watch, because etcd3 then never attaches another watch to that
   * stream (microsoft/etcd3#114), and keeps the stream's auth token even once etcd no longer
   * accepts it.
   */
  #scope: Namespace;
  #closed = false;

  /** @param client The client whose connections carry the watch streams. */
  constructor(private readonly client: Etcd3) {
    this.#scope = client.namespace('');
  }

  /** The open watch of `queue`, or a new one delivering events after `revision`. */
  watchFor(queue: Queue, revision: bigint): QueueWatch {
    const existing = this.#watches.get(queue.name);
    if (existing && !existing.closed) return existing;
    const watch = new QueueWatch(
      this.#scope,
      queue.prefix,
      revision + 1n,
      ZZLOCK_DEFAULTS.watchLingerMs,
      (closed, cancelledBy) => {
        if (this.#watches.get(queue.name) === closed) this.#watches.delete(queue.name);
        if (cancelledBy !== undefined) this.#replaceStream(closed.scope);
      },
    );
    this.#watches.set(queue.name, watch);
    return watch;
  }

  /** Cancels every watch. */
  async close(): Promise<void> {
    this.#closed = true;
    await Promise.allSettled([...this.#watches.values()].map((watch) => watch.close()));
  }

  /**
   * Moves queue watches to a new stream after etcd cancelled one on `failed`: later watches on
   * that stream would never be attached. Its other watches close too (their waiters re-read the
   * queue and watch again on the new stream). The old stream stays open until the client closes.
   */
  #replaceStream(failed: Namespace): void {
    if (failed !== this.#scope || this.#closed) return;
    this.#scope = this.client.namespace('');
    for (const watch of [...this.#watches.values()]) {
      if (watch.scope === failed) void watch.close();
    }
  }
}
