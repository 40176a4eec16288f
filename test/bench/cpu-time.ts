// CPU time from Linux's /proc, for the benchmark's "where a handoff's time goes": how much CPU
// (every core, and etcd's own share) one handoff or one floor cycle costs. On a machine whose
// cores are all busy, that, not the round trips, is what bounds handoffs per second.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';

/** Clock ticks per second of /proc's CPU counters (USER_HZ). */
const TICKS_PER_SECOND = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;

/** CPU time spent so far, in ms: by the whole machine (not idle, not waiting for I/O) and by etcd. */
export interface CpuSample {
  readonly machineMs: number;
  readonly etcdMs: number;
}

/** CPU spent between two samples, per unit of work (a handoff, a cycle), in ms. */
export interface CpuPerUnit {
  readonly machineMs: number;
  readonly etcdMs: number;
  /** The most units per second the machine's cores could do at this CPU cost. */
  readonly ceilingPerSecond: number;
}

/** Reads the machine's busy time and the CPU time of the given etcd processes. */
export function sampleCpu(etcdPids: readonly number[]): CpuSample {
  // cpu  user nice system idle iowait irq softirq steal …
  const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1);
  const ticks = fields.map(Number);
  const busy = ticks.reduce((sum, t, i) => (i === 3 || i === 4 ? sum : sum + t), 0);
  let etcd = 0;
  for (const pid of etcdPids) {
    try {
      // After the command's closing parenthesis: state … utime (14th field) stime (15th).
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const after = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      etcd += Number(after[11]) + Number(after[12]);
    } catch {
      // a member that is gone costs nothing more
    }
  }
  return { machineMs: toMs(busy), etcdMs: toMs(etcd) };
}

/** CPU spent from `before` to `after`. */
export function cpuBetween(before: CpuSample, after: CpuSample): CpuSample {
  return { machineMs: after.machineMs - before.machineMs, etcdMs: after.etcdMs - before.etcdMs };
}

/** Sums CPU samples (for work measured in alternating batches). */
export function addCpu(a: CpuSample, b: CpuSample): CpuSample {
  return { machineMs: a.machineMs + b.machineMs, etcdMs: a.etcdMs + b.etcdMs };
}

/** CPU per unit of `spent`, over `units`, and the rate the machine's cores allow at that cost. */
export function cpuPerUnit(spent: CpuSample, units: number): CpuPerUnit {
  const machineMs = spent.machineMs / units;
  return {
    machineMs,
    etcdMs: spent.etcdMs / units,
    ceilingPerSecond: (cpus().length * 1000) / machineMs,
  };
}

function toMs(ticks: number): number {
  return (ticks * 1000) / TICKS_PER_SECOND;
}
