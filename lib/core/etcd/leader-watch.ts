import { setTimeout as delay } from 'node:timers/promises';
import type { IKeyValue, IWatchResponse, Watcher } from 'etcd3';
import { ZZLOCK_DEFAULTS } from '../defaults.js';
import { StoreRejectedError } from '../errors/store-rejected.error.js';
import type { Leader } from '../lock-backend.js';
import { Wakeup } from '../wait-budget.js';
import type { Queue } from './queue-txns.js';
import { storeRejection } from './store-call.js';

/** What {@link watchLeader} needs from the backend. @internal */
export interface LeaderWatchDeps {
  /** A prefix watch (every event) on the current watch stream, and how to report it cancelled. */
  watchPrefix(prefix: Buffer): { watcher: Watcher; cancelled: () => void };
  /** Every key of the queue and the revision they were read at (a failure is reported by it). */
  readQueue(queue: Queue): Promise<{ kvs: readonly IKeyValue[]; revision: bigint }>;
}

/** One candidate key of the election, as this observer last knows it. */
interface Candidate {
  readonly term: bigint;
  readonly value: string;
}

/** What the watch told, in order. */
type Item =
  | { readonly kind: 'connected' }
  | { readonly kind: 'data'; readonly response: IWatchResponse }
  | { readonly kind: 'cancelled'; readonly error: Error };

/** Backoff between failed reads (or a watch etcd cancelled), in ms. */
const RETRY_MS = 250;

/**
 * The leader of an election (or `null`), now and after each change, for as long as `signal` has
 * not fired: the observer side of etcd's `Election`, over the election's one queue.
 *
 * A prefix watch (observers need every change, so here one watch serves all keys of the queue)
 * starts at etcd's current revision, synced; once etcd registered it, every key of the queue is
 * read, and the events after that read's revision are applied to what it found: a put adds a
 * candidate or changes its value, a delete removes it. The leader is the oldest candidate (the
 * smallest create revision), so no change is missed, not even a leader that came and went
 * between two reads, and none is told twice (a change is another term or another value). After
 * any reconnect of the stream the queue is read again before anything more is told, so a stale
 * leader is never reported; a watch quiet for a while reads again too (the safety net for a
 * stream stuck on a frozen member, as the waiters have), and a watch etcd cancelled is replaced.
 * Failures etcd answered (permission denied…) end the iteration with `StoreRejectedError`; any
 * other failure is retried until `signal` fires.
 * @internal
 */
export async function* watchLeader(
  queue: Queue,
  deps: LeaderWatchDeps,
  signal: AbortSignal,
): AsyncGenerator<Leader | null> {
  /** The last leader told; `undefined` before the first. */
  let told: Leader | null | undefined;
  const wakeup = new Wakeup();
  const onAbort = () => wakeup.fire();
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    while (!signal.aborted) {
      const { watcher, cancelled } = deps.watchPrefix(queue.prefix);
      const inbox: Item[] = [];
      const push = (item: Item) => {
        inbox.push(item);
        wakeup.fire();
      };
      // Listeners go on before the stream connects, so no event can slip past.
      watcher.on('connected', () => push({ kind: 'connected' }));
      watcher.on('data', (response: IWatchResponse) => push({ kind: 'data', response }));
      watcher.on('error', (error: Error) => push({ kind: 'cancelled', error }));
      /** The candidates as of `readAt`, once read on this watch's stream. */
      let candidates: Map<string, Candidate> | undefined;
      let readAt = 0n;
      let connected = false;
      let mustRead = false;
      let recheckMs: number = ZZLOCK_DEFAULTS.waiterRecheckMs;
      try {
        for (;;) {
          if (signal.aborted) return;
          let item: Item | undefined;
          while ((item = inbox.shift()) !== undefined) {
            if (item.kind === 'cancelled') break;
            if (item.kind === 'connected') {
              connected = true;
              mustRead = true;
              continue;
            }
            if (candidates === undefined || mustRead) continue; // the coming read covers it
            for (const event of item.response.events) {
              if (BigInt(event.kv.mod_revision) <= readAt) continue; // the read saw it
              apply(candidates, event.type, event.kv);
              const leader = leaderOf(candidates);
              if (changed(told, leader)) {
                told = leader;
                yield leader;
                if (signal.aborted) return;
              }
            }
          }
          if (item?.kind === 'cancelled') {
            const reason = storeRejection(item.error);
            if (reason !== undefined) {
              throw new StoreRejectedError('observe leader', queue.name, reason, item.error);
            }
            cancelled();
            break; // a new watch, on a new stream
          }
          if (connected && mustRead) {
            let read: { kvs: readonly IKeyValue[]; revision: bigint };
            try {
              read = await deps.readQueue(queue);
            } catch (error) {
              if (error instanceof StoreRejectedError) throw error; // etcd answered: no retry
              await delay(RETRY_MS * (0.5 + Math.random() / 2), undefined, { signal }).catch(
                () => undefined,
              );
              continue; // still mustRead
            }
            mustRead = false;
            candidates = new Map(
              read.kvs.map((kv) => [
                kv.key.toString('latin1'),
                { term: BigInt(kv.create_revision), value: kv.value.toString() },
              ]),
            );
            readAt = read.revision;
            recheckMs = ZZLOCK_DEFAULTS.waiterRecheckMs;
            const leader = leaderOf(candidates);
            if (changed(told, leader)) {
              told = leader;
              yield leader;
            }
            continue; // what came in during the read
          }
          const woken = await wakeup.wait(recheckMs);
          if (!woken && connected) {
            mustRead = true;
            recheckMs = Math.min(recheckMs * 2, ZZLOCK_DEFAULTS.waiterRecheckMaxMs);
          }
        }
      } finally {
        void watcher.cancel().catch(() => undefined);
      }
      await delay(RETRY_MS, undefined, { signal }).catch(() => undefined);
    }
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}

/** Applies one watch event to the candidates. */
function apply(candidates: Map<string, Candidate>, type: string, kv: IKeyValue): void {
  const id = kv.key.toString('latin1');
  if (type === 'Delete') candidates.delete(id);
  else candidates.set(id, { term: BigInt(kv.create_revision), value: kv.value.toString() });
}

/** The oldest candidate (smallest create revision) is the leader; `null` when there is none. */
function leaderOf(candidates: ReadonlyMap<string, Candidate>): Leader | null {
  let leader: Candidate | undefined;
  for (const candidate of candidates.values()) {
    if (leader === undefined || candidate.term < leader.term) leader = candidate;
  }
  return leader === undefined ? null : { value: leader.value, term: leader.term };
}

/** Whether `next` is another leader than `told`: another term or another value. */
function changed(told: Leader | null | undefined, next: Leader | null): boolean {
  if (told === undefined) return true;
  if (told === null || next === null) return told !== next;
  return told.term !== next.term || told.value !== next.value;
}
