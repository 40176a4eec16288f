// The semaphore axis of the benchmark: zzlock's `acquire(name, { permits: N })` (one of N permits;
// permits 1 is a mutex) under a fixed number of waiters cycling, for several N: grants/s.
// Written against the planned API (DESIGN § 4). Where acquire() does not take `permits` yet (it
// rejects the key with LockConfigError), the section is skipped and says so.
import { LockClient, LockConfigError, type AcquireOptions } from '../../lib/core/index.js';
import { runContendedRound, type Contended } from './contended-round.js';

/** The axis's figures, or why it was skipped. */
export type SemaphoreAxis =
  | { readonly available: true; readonly points: readonly Contended[] }
  | { readonly available: false; readonly reason: string };

/**
 * Asks etcd once whether this zzlock takes `permits`: `undefined` when it does, else the reason
 * it does not.
 */
export async function semaphoreUnavailable(
  endpoints: readonly string[],
): Promise<string | undefined> {
  const locks = new LockClient({ endpoints: [...endpoints], namespace: 'bench-semaphore-probe/' });
  try {
    // Cast: `permits` is not in AcquireOptions on main yet; the cast goes once the type has it.
    const options = { permits: 1, waitMs: 0 } as AcquireOptions;
    await (await locks.acquire('probe', options)).release();
    return undefined;
  } catch (error) {
    if (error instanceof LockConfigError && error.option === 'permits') {
      return `semaphore API not available (acquire() rejects "permits": ${error.message})`;
    }
    throw error;
  } finally {
    await locks.close();
  }
}

/** Runs every point of the axis (zzlock only: etcd3 has no semaphore), or skips it. */
export async function runSemaphoreAxis(
  endpoints: readonly string[],
  permitCounts: readonly number[],
  waiters: number,
  processes: number,
  seconds: number,
  warmupMs: number,
): Promise<SemaphoreAxis> {
  const reason = await semaphoreUnavailable(endpoints);
  if (reason !== undefined) {
    console.log(`semaphore: ${reason}; section skipped`);
    return { available: false, reason };
  }
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
  return { available: true, points };
}
