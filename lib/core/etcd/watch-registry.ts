import type { Etcd3, Namespace, Watcher } from 'etcd3';
import { KeyWatch } from './key-watch.js';

/**
 * The key watches of one client: one {@link KeyWatch} per blocking key, shared by the waiters of
 * this process that key blocks, created on first need and cancelled when the last one leaves.
 * @internal
 */
export class WatchRegistry {
  readonly #watches = new Map<string, KeyWatch>();
  /**
   * Where watches are created: a namespace of the client with its own watch stream. Replaced
   * when etcd cancels a watch, because etcd3 then never attaches another watch to that stream
   * (microsoft/etcd3#114), and keeps the stream's auth token even once etcd no longer accepts it.
   */
  #scope: Namespace;
  #closed = false;

  /** @param client The client whose connections carry the watch streams. */
  constructor(private readonly client: Etcd3) {
    this.#scope = client.namespace('');
  }

  /** The open watch of `key`, or a new one starting at etcd's current revision. */
  watchFor(key: Buffer): KeyWatch {
    const id = key.toString('latin1');
    const existing = this.#watches.get(id);
    if (existing && !existing.closed) return existing;
    const watch = new KeyWatch(this.#scope, key, (closed, cancelledBy) => {
      if (this.#watches.get(id) === closed) this.#watches.delete(id);
      if (cancelledBy !== undefined) this.#replaceStream(closed.scope);
    });
    this.#watches.set(id, watch);
    return watch;
  }

  /**
   * A watch of every event under `prefix` (with previous KVs), on the current stream, for an
   * election's observer; `cancelled` tells the registry etcd cancelled it, so that later watches
   * go on a new stream. The caller cancels it.
   */
  watchPrefix(prefix: Buffer): { watcher: Watcher; cancelled: () => void } {
    const scope = this.#scope;
    const watcher = scope.watch().prefix(prefix).withPreviousKV().watcher();
    return { watcher, cancelled: () => this.#replaceStream(scope) };
  }

  /** Number of open key watches (each one etcd watcher). */
  get size(): number {
    return this.#watches.size;
  }

  /** Cancels every watch. */
  async close(): Promise<void> {
    this.#closed = true;
    await Promise.allSettled([...this.#watches.values()].map((watch) => watch.close()));
  }

  /**
   * Moves watches to a new stream after etcd cancelled one on `failed`: later watches on that
   * stream would never be attached. Its other watches close too (their waiters read the queue
   * and watch again on the new stream). The old stream stays open until the client closes.
   */
  #replaceStream(failed: Namespace): void {
    if (failed !== this.#scope || this.#closed) return;
    this.#scope = this.client.namespace('');
    for (const watch of [...this.#watches.values()]) {
      if (watch.scope === failed) void watch.close();
    }
  }
}
