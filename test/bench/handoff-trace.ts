// MEASUREMENT ONLY (bench --trace): where a zzlock handoff's time goes, measured from outside
// zzlock by trace-worker.ts (wrapped etcd3 calls in each worker process, shared clock). For each
// handoff from a holder H to the next waiter W (the next fencing token):
//   t0 H calls release()            t1 H's delete txn is sent       t2 its answer arrives (rev R)
//   t3 W's watch delivers delete R  t4 W's confirm txn is sent      t5 its answer: W is next
//   t6 W's acquire() resolves
// Segments: release → delete answered (t2 − t0); delete committed → W's event: the commit lies
// between t1 and t2, so t3 − t2 is a lower bound and t3 − t1 an upper bound; event → confirm
// answered (t5 − t3); confirm → grant returned (t6 − t5); and the whole, release → grant (t6 − t0).
import { fork } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { percentiles, sharedNow, type Percentiles } from './stats.js';
import type { WorkerStart } from './contended-worker.js';
import type { TraceOrder, TraceReport, TracedGrant } from './trace-worker.js';

const here = dirname(fileURLToPath(import.meta.url));

/** The segments of a handoff, in ms, over every handoff traced. */
export interface HandoffTrace {
  readonly waiters: number;
  readonly processes: number;
  readonly seconds: number;
  /** Handoffs whose every timestamp was found. */
  readonly handoffs: number;
  /** Handoffs of the window that could not be followed (a timestamp missing). */
  readonly unmatched: number;
  readonly segments: {
    readonly releaseToDeleteAnswered: Percentiles;
    readonly deleteAnsweredToEvent: Percentiles;
    readonly deleteSentToEvent: Percentiles;
    readonly eventToConfirmAnswered: Percentiles;
    readonly eventToConfirmSent: Percentiles;
    readonly confirmAnsweredToGrant: Percentiles;
    readonly releaseToGrant: Percentiles;
  };
}

/** Human names of the segments, in the order of a handoff. */
export const SEGMENT_LABELS: Readonly<Record<keyof HandoffTrace['segments'], string>> = {
  releaseToDeleteAnswered: 'release() called → delete answered',
  deleteAnsweredToEvent: 'delete answered → next waiter’s event (commit → event, lower bound)',
  deleteSentToEvent: 'delete sent → next waiter’s event (commit → event, upper bound)',
  eventToConfirmSent: 'event → confirm read sent',
  eventToConfirmAnswered: 'event → confirm read answered',
  confirmAnsweredToGrant: 'confirm answered → acquire() resolved',
  releaseToGrant: 'release() called → next acquire() resolved (whole handoff)',
};

/** Runs `waiters` zzlock waiters over `processes` traced workers for `seconds`, and analyses. */
export async function runHandoffTrace(
  endpoints: readonly string[],
  waiters: number,
  processes: number,
  seconds: number,
  warmupMs: number,
): Promise<HandoffTrace> {
  const workers = Array.from({ length: processes }, () =>
    fork(join(here, 'trace-worker.js'), { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }),
  );
  const exited = workers.map((worker) => new Promise((resolve) => worker.once('exit', resolve)));
  let reports: TraceReport[];
  let measureFrom: number;
  let stopAt: number;
  try {
    const channels = workers.map((worker, i) => {
      const ready = new Promise<void>((resolve, reject) => {
        worker.on('message', (message) => message === 'ready' && resolve());
        worker.once('exit', (code) => reject(new Error(`trace worker ${i} exited ${code} early`)));
      });
      const report = new Promise<TraceReport>((resolve, reject) => {
        worker.on('message', (message) => message !== 'ready' && resolve(message as TraceReport));
        worker.once(
          'exit',
          (code) => code !== 0 && reject(new Error(`trace worker ${i} exited ${code}`)),
        );
      });
      report.catch(() => undefined); // awaited below, unless the trace failed before
      const order: TraceOrder = {
        endpoints,
        namespace: 'bench-trace/',
        lockName: 'hot',
        waiters: Math.floor(waiters / processes) + (i < waiters % processes ? 1 : 0),
      };
      worker.send(order);
      return { ready, report };
    });
    await Promise.all(channels.map((c) => c.ready));
    const startAt = sharedNow() + 100;
    measureFrom = startAt + warmupMs;
    stopAt = measureFrom + seconds * 1000;
    const start: WorkerStart = { startAt, stopAt };
    for (const worker of workers) worker.send(start);
    reports = await Promise.all(channels.map((c) => c.report));
    await Promise.all(exited); // each exits once its report is sent
  } finally {
    for (const worker of workers) {
      if (worker.exitCode === null && worker.signalCode === null) worker.kill('SIGKILL');
    }
    await Promise.all(exited);
  }
  const errors = reports.flatMap((r) => r.errors);
  if (errors.length > 0) throw new Error(`trace: ${errors[0]}`);

  // Every grant with the report it came from, in grant order (FIFO: fencing-token order).
  const grants = reports
    .flatMap((report) => report.grants.map((grant) => ({ grant, report })))
    .sort((a, b) => (BigInt(a.grant.token) < BigInt(b.grant.token) ? -1 : 1));
  const samples = {
    releaseToDeleteAnswered: [] as number[],
    deleteAnsweredToEvent: [] as number[],
    deleteSentToEvent: [] as number[],
    eventToConfirmSent: [] as number[],
    eventToConfirmAnswered: [] as number[],
    confirmAnsweredToGrant: [] as number[],
    releaseToGrant: [] as number[],
  };
  let unmatched = 0;
  for (let i = 0; i + 1 < grants.length; i += 1) {
    const holder = grants[i];
    const next = grants[i + 1];
    if (holder.grant.releaseAt < measureFrom || next.grant.grantAt > stopAt) continue;
    const found = follow(holder.grant, holder.report, next.grant, next.report);
    if (found === undefined) {
      unmatched += 1;
      continue;
    }
    const [t0, t1, t2, t3, t4, t5, t6] = found;
    samples.releaseToDeleteAnswered.push(t2 - t0);
    samples.deleteAnsweredToEvent.push(t3 - t2);
    samples.deleteSentToEvent.push(t3 - t1);
    samples.eventToConfirmSent.push(t4 - t3);
    samples.eventToConfirmAnswered.push(t5 - t3);
    samples.confirmAnsweredToGrant.push(t6 - t5);
    samples.releaseToGrant.push(t6 - t0);
  }
  const segments = Object.fromEntries(
    Object.entries(samples).map(([name, values]) => [name, percentiles(values)]),
  ) as unknown as HandoffTrace['segments'];
  return {
    waiters,
    processes,
    seconds,
    handoffs: samples.releaseToGrant.length,
    unmatched,
    segments,
  };
}

/** t0…t6 of one handoff (see the top of the file), or `undefined` when one is missing. */
function follow(
  holder: TracedGrant,
  holderReport: TraceReport,
  next: TracedGrant,
  nextReport: TraceReport,
): readonly number[] | undefined {
  const deleted = holderReport.txns.find(
    (t) => t.kind === 'delete' && t.token === holder.token && t.sentAt >= holder.releaseAt,
  );
  if (deleted === undefined || !deleted.succeeded) return undefined;
  const event = nextReport.events.find(
    (e) => e.revision === deleted.revision && e.token === holder.token,
  );
  if (event === undefined) return undefined;
  const confirm = nextReport.txns.find(
    (t) => t.kind === 'confirm' && t.token === next.token && t.succeeded && t.sentAt >= event.at,
  );
  if (confirm === undefined) return undefined;
  return [
    holder.releaseAt,
    deleted.sentAt,
    deleted.answeredAt,
    event.at,
    confirm.sentAt,
    confirm.answeredAt,
    next.grantAt,
  ];
}
