// zzlock benchmark (npm run bench [-- --cluster] [-- --seconds S] [-- --n N] [-- --trace]…; the
// flags are in parseArgs below): one etcd the bench starts itself, every contender in the same
// run, interleaved.
//   1. Uncontended: the floor (raw put + delete, plain etcd3 client), zzlock acquire + release,
//      and etcd3's Lock acquire + release; N cycles each after warm-up, in alternating batches.
//   2. Contended: 8, 64 and 512 waiters over 4 processes on one lock, S seconds each, zzlock and
//      etcd3 Lock with a retry loop: handoffs/s, wait and handoff-gap percentiles, FIFO
//      violations, wasted attempts, and etcd messages per handoff from etcd's own gRPC counters.
//   3. Many locks: one process acquires 10,000 distinct locks and holds them.
//   4. Processes axis (processes-axis.ts): 2, 8 and 24 processes with one waiter each on one
//      lock, both contenders, --axis-seconds each: handoffs/s and etcd messages per handoff.
//   5. Semaphore axis (semaphore-axis.ts): zzlock with 1, 3 and 10 permits under 24 waiters over
//      4 processes: grants/s. Skipped, saying so, while acquire() does not take `permits`.
//   6. With --trace (handoff-trace.ts, measurement only): where a zzlock handoff's time goes,
//      8 waiters over 4 processes.
// Prints a table, writes bench/results/latest.json and latest.svg, and exits 1 if a goal is
// missed. Speed targets live here, never in tests.
import { execFile } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import { Etcd3 } from 'etcd3';
import { LockClient } from '../../lib/core/index.js';
import { startEtcd, startEtcdCluster } from '../support/index.js';
import { runContendedRound, type Contended } from './contended-round.js';
import {
  addCpu,
  cpuBetween,
  cpuPerUnit,
  sampleCpu,
  type CpuPerUnit,
  type CpuSample,
} from './cpu-time.js';
import type { ContenderName } from './contenders.js';
import { runHandoffTrace, SEGMENT_LABELS, type HandoffTrace } from './handoff-trace.js';
import type { ManyLocksResult } from './many-locks.js';
import { PROCESSES_GROWTH_GOAL, processesGrowth, runProcessesAxis } from './processes-axis.js';
import { runSemaphoreAxis } from './semaphore-axis.js';
import { percentiles, type Percentiles } from './stats.js';
import { renderChart, type ChartPanel, type ChartSeries } from './svg-chart.js';

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = join(here, '..', '..', '..');
const { values: args } = parseArgs({
  options: {
    cluster: { type: 'boolean', default: false },
    seconds: { type: 'string', default: '10' },
    n: { type: 'string', default: '2000' },
    waiters: { type: 'string', default: '8,64,512' },
    'many-locks': { type: 'string', default: '10000' },
    /** Process counts of the processes axis (one waiter each). */
    processes: { type: 'string', default: '2,8,24' },
    /** Seconds measured per point of the processes and semaphore axes and of the trace. */
    'axis-seconds': { type: 'string', default: '3' },
    /** Permit counts of the semaphore axis. */
    permits: { type: 'string', default: '1,3,10' },
    'semaphore-waiters': { type: 'string', default: '24' },
    /** Trace where a zzlock handoff's time goes (8 waiters over 4 processes). */
    trace: { type: 'boolean', default: false },
    out: { type: 'string', default: join(repoRoot, 'bench', 'results') },
  },
});
const SECONDS = Number(args.seconds);
const N = Number(args.n);
const WAITERS = args.waiters.split(',').map(Number);
const MANY_LOCKS = Number(args['many-locks']);
const PROCESSES = 4;
/** Time given to the waiters to queue before the contended figures start. */
const WARMUP_MS = 2000;
const AXIS_PROCESSES = args.processes.split(',').map(Number);
const AXIS_SECONDS = Number(args['axis-seconds']);
const PERMITS = args.permits.split(',').map(Number);
const SEMAPHORE_WAITERS = Number(args['semaphore-waiters']);
/** Warm-up of the axes: their waiters queue at once (one per process, or 24 over 4). */
const AXIS_WARMUP_MS = 1000;
const TRACE_WAITERS = 8;
const CONTENDERS: readonly ContenderName[] = ['zzlock', 'etcd3-lock'];

/** The goals of the benchmark (ratios measured in one run). */
const GOALS = {
  uncontendedVsFloor: 0.9,
  uncontendedVsEtcd3: 1.8,
  contendedVsFloor: 0.7,
  contendedVsEtcd3: 1.5,
  messagesPerHandoff: 4,
  gapP99Ms: 10,
  heapBytesPerLock: 2048,
  processesGrowth: PROCESSES_GROWTH_GOAL,
};

// ---------------------------------------------------------------------------------------------

/** Uncontended figures of one contender. */
interface Uncontended {
  readonly cyclesPerSecond: number;
  readonly latency: Percentiles;
  /** CPU per cycle: every core's, and etcd's share. */
  readonly cpu: CpuPerUnit;
}

/** The figures of the sections after many locks. */
interface Extra {
  /** The processes axis: one waiter per process, both contenders. */
  readonly axis: readonly Contended[];
  readonly semaphore: readonly Contended[];
  /** Where a handoff's time goes; only with --trace. */
  readonly trace: HandoffTrace | undefined;
}

const etcd = args.cluster ? await startEtcdCluster({ members: 3 }) : await startEtcd();
const etcdPids = etcd.members.flatMap((member) => (member.pid === undefined ? [] : [member.pid]));
const goalLines: string[] = [];
const missed: string[] = [];
const goal = (ok: boolean, what: string) => {
  goalLines.push(`  ${ok ? 'met   ' : 'MISSED'}  ${what}`);
  if (!ok) missed.push(what);
};
const fixed = (value: number, digits = 2) => (Number.isFinite(value) ? value.toFixed(digits) : '–');

try {
  const uncontended = await runUncontended();
  const contended: Contended[] = [];
  for (const [index, waiters] of WAITERS.entries()) {
    // Alternate which contender goes first, so neither always meets a warmer etcd.
    const order = index % 2 === 0 ? CONTENDERS : [...CONTENDERS].reverse();
    for (const contender of order) contended.push(await runContended(contender, waiters));
  }
  const many = await runManyLocks();
  const axis = await runProcessesAxis(
    etcd.endpoints,
    AXIS_PROCESSES,
    AXIS_SECONDS,
    AXIS_WARMUP_MS,
    CONTENDERS,
    etcdPids,
  );
  const semaphore = await runSemaphoreAxis(
    etcd.endpoints,
    PERMITS,
    SEMAPHORE_WAITERS,
    PROCESSES,
    AXIS_SECONDS,
    AXIS_WARMUP_MS,
  );
  const trace = args.trace
    ? await runHandoffTrace(etcd.endpoints, TRACE_WAITERS, PROCESSES, AXIS_SECONDS, AXIS_WARMUP_MS)
    : undefined;
  const extra: Extra = { axis, semaphore, trace };
  report(uncontended, contended, many, extra);
  await writeResults(uncontended, contended, many, extra);
} finally {
  await etcd.stop();
}
if (missed.length > 0) {
  console.error(`bench: ${missed.length} goal(s) missed`);
  process.exitCode = 1;
}

// ---------------------------------------------------------------------------------------------

async function runUncontended(): Promise<Record<'floor' | ContenderName, Uncontended>> {
  const raw = new Etcd3({ hosts: etcd.endpoints });
  const zz = new LockClient({ endpoints: etcd.endpoints, namespace: 'bench-solo/', ttl: 15 });
  const etcd3 = new Etcd3({ hosts: etcd.endpoints });
  const cycles: Record<'floor' | ContenderName, () => Promise<void>> = {
    floor: async () => {
      await raw.put('bench-floor/k').value('v');
      await raw.delete().key('bench-floor/k');
    },
    zzlock: async () => {
      await (await zz.acquire('solo')).release();
    },
    'etcd3-lock': async () => {
      const lock = etcd3.lock('bench-etcd3/solo').ttl(15);
      await lock.acquire();
      await lock.release();
    },
  };
  const names = Object.keys(cycles) as Array<keyof typeof cycles>;
  const samples = Object.fromEntries(names.map((name) => [name, [] as number[]]));
  const noCpu: CpuSample = { machineMs: 0, etcdMs: 0 };
  const cpu = Object.fromEntries(names.map((name) => [name, noCpu]));
  for (const name of names) for (let i = 0; i < 200; i += 1) await cycles[name](); // warm-up
  const BATCHES = 8;
  for (let batch = 0; batch < BATCHES; batch += 1) {
    const order = batch % 2 === 0 ? names : [...names].reverse();
    for (const name of order) {
      const cpuBefore = sampleCpu(etcdPids);
      for (let i = 0; i < Math.ceil(N / BATCHES); i += 1) {
        const startedAt = performance.now();
        await cycles[name]();
        samples[name].push(performance.now() - startedAt);
      }
      cpu[name] = addCpu(cpu[name], cpuBetween(cpuBefore, sampleCpu(etcdPids)));
    }
  }
  await zz.close();
  raw.close();
  etcd3.close();
  const result = {} as Record<'floor' | ContenderName, Uncontended>;
  for (const name of names) {
    const total = samples[name].reduce((a, b) => a + b, 0);
    result[name] = {
      cyclesPerSecond: samples[name].length / (total / 1000),
      latency: percentiles(samples[name]),
      cpu: cpuPerUnit(cpu[name], samples[name].length),
    };
  }
  return result;
}

async function runContended(contender: ContenderName, waiters: number): Promise<Contended> {
  const figures = await runContendedRound({
    endpoints: etcd.endpoints,
    contender,
    namespace: `bench-${contender}-${waiters}/`,
    processes: PROCESSES,
    waiters,
    seconds: SECONDS,
    warmupMs: WARMUP_MS,
    etcdPids,
  });
  console.log(
    `contended ${contender.padEnd(10)} ${String(waiters).padStart(3)} waiters: ${fixed(figures.handoffsPerSecond, 0)} handoffs/s, ` +
      `gap p50 ${fixed(figures.gap.p50)} p99 ${fixed(figures.gap.p99)} ms, ${fixed(figures.messagesPerHandoff)} msgs/handoff`,
  );
  return figures;
}

async function runManyLocks(): Promise<ManyLocksResult> {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    [
      '--expose-gc',
      join(here, 'many-locks.js'),
      etcd.endpoints.join(','),
      String(MANY_LOCKS),
      '15',
    ],
    { maxBuffer: 1 << 20 },
  );
  return JSON.parse(stdout.trim().split('\n').at(-1) as string) as ManyLocksResult;
}

// ---------------------------------------------------------------------------------------------

function report(
  uncontended: Record<'floor' | ContenderName, Uncontended>,
  contended: readonly Contended[],
  many: ManyLocksResult,
  extra: Extra,
): void {
  const floor = uncontended.floor.cyclesPerSecond;
  const rows: string[][] = [
    [
      '',
      'cycles/s',
      '× floor',
      'p50 ms',
      'p99 ms',
      'etcd msgs/handoff',
      'gap p50/p99 ms',
      'FIFO viol.',
      'wasted',
    ],
  ];
  for (const name of ['floor', 'zzlock', 'etcd3-lock'] as const) {
    const u = uncontended[name];
    rows.push([
      `uncontended ${name}`,
      fixed(u.cyclesPerSecond, 0),
      fixed(u.cyclesPerSecond / floor),
      fixed(u.latency.p50),
      fixed(u.latency.p99),
      '',
      '',
      '',
      '',
    ]);
  }
  for (const c of contended) {
    rows.push([
      `${c.waiters} waiters ${c.contender}`,
      fixed(c.handoffsPerSecond, 0),
      fixed(c.handoffsPerSecond / floor),
      fixed(c.wait.p50),
      fixed(c.wait.p99),
      `${fixed(c.messagesPerHandoff)} (${fixed(c.requestsPerHandoff)} in)`,
      `${fixed(c.gap.p50)} / ${fixed(c.gap.p99)}`,
      String(c.fifoViolations),
      String(c.wastedAttempts),
    ]);
  }
  printTable(rows);
  console.log('(contended "p50/p99 ms" is the wait from acquire() to the grant)');
  for (const c of contended) {
    const calls = Object.entries(c.callsPerHandoff)
      .map(([method, count]) => `${method} ${fixed(count)}`)
      .join(', ');
    console.log(`  etcd calls per handoff, ${c.contender} × ${c.waiters}: ${calls}`);
  }
  reportCpu(uncontended, contended);
  console.log(
    `\nmany locks: ${many.locks} held in ${fixed(many.acquireSeconds, 1)} s (released in ${fixed(many.releaseSeconds, 1)} s), ` +
      `${fixed(many.heapBytesPerLock, 0)} B heap per held lock, ${many.leases} lease(s), ` +
      `${many.keepaliveStreamsOpened} keepalive stream(s) opened in ${many.heldSeconds} s of holding (TTL ${many.ttlSeconds} s), ` +
      `${many.keepaliveStreamsOpen} open at the end, ${many.messagesWhileHeld} etcd messages while held`,
  );
  reportExtra(extra);

  const zz = uncontended.zzlock.cyclesPerSecond;
  goal(
    zz >= GOALS.uncontendedVsFloor * floor,
    `uncontended zzlock ≥ ${GOALS.uncontendedVsFloor}× floor (${fixed(zz / floor)}×)`,
  );
  goal(
    zz >= GOALS.uncontendedVsEtcd3 * uncontended['etcd3-lock'].cyclesPerSecond,
    `uncontended zzlock ≥ ${GOALS.uncontendedVsEtcd3}× etcd3 Lock (${fixed(zz / uncontended['etcd3-lock'].cyclesPerSecond)}×)`,
  );
  for (const c of contended.filter((x) => x.contender === 'zzlock')) {
    const rival = contended.find((x) => x.contender === 'etcd3-lock' && x.waiters === c.waiters);
    const tag = `${c.waiters} waiters:`;
    goal(
      c.handoffsPerSecond >= GOALS.contendedVsFloor * floor,
      `${tag} ≥ ${GOALS.contendedVsFloor}× floor (${fixed(c.handoffsPerSecond / floor)}×)`,
    );
    if (rival) {
      goal(
        c.handoffsPerSecond >= GOALS.contendedVsEtcd3 * rival.handoffsPerSecond,
        `${tag} ≥ ${GOALS.contendedVsEtcd3}× etcd3 Lock + retry (${fixed(c.handoffsPerSecond / rival.handoffsPerSecond)}×)`,
      );
    }
    goal(c.wastedAttempts === 0, `${tag} 0 wasted attempts (${c.wastedAttempts})`);
    goal(
      c.messagesPerHandoff <= GOALS.messagesPerHandoff,
      `${tag} ≤ ${GOALS.messagesPerHandoff} etcd messages per handoff (${fixed(c.messagesPerHandoff)}: ${fixed(c.requestsPerHandoff)} to etcd, ${fixed(c.messagesPerHandoff - c.requestsPerHandoff)} from etcd)`,
    );
    goal(
      c.gap.p99 <= GOALS.gapP99Ms,
      `${tag} handoff gap p99 ≤ ${GOALS.gapP99Ms} ms (${fixed(c.gap.p99)} ms)`,
    );
    goal(c.fifoViolations === 0, `${tag} 0 FIFO violations (${c.fifoViolations})`);
  }
  goal(
    many.leases === 1 && many.keepaliveStreamsOpen <= 1,
    `${many.locks} held locks: one lease and at most one keepalive stream open (${many.leases} lease, ${many.keepaliveStreamsOpen} open)`,
  );
  goal(
    many.heapBytesPerLock <= GOALS.heapBytesPerLock,
    `${many.locks} held locks: ≤ 2 KB heap per held lock (${fixed(many.heapBytesPerLock, 0)} B)`,
  );
  const growth = processesGrowth(extra.axis);
  if (growth !== undefined) {
    goal(
      growth.growth <= GOALS.processesGrowth,
      `zzlock messages per handoff grows ≤ ${GOALS.processesGrowth}× from ${growth.from} to ${growth.to} processes (${fixed(growth.growth)}×)`,
    );
  }
  console.log(`\ngoals:\n${goalLines.join('\n')}`);
}

/**
 * Prints the CPU each cycle or handoff cost the machine (every core: etcd, the workers, the
 * bench), etcd's share, and the rate that cost allows on this machine's cores: when the cores are
 * busy, CPU per handoff, not round trips, bounds handoffs per second.
 */
function reportCpu(
  uncontended: Record<'floor' | ContenderName, Uncontended>,
  contended: readonly Contended[],
): void {
  const rows = [
    ['CPU per cycle / handoff', 'all cores ms', 'etcd ms', 'cores allow /s', 'measured /s'],
  ];
  const row = (what: string, cpu: CpuPerUnit, measured: number) =>
    rows.push([
      what,
      fixed(cpu.machineMs),
      fixed(cpu.etcdMs),
      fixed(cpu.ceilingPerSecond, 0),
      fixed(measured, 0),
    ]);
  for (const name of ['floor', 'zzlock', 'etcd3-lock'] as const) {
    row(`uncontended ${name}`, uncontended[name].cpu, uncontended[name].cyclesPerSecond);
  }
  for (const c of contended) row(`${c.waiters} waiters ${c.contender}`, c.cpu, c.handoffsPerSecond);
  printTable(rows);
}

/** Prints the processes axis, the semaphore axis and the trace. */
function reportExtra({ axis, semaphore, trace }: Extra): void {
  const rows: string[][] = [
    [
      'processes (1 waiter each)',
      'handoffs/s',
      'etcd msgs/handoff',
      'gap p50/p99 ms',
      'FIFO viol.',
    ],
  ];
  for (const p of axis) {
    rows.push([
      `${p.processes} processes ${p.contender}`,
      fixed(p.handoffsPerSecond, 0),
      `${fixed(p.messagesPerHandoff)} (${fixed(p.requestsPerHandoff)} in)`,
      `${fixed(p.gap.p50)} / ${fixed(p.gap.p99)}`,
      String(p.fifoViolations),
    ]);
  }
  printTable(rows);
  for (const contender of CONTENDERS) {
    const growth = processesGrowth(axis, contender);
    if (growth !== undefined) {
      const points = axis.filter((p) => p.contender === contender);
      const first = points.find((p) => p.processes === growth.from) as Contended;
      const last = points.find((p) => p.processes === growth.to) as Contended;
      // What a process whose waiter is not next costs per handoff (0 when only the next is told).
      const perBystander =
        (last.messagesPerHandoff - first.messagesPerHandoff) / (growth.to - growth.from);
      console.log(
        `  ${contender}: messages per handoff ×${fixed(growth.growth)} from ${growth.from} to ${growth.to} processes; ` +
          `each further waiting process adds ${fixed(perBystander)} messages per handoff`,
      );
    }
  }
  const semaphoreRows = [['semaphore (zzlock)', 'grants/s', 'etcd msgs/grant', 'wait p50/p99 ms']];
  for (const p of semaphore) {
    semaphoreRows.push([
      `${p.permits} permits, ${p.waiters} waiters / ${p.processes} processes`,
      fixed(p.handoffsPerSecond, 0),
      fixed(p.messagesPerHandoff),
      `${fixed(p.wait.p50)} / ${fixed(p.wait.p99)}`,
    ]);
  }
  printTable(semaphoreRows);
  if (trace !== undefined) {
    console.log(
      `\nhandoff trace (zzlock, ${trace.waiters} waiters over ${trace.processes} processes, ` +
        `${trace.handoffs} handoffs followed, ${trace.unmatched} not):`,
    );
    const traceRows = [['segment', 'p50 ms', 'p99 ms', 'max ms']];
    for (const [name, label] of Object.entries(SEGMENT_LABELS)) {
      const segment = trace.segments[name as keyof HandoffTrace['segments']];
      traceRows.push([label, fixed(segment.p50), fixed(segment.p99), fixed(segment.max)]);
    }
    printTable(traceRows);
  }
}

/** Prints rows as a table: first column left-aligned, the others right-aligned. */
function printTable(rows: readonly string[][]): void {
  const widths = rows[0].map((_, col) => Math.max(...rows.map((row) => row[col].length)));
  console.log('');
  for (const row of rows) {
    console.log(
      row
        .map((cell, col) => (col === 0 ? cell.padEnd(widths[col]) : cell.padStart(widths[col])))
        .join('  '),
    );
  }
}

async function writeResults(
  uncontended: Record<'floor' | ContenderName, Uncontended>,
  contended: readonly Contended[],
  many: ManyLocksResult,
  extra: Extra,
): Promise<void> {
  const etcdVersion = await promisify(execFile)(process.env.ETCD_BIN ?? 'etcd', ['--version'])
    .then(({ stdout }) => /etcd Version: (\S+)/.exec(stdout)?.[1] ?? 'unknown')
    .catch(() => 'unknown');
  const machine = {
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? 'unknown',
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    etcd: etcdVersion,
    etcdMembers: etcd.endpoints.length,
  };
  const date = new Date().toISOString();
  const results = {
    date,
    machine,
    settings: {
      n: N,
      seconds: SECONDS,
      waiters: WAITERS,
      processes: PROCESSES,
      manyLocks: MANY_LOCKS,
      axisProcesses: AXIS_PROCESSES,
      axisSeconds: AXIS_SECONDS,
      permits: PERMITS,
      semaphoreWaiters: SEMAPHORE_WAITERS,
      trace: args.trace,
    },
    goals: GOALS,
    goalsMissed: missed,
    uncontended,
    contended,
    manyLocks: many,
    processesAxis: extra.axis,
    semaphore: extra.semaphore,
    ...(extra.trace === undefined ? {} : { handoffTrace: extra.trace }),
  };
  await mkdir(args.out, { recursive: true });
  const json = JSON.stringify(
    results,
    (_, value: unknown) => (typeof value === 'bigint' ? value.toString() : value),
    2,
  );
  await writeFile(join(args.out, 'latest.json'), `${json}\n`);
  const series = (
    contender: ContenderName,
    color: string,
    pick: (c: Contended) => number,
    label: string,
    dashed = false,
  ): ChartSeries => ({
    label,
    color,
    dashed,
    points: contended
      .filter((c) => c.contender === contender)
      .map((c) => ({ x: c.waiters, value: pick(c) })),
  });
  const ZZ = '#1f77b4';
  const E3 = '#d62728';
  /** p50 (solid) and p99 (dashed) of both contenders, on a log axis. */
  const latencyPanel = (title: string, pick: (c: Contended) => Percentiles): ChartPanel => ({
    title,
    yLabel: 'ms (log scale)',
    logY: true,
    series: [
      series('zzlock', ZZ, (c) => pick(c).p50, 'zzlock p50'),
      series('zzlock', ZZ, (c) => pick(c).p99, 'zzlock p99', true),
      series('etcd3-lock', E3, (c) => pick(c).p50, 'etcd3 Lock p50'),
      series('etcd3-lock', E3, (c) => pick(c).p99, 'etcd3 Lock p99', true),
    ],
  });
  const svg = renderChart(
    [
      {
        title: 'Throughput under contention',
        yLabel: 'handoffs per second',
        logY: false,
        series: [
          series('zzlock', ZZ, (c) => c.handoffsPerSecond, 'zzlock'),
          series('etcd3-lock', E3, (c) => c.handoffsPerSecond, 'etcd3 Lock + retry'),
        ],
        references: [
          {
            label: `floor: put + delete ${fixed(uncontended.floor.cyclesPerSecond, 0)}/s`,
            value: uncontended.floor.cyclesPerSecond,
          },
        ],
      },
      latencyPanel('Handoff gap (release → next grant)', (c) => c.gap),
      latencyPanel('Wait (acquire → grant)', (c) => c.wait),
      ...extraPanels(extra, ZZ, E3),
    ],
    WAITERS,
    `${date.slice(0, 10)} · ${machine.cpus} × ${machine.cpuModel} · node ${machine.node} · etcd ${machine.etcd} (${machine.etcdMembers} member${machine.etcdMembers > 1 ? 's' : ''})`,
  );
  await writeFile(join(args.out, 'latest.svg'), svg);
  console.log(`\nwrote ${join(args.out, 'latest.json')} and latest.svg`);
}

/** Chart panels of the processes axis (x: processes) and the semaphore axis (x: permits). */
function extraPanels({ axis, semaphore }: Extra, zz: string, e3: string): ChartPanel[] {
  const byProcesses = (
    contender: ContenderName,
    color: string,
    pick: (c: Contended) => number,
    label: string,
  ): ChartSeries => ({
    label,
    color,
    points: axis
      .filter((c) => c.contender === contender)
      .map((c) => ({ x: c.processes, value: pick(c) })),
  });
  const x = { values: AXIS_PROCESSES, label: 'processes (one waiter each, one lock)' };
  const panels: ChartPanel[] = [
    {
      title: 'Throughput by processes',
      yLabel: 'handoffs per second',
      logY: false,
      x,
      series: [
        byProcesses('zzlock', zz, (c) => c.handoffsPerSecond, 'zzlock'),
        byProcesses('etcd3-lock', e3, (c) => c.handoffsPerSecond, 'etcd3 Lock + retry'),
      ],
    },
    {
      title: 'etcd messages per handoff by processes',
      yLabel: 'messages (log scale)',
      logY: true,
      x,
      series: [
        byProcesses('zzlock', zz, (c) => c.messagesPerHandoff, 'zzlock'),
        byProcesses('etcd3-lock', e3, (c) => c.messagesPerHandoff, 'etcd3 Lock + retry'),
      ],
    },
  ];
  if (semaphore.length > 0) {
    panels.push({
      title: `Semaphore: grants under ${SEMAPHORE_WAITERS} waiters`,
      yLabel: 'grants per second',
      logY: false,
      x: {
        values: PERMITS,
        label: `permits (${SEMAPHORE_WAITERS} waiters, ${PROCESSES} processes)`,
      },
      series: [
        {
          label: 'zzlock',
          color: zz,
          points: semaphore.map((c) => ({ x: c.permits ?? 1, value: c.handoffsPerSecond })),
        },
      ],
    });
  }
  return panels;
}
