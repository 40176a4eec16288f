// The semaphore axis of the benchmark: zzlock's `acquire(name, { permits: N })` (one of N permits;
// permits 1 is a mutex) under a fixed number of waiters cycling, for several N: grants/s.
import { runContendedRound, type Contended } from './contended-round.js';

/** Runs every point of the axis (zzlock only: etcd3 has no semaphore). */
export async function runSemaphoreAxis(
  endpoints: readonly string[],
  permitCounts: readonly number[],
  waiters: number,
  processes: number,
  seconds: number,
  warmupMs: number,
): Promise<readonly Contended[]> {
  const points: Contended[] = [];
  for (const permits of permitCounts) {
    const point = await runContendedRound({
      endpoints,
      contender: 'zzlock',
      namespace: `bench-semaphore-${permits}/`,
      processes,
      waiters,
      seconds,
      warmupMs,
      permits,
    });
    console.log(
      `semaphore ${String(permits).padStart(3)} permits, ${waiters} waiters: ` +
        `${point.handoffsPerSecond.toFixed(0)} grants/s, ${point.messagesPerHandoff.toFixed(2)} msgs/grant`,
    );
    points.push(point);
  }
  return points;
}
