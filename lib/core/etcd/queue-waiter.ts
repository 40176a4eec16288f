import { ZZLOCK_DEFAULTS } from '../defaults.js';
import { type WaitBudget, Wakeup } from '../wait-budget.js';
import type { GrantRule } from './grant-rule.js';
import type { KeyWatch, KeyWatchListener } from './key-watch.js';
import type { ActiveLease } from './lease-session.js';
import {
  type Blocker,
  type Confirmed,
  type Enqueued,
  STILL_BLOCKED_MAX_COMPARES,
} from './queue-txns.js';
import type { StoreRetry } from './store-retry.js';
import type { WatchRegistry } from './watch-registry.js';

/** One queued key waiting for its turn, and what it needs to wait. @internal */
export interface Turn {
  readonly rule: GrantRule;
  readonly lease: ActiveLease;
  readonly enqueued: Enqueued;
  readonly budget: WaitBudget;
  readonly retry: StoreRetry;
  readonly watches: WatchRegistry;
  /** Reads the queue: is our key still there, and which keys block it. */
  readonly confirm: () => Promise<Confirmed>;
  /** Whether our key and these blockers all still exist (a recheck that sorts nothing). */
  readonly stillBlocked: (blockers: readonly Blocker[]) => Promise<boolean>;
  /** Checks the queue's head agrees with our permits; throws `LockConfigError` if not. */
  readonly agree: (head: Blocker | undefined) => void;
}

/** A blocker's watch, as this waiter uses it. */
interface Watched {
  readonly watch: KeyWatch;
  readonly stop: () => void;
}

/**
 * Waits until no key blocks ours under its grant rule. Resolves true when granted, false when
 * our key or our lease is gone.
 *
 * Only the keys that block ours are watched, one watch per key (shared by this process's waiters
 * it blocks): an exclusive waiter watches the key just ahead of it, a shared one the newest
 * exclusive key ahead, a semaphore's the `permits` keys just ahead. So a handoff is told to the
 * waiter it concerns, not to every process with a waiter. When a blocker goes, one read decides
 * (granted, or the new blockers to watch), and confirms our own key is still there.
 *
 * A watch starts at etcd's current revision (a past one would be served by etcd's 100 ms
 * catch-up loop), so it covers deletions from its registration on; a waiter whose last read is
 * older than that reads once more, and only then trusts the watch. A watch lingers a moment after
 * its last waiter left (see {@link KeyWatch}), so in a queue that cycles, a process that queues
 * again behind the same key finds a watch that covers its read already. A reconnected stream
 * means a read too. A waiter that hears nothing for `waiterRecheckMs` reads again, and waits
 * twice as long for the next such read, up to `waiterRecheckMaxMs`: the safety net for a stream
 * stuck on a frozen member. (Judging that by the pulse of the whole stream instead, so that a beating stream
 * costs no reads, made one chaos round stall for 29 s; not understood yet, so not done.) A read
 * etcd does not answer is tried again within the budget (see {@link StoreRetry}); the key stays
 * ours.
 * @internal
 */
export async function waitForTurn(turn: Turn): Promise<boolean> {
  const { rule, lease, budget, retry, watches } = turn;
  let blockers = turn.enqueued.blockers;
  let head = turn.enqueued.head;
  /** The revision our blockers were read at. */
  let readAt = turn.enqueued.revision;
  let mustRead = blockers === undefined;
  /** Create revisions of blockers seen deleted since the last read. */
  const gone = new Set<bigint>();
  let recheckMs: number = ZZLOCK_DEFAULTS.waiterRecheckMs;
  const wakeup = new Wakeup();
  const listener: KeyWatchListener = {
    deleted: (revision) => {
      gone.add(revision);
      wakeup.fire();
    },
    connected: () => wakeup.fire(),
    resync: () => {
      mustRead = true;
      wakeup.fire();
    },
  };
  const watched = new Map<bigint, Watched>();
  const onLeaseLost = () => wakeup.fire();
  lease.lost.addEventListener('abort', onLeaseLost, { once: true });
  try {
    for (;;) {
      if (lease.isLost()) return false;
      if (mustRead || blockers === undefined) {
        mustRead = false;
        let read: Confirmed;
        try {
          read = await retry.explain(() => budget.race(turn.confirm()));
          retry.succeeded();
        } catch (error) {
          await retry.after(error);
          mustRead = true;
          continue;
        }
        if (read === 'gone') return false;
        blockers = read.blockers;
        head = read.head;
        readAt = read.revision;
        gone.clear();
        recheckMs = ZZLOCK_DEFAULTS.waiterRecheckMs;
      }
      turn.agree(head);
      if (rule.isGranted(blockers.length)) return true;
      watchExactly(blockers, watched, watches, listener);
      // A blocker went (or a key of a blocker's name, in another incarnation), maybe before we
      // subscribed to a watch another waiter had opened: read again to decide. The read also
      // confirms our own key is still there, which no clock can tell: etcd 3.4.23 revokes live
      // leases when a leader that was stuck past their TTL comes back (etcd-io/etcd#15247), and a
      // soak saw a waiter that skipped this read granted a key etcd had just deleted that way.
      const seenGone = blockers.some((b) => watched.get(b.revision)?.watch.wasDeleted(b.revision));
      if (gone.size > 0 || seenGone) {
        mustRead = true;
        continue;
      }
      // A watch registered after our read does not cover the deletions in between.
      const uncovered = [...watched.values()].some(
        ({ watch }) => watch.from !== undefined && watch.from > readAt + 1n,
      );
      if (uncovered) {
        mustRead = true;
        continue;
      }
      const woken = await budget.race(wakeup.wait(recheckMs));
      if (!woken) {
        recheckMs = Math.min(recheckMs * 2, ZZLOCK_DEFAULTS.waiterRecheckMaxMs);
        // Nothing heard: a quiet queue, or a stream stuck on a frozen member. A cheap check first;
        // only a change (or a failed check) costs the full read, which sorts the queue.
        // Never clears a read that a resync asked for while the check was in flight.
        if (!(await stillBlockedNow(turn, blockers))) mustRead = true;
      }
    }
  } finally {
    for (const { stop } of watched.values()) stop();
    lease.lost.removeEventListener('abort', onLeaseLost);
  }
}

/** Whether nothing changed ahead of us; false when it did, or when the check could not tell. */
async function stillBlockedNow(turn: Turn, blockers: readonly Blocker[]): Promise<boolean> {
  if (blockers.length > STILL_BLOCKED_MAX_COMPARES) return false;
  try {
    return await turn.budget.race(turn.stillBlocked(blockers));
  } catch (error) {
    if (turn.budget.expired() !== undefined) throw error; // the wait is over: say so
    return false; // the full read rides out the failure
  }
}

/** Keeps one subscription per blocker: new blockers are watched, the others let go. */
function watchExactly(
  blockers: readonly Blocker[],
  watched: Map<bigint, Watched>,
  watches: WatchRegistry,
  listener: KeyWatchListener,
): void {
  const wanted = new Set(blockers.map((blocker) => blocker.revision));
  for (const [revision, { watch, stop }] of watched) {
    if (!wanted.has(revision) || watch.closed) {
      stop();
      watched.delete(revision);
    }
  }
  for (const blocker of blockers) {
    if (watched.has(blocker.revision)) continue;
    const watch = watches.watchFor(blocker.key);
    watched.set(blocker.revision, { watch, stop: watch.subscribe(listener) });
  }
}
