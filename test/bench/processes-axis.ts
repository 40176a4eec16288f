// The processes axis of the benchmark: P processes with one waiter each cycling on one lock, both
// contenders in the same run, interleaved. What it shows is the herd: when every handoff reaches
// every process with a waiter, etcd messages per handoff grow with P (DESIGN § 3, "Waiting cost
// is constant in the number of processes").
import { runContendedRound, type Contended } from './contended-round.js';
import type { ContenderName } from './contenders.js';

/** zzlock's etcd messages per handoff may grow at most this much from the fewest processes to the most. */
export const PROCESSES_GROWTH_GOAL = 1.5;

/** Runs every point of the axis, alternating which contender goes first. */
export async function runProcessesAxis(
  endpoints: readonly string[],
  processCounts: readonly number[],
  seconds: number,
  warmupMs: number,
  contenders: readonly ContenderName[],
  etcdPids: readonly number[] = [],
): Promise<Contended[]> {
  const points: Contended[] = [];
  for (const [index, processes] of processCounts.entries()) {
    const order = index % 2 === 0 ? contenders : [...contenders].reverse();
    for (const contender of order) {
      const point = await runContendedRound({
        endpoints,
        contender,
        namespace: `bench-processes-${contender}-${processes}/`,
        processes,
        waiters: processes,
        seconds,
        warmupMs,
        etcdPids,
      });
      console.log(
        `processes ${contender.padEnd(10)} ${String(processes).padStart(3)} × 1 waiter: ` +
          `${point.handoffsPerSecond.toFixed(0)} handoffs/s, ${point.messagesPerHandoff.toFixed(2)} msgs/handoff`,
      );
      points.push(point);
    }
  }
  return points;
}

/**
 * Growth of zzlock's messages per handoff from the fewest processes of the axis to the most, or
 * `undefined` with fewer than two process counts.
 */
export function processesGrowth(
  points: readonly Contended[],
  contender: ContenderName = 'zzlock',
): { readonly from: number; readonly to: number; readonly growth: number } | undefined {
  const mine = points
    .filter((p) => p.contender === contender)
    .sort((a, b) => a.processes - b.processes);
  if (mine.length < 2) return undefined;
  const first = mine[0];
  const last = mine[mine.length - 1];
  return {
    from: first.processes,
    to: last.processes,
    growth: last.messagesPerHandoff / first.messagesPerHandoff,
  };
}
