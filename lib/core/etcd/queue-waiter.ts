import { ZZLOCK_DEFAULTS } from '../defaults.js';
import { type WaitBudget, Wakeup } from '../wait-budget.js';
import type { ActiveLease } from './lease-session.js';
import type { Confirmed, Enqueued, Queue } from './queue-txns.js';
import type { QueueWatchListener } from './queue-watch.js';
import type { StoreRetry } from './store-retry.js';
import type { WatchRegistry } from './watch-registry.js';

/** One queued key waiting for its turn, and what it needs to wait. @internal */
export interface Turn {
  readonly queue: Queue;
  readonly key: Buffer;
  readonly lease: ActiveLease;
  readonly enqueued: Enqueued;
  readonly budget: WaitBudget;
  readonly retry: StoreRetry;
  readonly watches: WatchRegistry;
  /** Reads the queue: is our key still there, and which key is just ahead of it. */
  readonly confirm: (queue: Queue, key: Buffer, revision: bigint) => Promise<Confirmed>;
}

/**
 * Waits until no key older than ours is left. Resolves true when granted, false when our key or
 * our lease is gone.
 *
 * Fast path: the enqueue txn counted the keys ahead of ours, and no key can join ahead of it
 * later; the lock's shared watch reports each deletion, so when as many keys created before ours
 * have been deleted since, ours should be first. Every grant is then confirmed by one read, which
 * also checks our key is still there (granting on the count alone failed the chaos check).
 *
 * Fallback (count unknown, or the watch may have missed events): read the queue and wait for the
 * immediate predecessor's deletion, then read again. A watch silent for `waiterRecheckMs` (a
 * stream stuck on a dead member) also triggers a read. A read etcd does not answer is tried again
 * within the budget (see {@link StoreRetry}); the key stays ours meanwhile.
 * @internal
 */
export async function waitForTurn(turn: Turn): Promise<boolean> {
  const { queue, key, lease, budget, retry, watches } = turn;
  const ours = turn.enqueued.revision;
  let readAt = ours;
  let predecessor = turn.enqueued.predecessor;
  /** Keys ahead of ours not yet seen deleted, while counting; `undefined`: by predecessor. */
  let ahead = turn.enqueued.ahead;
  let ownKeyDeleted = false;
  let mustRead = predecessor === undefined || ahead === undefined;
  const wakeup = new Wakeup();
  const listener: QueueWatchListener = {
    deleted: (createRevision, deleteRevision) => {
      if (createRevision === ours) {
        ownKeyDeleted = true;
        wakeup.fire();
      } else if (ahead !== undefined) {
        if (createRevision < ours && deleteRevision > readAt && (ahead -= 1) === 0) wakeup.fire();
      } else if (createRevision === predecessor) {
        wakeup.fire();
      }
    },
    resync: () => {
      mustRead = true;
      wakeup.fire();
    },
  };
  let watch = watches.watchFor(queue, readAt);
  let unsubscribe = watch.subscribe(listener);
  // Deletions the watch delivered before we subscribed (our txn's reply can trail them).
  if (ahead !== undefined && watch.covers(readAt)) ahead -= watch.deletedAfter(readAt, ours);
  else mustRead = true;
  const onLeaseLost = () => wakeup.fire();
  lease.lost.addEventListener('abort', onLeaseLost, { once: true });
  try {
    for (;;) {
      if (lease.isLost() || ownKeyDeleted || watch.wasDeleted(ours)) return false;
      if (watch.closed) {
        unsubscribe();
        watch = watches.watchFor(queue, readAt);
        unsubscribe = watch.subscribe(listener);
        mustRead = true;
      }
      // Every key counted ahead is gone, or the predecessor is: confirm with a read.
      const predecessorGone =
        ahead === 0 ||
        (ahead === undefined &&
          predecessor !== undefined &&
          predecessor !== null &&
          watch.wasDeleted(predecessor));
      if (!mustRead && !predecessorGone && watch.covers(readAt)) {
        const woken = await budget.race(wakeup.wait(ZZLOCK_DEFAULTS.waiterRecheckMs));
        if (!woken && watch.silentForMs >= ZZLOCK_DEFAULTS.waiterRecheckMs) mustRead = true;
        continue;
      }
      mustRead = false;
      let read: Confirmed;
      try {
        read = await retry.explain(() => budget.race(turn.confirm(queue, key, ours)));
        retry.succeeded();
      } catch (error) {
        await retry.after(error);
        mustRead = true;
        continue;
      }
      if (read === 'gone') return false;
      readAt = read.revision;
      predecessor = read.predecessor;
      ahead = undefined;
      if (predecessor === null) return true;
    }
  } finally {
    unsubscribe();
    lease.lost.removeEventListener('abort', onLeaseLost);
  }
}
