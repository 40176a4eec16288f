/**
 * The chaos checker's liveness rule: no lock name goes long without a grant while someone waits
 * for it. The timing promises per fault (next grant after a holder's death, after a leader kill)
 * judge the fault's own lock; this rule judges every name at every moment, so a stall that no
 * fault explains (every lock stuck after a follower kill, one name absorbing every acquirer) fails
 * the run instead of showing only as acquires that timed out.
 *
 * The rule, precisely: for every acquire (granted or failed) of name N, called at `requestedAt`
 * and ended at its grant or failure, the longest stretch of that wait in which no acquirer was
 * granted N, less the time the acquirer's own process was paused (a stopped process cannot be
 * granted), must not exceed the limit. Acquirers stuck in one stretch are reported together.
 */
import type { AcquireErrorRecord, ChaosHistory, PauseRecord } from './chaos-history.js';

/** One stretch in which a name was not granted while acquirers waited for it. */
export interface Starvation {
  /** The lock name. */
  readonly name: string;
  /** The name's last grant before the stretch (or, if none, the first waiter's call). */
  readonly from: number;
  /** The longest any of its waiters waited through it, less its own pauses, in ms. */
  readonly gapMs: number;
  /** The waiters (worker ids) that waited through it. */
  readonly waiters: readonly string[];
  /** How many of those waits ended in a failed acquire, by error code. */
  readonly failures: Readonly<Partial<Record<string, number>>>;
}

/** One acquire as the liveness rule sees it. */
interface Wait {
  readonly worker: string;
  readonly name: string;
  readonly requestedAt: number;
  readonly endedAt: number;
  readonly failedWith?: string;
}

/**
 * Every stretch longer than `limitMs` in which a name was not granted although an acquirer (not
 * paused) waited for it, longest first.
 * @example
 * findStarvations(history, 12_000) // [] when every waiter saw its name granted in time
 */
export function findStarvations(history: ChaosHistory, limitMs: number): Starvation[] {
  const waits: Wait[] = [
    ...history.grants.map((grant) => ({
      worker: grant.worker,
      name: grant.name,
      requestedAt: grant.requestedAt,
      endedAt: grant.grantedAt,
    })),
    ...history.acquireErrors.map((error: AcquireErrorRecord) => ({
      worker: error.worker,
      name: error.name,
      requestedAt: error.requestedAt,
      endedAt: error.at,
      failedWith: error.code,
    })),
  ];
  const grantTimes = new Map<string, number[]>();
  for (const grant of history.grants) {
    const times = grantTimes.get(grant.name) ?? [];
    times.push(grant.grantedAt);
    grantTimes.set(grant.name, times);
  }
  for (const times of grantTimes.values()) times.sort((a, b) => a - b);

  const stretches = new Map<string, { name: string; from: number; gapMs: number; waits: Wait[] }>();
  for (const wait of waits) {
    const times = grantTimes.get(wait.name) ?? [];
    const { from, to } = longestStretch(times, wait.requestedAt, wait.endedAt);
    const gapMs = to - from - pausedMs(history.pauses, wait.worker, from, to);
    if (gapMs <= limitMs) continue;
    // The stretch starts at the name's last grant before it, which every waiter in it shares.
    const start = lastAtOrBefore(times, from) ?? from;
    const key = `${wait.name}@${start}`;
    const stretch = stretches.get(key) ?? { name: wait.name, from: start, gapMs: 0, waits: [] };
    stretch.gapMs = Math.max(stretch.gapMs, gapMs);
    stretch.waits.push(wait);
    stretches.set(key, stretch);
  }
  return [...stretches.values()]
    .map(({ name, from, gapMs, waits: stuck }) => {
      const failures: Partial<Record<string, number>> = {};
      for (const { failedWith } of stuck) {
        if (failedWith !== undefined) failures[failedWith] = (failures[failedWith] ?? 0) + 1;
      }
      return { name, from, gapMs, waiters: [...new Set(stuck.map((w) => w.worker))], failures };
    })
    .sort((a, b) => b.gapMs - a.gapMs);
}

/** The longest part of [from, to] with no time of `sorted` strictly inside it. */
function longestStretch(
  sorted: readonly number[],
  from: number,
  to: number,
): { from: number; to: number } {
  let best = { from, to: from };
  let previous = from;
  for (const at of sorted) {
    if (at <= from) continue;
    if (at >= to) break;
    if (at - previous > best.to - best.from) best = { from: previous, to: at };
    previous = at;
  }
  if (to - previous > best.to - best.from) best = { from: previous, to };
  return best;
}

function lastAtOrBefore(sorted: readonly number[], at: number): number | undefined {
  let last: number | undefined;
  for (const time of sorted) {
    if (time > at) break;
    last = time;
  }
  return last;
}

/** How much of [from, to] the worker's process spent stopped by SIGSTOP. */
function pausedMs(
  pauses: readonly PauseRecord[],
  worker: string,
  from: number,
  to: number,
): number {
  let paused = 0;
  for (const pause of pauses) {
    if (pause.worker !== worker) continue;
    paused += Math.max(0, Math.min(to, pause.to) - Math.max(from, pause.from));
  }
  return paused;
}
