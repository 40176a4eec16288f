// A worker process of the contended benchmark: runs `waiters` concurrent acquire → release loops
// on one lock until told to stop, and reports every grant. Started by lock.bench.ts with fork().
import { setMaxListeners } from 'node:events';
import { createContender, type ContenderName } from './contenders.js';
import { sharedNow } from './stats.js';

/** What the benchmark asks of one worker. */
export interface WorkerOrder {
  readonly contender: ContenderName;
  readonly endpoints: readonly string[];
  readonly namespace: string;
  readonly lockName: string;
  readonly waiters: number;
  /** Each acquire takes one of this many permits (a semaphore); absent: an exclusive lock. */
  readonly permits?: number;
}

/** When to start and stop, sent once every worker is ready (warmed up). */
export interface WorkerStart {
  /** Shared-clock time (see `sharedNow`) at which to start and stop. */
  readonly startAt: number;
  readonly stopAt: number;
}

/** One acquisition, on the shared clock (ms). */
export interface GrantRecord {
  readonly worker: number;
  /** When acquire() was called. */
  readonly start: number;
  /** When it resolved. */
  readonly grant: number;
  /** When release() was called. */
  readonly release: number;
  /** Fencing token as a decimal string, when the contender has one. */
  readonly token?: string;
  readonly attempts: number;
}

/** A worker's report: its grants, and the acquisitions still waiting when it stopped. */
export interface WorkerReport {
  readonly grants: GrantRecord[];
  /** Start times of the acquisitions cut off by the stop. */
  readonly pendingStarts: number[];
  /** Errors other than the stop; the benchmark fails when there is any. */
  readonly errors: string[];
}

const worker = process.pid;

// The benchmark sends the order, waits for every worker's 'ready' (connected, lease granted),
// then sends the start: forking and connecting many workers on few cores is not measured.
process.once('message', (order: WorkerOrder) => void run(order));

async function run(order: WorkerOrder): Promise<void> {
  const contender = createContender(order.contender, order.endpoints, order.namespace);
  await contender.warmUp();
  const started = new Promise<WorkerStart>((resolve) => process.once('message', resolve));
  process.send?.('ready');
  const { startAt, stopAt } = await started;
  const stop = new AbortController();
  setMaxListeners(0, stop.signal); // every waiter of this worker listens to it
  const grants: GrantRecord[] = [];
  const pendingStarts: number[] = [];
  const errors: string[] = [];
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, startAt - sharedNow())));
  const stopTimer = setTimeout(() => stop.abort(), Math.max(0, stopAt - sharedNow()));

  const loop = async () => {
    while (!stop.signal.aborted) {
      const start = sharedNow();
      let lock;
      try {
        lock = await contender.acquire(order.lockName, stop.signal, order.permits);
      } catch (error) {
        if (stop.signal.aborted) pendingStarts.push(start);
        else errors.push(String(error));
        return;
      }
      const grant = sharedNow();
      const release = sharedNow();
      await lock.release();
      grants.push({
        worker,
        start,
        grant,
        release,
        token: lock.token?.toString(),
        attempts: lock.attempts,
      });
    }
  };
  await Promise.all(Array.from({ length: order.waiters }, loop));
  clearTimeout(stopTimer);
  await contender.close();
  const report: WorkerReport = { grants, pendingStarts, errors };
  process.send?.(report, () => process.exit(0));
}
