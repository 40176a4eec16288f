import type { IKeyValue, IWatchResponse, Namespace, Watcher } from 'etcd3';

/** What a waiter hears from the watch on one key that blocks it. @internal */
export interface KeyWatchListener {
  /** The key, in its incarnation created at `createRevision`, was deleted. */
  deleted(createRevision: bigint): void;
  /** The watch is registered in etcd: it reports every deletion after {@link KeyWatch.from}. */
  connected(): void;
  /** The stream reconnected, failed or closed: deletions may have been missed, read again. */
  resync(): void;
}

/**
 * A watch on one queue key (deletes only, with the previous KV), shared by this process's waiters
 * that the key blocks. Only the waiters a key blocks are told of its deletion: a handoff costs one
 * event, however many processes wait.
 *
 * It starts at etcd's current revision, never at a past one: a watch asked to start at a revision
 * etcd has already passed is "unsynced" and served by a 100 ms catch-up loop. So it does not
 * cover what happened between a waiter's last read and its registration; {@link from} says where
 * its coverage starts, and a waiter whose read is older reads once more (see `queue-waiter.ts`).
 * @internal
 */
export class KeyWatch {
  readonly #listeners = new Set<KeyWatchListener>();
  readonly #watcher: Watcher;
  /** First revision whose deletions are reported: etcd's revision when it registered, plus one. */
  #from?: bigint;
  /** Create revisions of the incarnations seen deleted (a few: one key name, reused by slots). */
  readonly #deleted = new Set<bigint>();
  #interrupted = false;
  #closed = false;

  /**
   * @param scope The namespace whose watch stream carries this watch.
   * @param key The queue key.
   * @param onClosed Called once when it closed; with etcd's error when etcd cancelled it.
   */
  constructor(
    readonly scope: Namespace,
    readonly key: Buffer,
    private readonly onClosed: (watch: KeyWatch, cancelledBy?: Error) => void,
  ) {
    this.#watcher = scope.watch().key(key).only('delete').withPreviousKV().watcher();
    // Listeners go on before the stream connects, so no event can slip past.
    this.#watcher.on('delete', (_kv: IKeyValue, previous?: IKeyValue | null) => {
      // Without the previous KV we cannot tell which incarnation went: read again.
      if (previous === undefined || previous === null) this.#tell((l) => l.resync());
      else {
        const revision = BigInt(previous.create_revision);
        this.#deleted.add(revision);
        this.#tell((l) => l.deleted(revision));
      }
    });
    this.#watcher.on('disconnected', () => (this.#interrupted = true));
    this.#watcher.on('connected', (response: IWatchResponse) => {
      if (this.#from === undefined) {
        // etcd answers a create at the revision it registered the watch at.
        this.#from = BigInt(response.header.revision) + 1n;
        this.#tell((l) => l.connected());
      } else if (this.#interrupted) {
        // etcd3 resumes a reconnected watch, but we do not trust the stream across a gap.
        this.#tell((l) => l.resync());
      }
      this.#interrupted = false;
    });
    // etcd cancelled the watch (e.g. its stream's auth token expired or was lost in a restart).
    this.#watcher.on('error', (error: Error) => void this.close(undefined, error));
  }

  /** The first revision whose deletions it reports, once registered in etcd. */
  get from(): bigint | undefined {
    return this.#from;
  }

  /** True when the incarnation created at `revision` was seen deleted (also before a subscribe). */
  wasDeleted(revision: bigint): boolean {
    return this.#deleted.has(revision);
  }

  /** True once closed; a closed watch is never reused. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Starts telling `listener`; returns the function that stops it (the last one closes the watch). */
  subscribe(listener: KeyWatchListener): () => void {
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
      if (this.#listeners.size === 0) void this.close();
    };
  }

  /** Cancels the watch. Idempotent; bounded by `timeoutMs`. */
  async close(timeoutMs = 1000, cancelledBy?: Error): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.onClosed(this, cancelledBy);
    this.#tell((l) => l.resync());
    this.#listeners.clear();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      this.#watcher.cancel().catch(() => undefined),
      new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs))),
    ]);
    clearTimeout(timer);
  }

  #tell(call: (listener: KeyWatchListener) => void): void {
    for (const listener of [...this.#listeners]) call(listener);
  }
}
