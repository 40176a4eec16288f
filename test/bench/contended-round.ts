// One contended round of the benchmark: fork worker processes (contended-worker.ts), let their
// waiters cycle on one lock for a while, and turn what they report and etcd's gRPC counters into
// the contended figures. Used by the waiters section, the processes axis and the semaphore axis.
import { fork } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ContenderName } from './contenders.js';
import type { GrantRecord, WorkerOrder, WorkerReport, WorkerStart } from './contended-worker.js';
import { cpuBetween, cpuPerUnit, sampleCpu, type CpuPerUnit } from './cpu-time.js';
import { messagesBetween, readMessageCounts, type MessageCounts } from './etcd-messages.js';
import { percentiles, sharedNow, type Percentiles } from './stats.js';

const here = dirname(fileURLToPath(import.meta.url));

/** What one round runs. */
export interface RoundOrder {
  readonly endpoints: readonly string[];
  readonly contender: ContenderName;
  /** Namespace of the round's keys: a fresh one per round. */
  readonly namespace: string;
  /** Worker processes. */
  readonly processes: number;
  /** Waiters in all, spread over the processes as evenly as the count allows. */
  readonly waiters: number;
  /** Seconds measured, after the warm-up. */
  readonly seconds: number;
  /** Time given to the waiters to queue before the figures start, in ms. */
  readonly warmupMs: number;
  /** Each acquire takes one of this many permits (zzlock's semaphore); absent: exclusive. */
  readonly permits?: number;
  /** The etcd processes, whose CPU time is reported apart. */
  readonly etcdPids?: readonly number[];
}

/** Contended figures of one contender in one round. */
export interface Contended {
  readonly contender: ContenderName;
  readonly waiters: number;
  readonly processes: number;
  /** Permits of the semaphore; absent: an exclusive lock. */
  readonly permits?: number;
  readonly seconds: number;
  /** Grants in the measured window (for an exclusive lock, each grant is a handoff). */
  readonly handoffs: number;
  readonly handoffsPerSecond: number;
  readonly wait: Percentiles;
  /** Release → next grant (exclusive lock only; a semaphore's grants overlap). */
  readonly gap: Percentiles;
  readonly fifoViolations: number;
  readonly wastedAttempts: number;
  readonly messages: MessageCounts;
  readonly messagesPerHandoff: number;
  readonly requestsPerHandoff: number;
  readonly callsPerHandoff: Record<string, number>;
  /** CPU per handoff over the measured window: every core's, and etcd's share. */
  readonly cpu: CpuPerUnit;
}

/** Runs one round and returns its figures; throws when any worker reported an error. */
export async function runContendedRound(order: RoundOrder): Promise<Contended> {
  const { contender, processes, waiters } = order;
  const workers = Array.from({ length: processes }, () =>
    fork(join(here, 'contended-worker.js'), { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }),
  );
  const exited = workers.map((worker) => new Promise((resolve) => worker.once('exit', resolve)));
  try {
    const channels = workers.map((worker, i) => {
      const ready = new Promise<void>((resolve, reject) => {
        worker.on('message', (message) => message === 'ready' && resolve());
        worker.once('error', reject);
        worker.once('exit', (code) => reject(new Error(`worker ${i} exited ${code} early`)));
      });
      const report = new Promise<WorkerReport>((resolve, reject) => {
        worker.on('message', (message) => message !== 'ready' && resolve(message as WorkerReport));
        worker.once(
          'exit',
          (code) => code !== 0 && reject(new Error(`worker ${i} exited ${code}`)),
        );
      });
      const workerOrder: WorkerOrder = {
        contender,
        endpoints: order.endpoints,
        namespace: order.namespace,
        lockName: 'hot',
        waiters: Math.floor(waiters / processes) + (i < waiters % processes ? 1 : 0),
        ...(order.permits === undefined ? {} : { permits: order.permits }),
      };
      report.catch(() => undefined); // awaited below, unless the round failed before
      worker.send(workerOrder);
      return { ready, report };
    });
    await Promise.all(channels.map((c) => c.ready));
    const startAt = sharedNow() + 100;
    // Figures come from the steady state: once every waiter has queued.
    const measureFrom = startAt + order.warmupMs;
    const stopAt = measureFrom + order.seconds * 1000;
    const start: WorkerStart = { startAt, stopAt };
    for (const worker of workers) worker.send(start);
    const reports = channels.map((c) => c.report);
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, measureFrom - sharedNow())));
    const before = await readMessageCounts(order.endpoints);
    const cpuBefore = sampleCpu(order.etcdPids ?? []);
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, stopAt - sharedNow())));
    const cpuAfter = sampleCpu(order.etcdPids ?? []);
    const after = await readMessageCounts(order.endpoints);
    const results = await Promise.all(reports);
    await Promise.all(exited); // each exits once its report is sent
    const errors = results.flatMap((r) => r.errors);
    const what = `${contender} × ${waiters} waiters / ${processes} processes${order.permits === undefined ? '' : ` / ${order.permits} permits`}`;
    if (errors.length > 0) throw new Error(`${what}: ${errors[0]}`);

    // Messages are counted from measureFrom to the stop; so are the grants.
    const grants = results
      .flatMap((r) => r.grants)
      .filter((g) => g.grant >= measureFrom && g.grant <= stopAt)
      .sort((a, b) => a.grant - b.grant);
    const pendingStarts = results.flatMap((r) => r.pendingStarts);
    const messages = messagesBetween(before, after);
    const exclusive = order.permits === undefined;
    const gaps = exclusive
      ? grants.slice(1).map((g, i) => Math.max(0, g.grant - grants[i].release))
      : [];
    const callsPerHandoff = Object.fromEntries(
      Object.entries(messages.calls).map(([method, count]) => [method, count / grants.length]),
    );
    return {
      contender,
      waiters,
      processes,
      ...(order.permits === undefined ? {} : { permits: order.permits }),
      seconds: order.seconds,
      handoffs: grants.length,
      handoffsPerSecond: grants.length / order.seconds,
      wait: percentiles(grants.map((g) => g.grant - g.start)),
      gap: percentiles(gaps),
      // A semaphore grants out of token order by design (up to `permits` at once).
      fifoViolations: exclusive ? fifoViolations(grants, pendingStarts) : 0,
      wastedAttempts: grants.reduce((sum, g) => sum + g.attempts - 1, 0),
      messages,
      messagesPerHandoff: (messages.toEtcd + messages.fromEtcd) / grants.length,
      requestsPerHandoff: messages.toEtcd / grants.length,
      callsPerHandoff,
      cpu: cpuPerUnit(cpuBetween(cpuBefore, cpuAfter), grants.length),
    };
  } finally {
    // A round that failed midway leaves no worker behind.
    for (const worker of workers) {
      if (worker.exitCode === null && worker.signalCode === null) worker.kill('SIGKILL');
    }
    await Promise.all(exited);
  }
}

/**
 * Grants out of FIFO order. zzlock has a queue: its order is the fencing token (the create
 * revision of the waiter's key), so a violation is a grant with a lower token than one granted
 * before it. etcd3's Lock has no queue: a violation is a grant to a waiter that started after
 * another waiter still waiting then (by more than 1 ms, the clock's cross-process slack).
 */
function fifoViolations(grants: readonly GrantRecord[], pendingStarts: readonly number[]): number {
  if (grants.every((g) => g.token !== undefined)) {
    let highest = -1n;
    let violations = 0;
    for (const grant of grants) {
      const token = BigInt(grant.token as string);
      if (token < highest) violations += 1;
      else highest = token;
    }
    return violations;
  }
  // Earliest start among waits granted later (or never), scanning from the last grant back.
  let earliestLater = Math.min(...pendingStarts, Number.POSITIVE_INFINITY);
  let violations = 0;
  for (let i = grants.length - 1; i >= 0; i -= 1) {
    if (earliestLater < grants[i].start - 1) violations += 1;
    earliestLater = Math.min(earliestLater, grants[i].start);
  }
  return violations;
}
