import type { IKeyValue, Namespace, Watcher } from 'etcd3';

/** What a waiter hears from its lock's shared watch. @internal */
export interface QueueWatchListener {
  /** The queue key created at `createRevision` was deleted at `deleteRevision`. */
  deleted(createRevision: bigint, deleteRevision: bigint): void;
  /** The stream reconnected or failed: events may have been missed, re-read the queue. */
  resync(): void;
}

/** How many recent deletions a watch remembers (at least) for waiters whose reply raced them. */
const REMEMBERED_DELETIONS = 4096;

/** One remembered deletion. */
interface Deletion {
  readonly created: bigint;
  readonly deleted: bigint;
}

/**
 * One long-lived watch on a lock's queue prefix, shared by every waiter of that lock in this
 * process. Sharing avoids a create/cancel pair per handoff and the "unsynced watcher" trap: a
 * watch registered while writes land is served by etcd's 100 ms catch-up loop. Waiters compare
 * deletions against their predecessor's create revision (from the event's previous KV).
 * @internal
 */
export class QueueWatch {
  readonly #listeners = new Set<QueueWatchListener>();
  /** Recent deletions, oldest first (so in delete-revision order), and the same by create revision. */
  #log: Deletion[] = [];
  readonly #deleted = new Map<bigint, bigint>();
  /** When the stream last delivered an event or (re)connected (performance.now()). */
  #heardAt = performance.now();
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
      .only('delete') // waiters need deletions only: half the events
      .withPreviousKV()
      .startRevision(startRevision.toString())
      .watcher();
    // Listeners go on before the stream connects, so no event can slip past.
    this.#watcher.on('delete', (_kv: IKeyValue, previous?: IKeyValue | null) =>
      this.#onDelete(_kv, previous),
    );
    this.#watcher.on('disconnected', () => (this.#interrupted = true));
    this.#watcher.on('connected', () => {
      this.#heardAt = performance.now();
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

  /**
   * How many keys created before `createdBefore` were seen deleted after `revision` (needs
   * {@link covers}`(revision)`): a waiter that read the queue at `revision` subtracts these
   * from the keys it counted ahead of it.
   */
  deletedAfter(revision: bigint, createdBefore: bigint): number {
    let count = 0;
    for (let i = this.#log.length - 1; i >= 0 && this.#log[i].deleted > revision; i -= 1) {
      if (this.#log[i].created < createdBefore) count += 1;
    }
    return count;
  }

  /** Milliseconds since the stream last delivered an event or connected. */
  get silentForMs(): number {
    return performance.now() - this.#heardAt;
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

  #onDelete(kv: IKeyValue, previous: IKeyValue | null | undefined): void {
    if (previous === undefined || previous === null) {
      // Without the previous KV we cannot tell whose key went: let everyone re-read.
      this.#resyncAll();
      return;
    }
    this.#heardAt = performance.now();
    const created = BigInt(previous.create_revision);
    const deleted = BigInt(kv.mod_revision);
    this.#deleted.set(created, deleted);
    this.#log.push({ created, deleted });
    if (this.#log.length > 2 * REMEMBERED_DELETIONS) {
      const forgotten = this.#log.slice(0, REMEMBERED_DELETIONS);
      this.#log = this.#log.slice(REMEMBERED_DELETIONS);
      for (const deletion of forgotten) this.#deleted.delete(deletion.created);
      this.#forgottenUpTo = forgotten[forgotten.length - 1].deleted;
    }
    for (const listener of [...this.#listeners]) listener.deleted(created, deleted);
  }

  #resyncAll(): void {
    for (const listener of [...this.#listeners]) listener.resync();
  }
}
