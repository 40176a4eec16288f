import type { IKeyValue, IWatchResponse, Namespace, Watcher } from 'etcd3';
import { ZZLOCK_DEFAULTS } from '../defaults.js';

/** Create revisions of deleted incarnations a watch remembers: a subscriber asks of its newest. */
const REMEMBERED_DELETIONS = 32;
/**
 * Deletions a lingering watch hears unasked before it closes. Not one: a holder that releases
 * while the process behind it is still queueing again deletes its key just before that process
 * subscribes, and the watch that heard it spares the newcomer a watch of its own and a read.
 */
const UNHEARD_DELETIONS = 2;

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
 *
 * When its last waiter leaves, it lingers for `watchLingerMs` instead of closing: a queue that
 * cycles (each holder queues again once it released) puts the same process behind the same key
 * again and again (key names are `<lease>.<slot>`, reused), and a watch that is already there
 * costs neither a create, a cancel, nor a read for the deletions before its registration. Only
 * a watch that nothing can make wrong lingers: one whose stream never broke. The second deletion
 * heard while no waiter listens closes it (a process is not told of many handoffs it does not
 * wait on), as does the end of its linger.
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
  /** Its stream broke once: it serves its waiters to the end, but never lingers. */
  #broken = false;
  #closed = false;
  #lingering?: NodeJS.Timeout;
  /** Deletions heard while no waiter listened, since the last subscribe. */
  #unheard = 0;

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
      // Without the previous KV we cannot tell which incarnation went: read again (and a later
      // waiter could not be told at all: then the watch goes).
      if (previous === undefined || previous === null) {
        this.#tell((l) => l.resync());
        if (this.#listeners.size === 0) void this.close();
      } else {
        const revision = BigInt(previous.create_revision);
        this.#remember(revision);
        this.#tell((l) => l.deleted(revision));
      }
      if (this.#listeners.size === 0 && ++this.#unheard >= UNHEARD_DELETIONS) void this.close();
    });
    this.#watcher.on('disconnected', () => {
      this.#interrupted = true;
      this.#broken = true;
      if (this.#listeners.size === 0) void this.close();
    });
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

  /**
   * Starts telling `listener`; returns the function that stops it. When the last one stops, the
   * watch lingers (see the class) or, if its stream broke or it never registered, closes.
   */
  subscribe(listener: KeyWatchListener): () => void {
    clearTimeout(this.#lingering);
    this.#lingering = undefined;
    this.#unheard = 0;
    this.#listeners.add(listener);
    return () => {
      if (!this.#listeners.delete(listener) || this.#listeners.size > 0) return;
      if (this.#broken || this.#from === undefined) void this.close();
      else {
        this.#lingering = setTimeout(() => void this.close(), ZZLOCK_DEFAULTS.watchLingerMs);
        this.#lingering.unref();
      }
    };
  }

  /** Cancels the watch. Idempotent; bounded by `timeoutMs`. */
  async close(timeoutMs = 1000, cancelledBy?: Error): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#lingering);
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

  /** Records a deleted incarnation; forgets the oldest beyond a few (one name, many lives). */
  #remember(revision: bigint): void {
    this.#deleted.add(revision);
    if (this.#deleted.size > REMEMBERED_DELETIONS) {
      this.#deleted.delete(this.#deleted.values().next().value as bigint);
    }
  }

  #tell(call: (listener: KeyWatchListener) => void): void {
    for (const listener of [...this.#listeners]) call(listener);
  }
}
