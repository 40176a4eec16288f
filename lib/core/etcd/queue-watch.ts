import type { IKeyValue, Namespace, Watcher } from 'etcd3';

/** What a waiter hears from its lock's shared watch. @internal */
export interface QueueWatchListener {
  /** A queue key with this create revision was deleted. */
  deleted(createRevision: bigint): void;
  /** The stream reconnected or failed: events may have been missed, re-read the queue. */
  resync(): void;
}

/** How many recent deletions a watch remembers for waiters whose reply raced the event. */
const REMEMBERED_DELETIONS = 4096;

/**
 * One long-lived watch on a lock's queue prefix, shared by every waiter of that lock in this
 * process. Sharing avoids a create/cancel pair per handoff and the "unsynced watcher" trap: a
 * watch registered while writes land is served by etcd's 100 ms catch-up loop. Waiters compare
 * deletions against their predecessor's create revision (from the event's previous KV).
 * @internal
 */
export class QueueWatch {
  readonly #listeners = new Set<QueueWatchListener>();
  /** create revision → delete revision of recent deletions, oldest first. */
  readonly #deleted = new Map<bigint, bigint>();
  /** Highest delete revision forgotten from {@link #deleted}. */
  #forgottenUpTo = 0n;
  readonly #watcher: Watcher;
  #interrupted = false;
  #lingerTimer?: NodeJS.Timeout;
  #closed = false;

  /**
   * @param scope The etcd3 client or namespace whose watch stream carries this watch.
   * @param prefix The lock's queue prefix.
   * @param startRevision The first revision whose events this watch must deliver.
   * @param lingerMs How long to stay open with no listener before closing.
   * @param onClosed Called once the watch has closed, with etcd's error when etcd cancelled it.
   */
  constructor(
    readonly scope: Namespace,
    prefix: Buffer,
    readonly startRevision: bigint,
    private readonly lingerMs: number,
    private readonly onClosed: (watch: QueueWatch, cancelledBy?: Error) => void,
  ) {
    this.#watcher = scope
      .watch()
      .prefix(prefix)
      .withPreviousKV()
      .startRevision(startRevision.toString())
      .watcher();
    // Listeners go on before the stream connects, so no event can slip past.
    this.#watcher.on('delete', (_kv: IKeyValue, previous?: IKeyValue) =>
      this.#onDelete(_kv, previous),
    );
    this.#watcher.on('disconnected', () => (this.#interrupted = true));
    this.#watcher.on('connected', () => {
      // etcd3 resumes a reconnected watch, but events may have been missed: everyone re-reads.
      if (this.#interrupted) this.#resyncAll();
      this.#interrupted = false;
    });
    // etcd cancelled the watch (e.g. its stream's auth token expired or was lost in a restart).
    this.#watcher.on('error', (error: Error) => void this.close(undefined, error));
  }

  /**
   * True when a queue read at revision `revision` can rely on this watch for every later event:
   * the watch started no later than `revision + 1` and has forgotten nothing after `revision`.
   */
  covers(revision: bigint): boolean {
    return this.startRevision <= revision + 1n && this.#forgottenUpTo <= revision;
  }

  /** True when the key created at `createRevision` was seen deleted. */
  wasDeleted(createRevision: bigint): boolean {
    return this.#deleted.has(createRevision);
  }

  /** Starts delivering events to `listener`; returns the function that stops it. */
  subscribe(listener: QueueWatchListener): () => void {
    clearTimeout(this.#lingerTimer);
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
      if (this.#listeners.size === 0 && !this.#closed) {
        this.#lingerTimer = setTimeout(() => void this.close(), this.lingerMs);
        this.#lingerTimer.unref();
      }
    };
  }

  /** Cancels the watch. Idempotent; bounded by `timeoutMs`. */
  async close(timeoutMs = 1000, cancelledBy?: Error): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#lingerTimer);
    this.onClosed(this, cancelledBy);
    for (const listener of this.#listeners) listener.resync();
    this.#listeners.clear();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      this.#watcher.cancel().catch(() => undefined),
      new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs))),
    ]);
    clearTimeout(timer);
  }

  /** True once closed; a closed watch is never reused. */
  get closed(): boolean {
    return this.#closed;
  }

  #onDelete(kv: IKeyValue, previous: IKeyValue | undefined): void {
    if (previous === undefined) {
      // Without the previous KV we cannot tell whose key went: let everyone re-read.
      this.#resyncAll();
      return;
    }
    const createRevision = BigInt(previous.create_revision);
    this.#deleted.set(createRevision, BigInt(kv.mod_revision));
    if (this.#deleted.size > REMEMBERED_DELETIONS) {
      const [oldestCreate, oldestDelete] = this.#deleted.entries().next().value as [bigint, bigint];
      this.#deleted.delete(oldestCreate);
      if (oldestDelete > this.#forgottenUpTo) this.#forgottenUpTo = oldestDelete;
    }
    for (const listener of [...this.#listeners]) listener.deleted(createRevision);
  }

  #resyncAll(): void {
    for (const listener of [...this.#listeners]) listener.resync();
  }
}
