// MEASUREMENT ONLY. A worker of the handoff trace (handoff-trace.ts): like contended-worker.ts,
// `waiters` zzlock acquire → release loops on one lock, but this process also times, from the
// outside of zzlock, every etcd txn its client sends and every watch response it receives, by
// wrapping etcd3's KVClient.prototype.txn and Watcher.prototype.emit in this process (as
// test/core/fixtures/paused-waiter.ts does). Nothing in lib/ is changed or used differently.
// Started by handoff-trace.ts with fork(); sends 'ready', then its TraceReport.
import { setMaxListeners } from 'node:events';
import { KVClient, Watcher, type IKeyValue } from 'etcd3';
import { createContender } from './contenders.js';
import type { WorkerStart } from './contended-worker.js';
import { sharedNow } from './stats.js';

/** What the trace asks of one worker. */
export interface TraceOrder {
  readonly endpoints: readonly string[];
  readonly namespace: string;
  readonly lockName: string;
  readonly waiters: number;
}

/** One grant of this worker, on the shared clock (ms). */
export interface TracedGrant {
  /** Fencing token (create revision of the key), decimal. */
  readonly token: string;
  /** When acquire() resolved. */
  readonly grantAt: number;
  /** When release() was called, and when it returned. */
  readonly releaseAt: number;
  readonly releasedAt: number;
}

/** A txn this worker's client sent: when, when answered, and what it was. */
export interface TracedTxn {
  /** `delete`: a delete of the key created at `token`; `confirm`: a confirm read of it. */
  readonly kind: 'delete' | 'confirm';
  readonly token: string;
  readonly sentAt: number;
  readonly answeredAt: number;
  /** Revision of etcd's answer (for a delete that took place: the delete's revision). */
  readonly revision: string;
  /** The delete took place / the confirm found no older key (the waiter is next). */
  readonly succeeded: boolean;
}

/** A delete event this worker's watch delivered. */
export interface TracedEvent {
  /** Revision of the delete. */
  readonly revision: string;
  /** Create revision of the deleted key (its token). */
  readonly token: string;
  readonly at: number;
}

/** A worker's report. */
export interface TraceReport {
  readonly grants: TracedGrant[];
  readonly txns: TracedTxn[];
  readonly events: TracedEvent[];
  readonly errors: string[];
}

const txns: TracedTxn[] = [];
const events: TracedEvent[] = [];

// --- measurement-only interception --------------------------------------------------------------
type TxnRequest = Parameters<KVClient['txn']>[0];
/** The queue protocol's txns, told apart by shape (see lib/core/etcd/queue-txns.ts). */
function kindOf(request: TxnRequest): TracedTxn['kind'] | undefined {
  const first = request.success?.[0];
  if (first?.request_delete_range !== undefined && request.compare?.length === 1) return 'delete';
  const range = first?.request_range;
  // A confirm reads (the blockers older than our key, then the queue's head) and writes nothing.
  const writes = request.success?.some((op) => op.request_put !== undefined) ?? false;
  if (range?.max_create_revision !== undefined && !writes) return 'confirm';
  return undefined;
}
const txn = KVClient.prototype.txn;
KVClient.prototype.txn = async function (this: KVClient, ...args: Parameters<typeof txn>) {
  const [request] = args;
  const kind = kindOf(request);
  const sentAt = sharedNow();
  const response = await txn.apply(this, args);
  if (kind !== undefined) {
    const token = String(request.compare?.[0]?.create_revision);
    const confirmedNext =
      kind === 'delete' ||
      (response.succeeded && response.responses[0]?.response_range.kvs.length === 0);
    txns.push({
      kind,
      token,
      sentAt,
      answeredAt: sharedNow(),
      revision: String(response.header.revision),
      succeeded: response.succeeded && confirmedNext,
    });
  }
  return response;
};
const emit = Watcher.prototype.emit;
Watcher.prototype.emit = function (this: Watcher, event: string | symbol, ...rest: unknown[]) {
  if (event === 'data') {
    const at = sharedNow();
    const response = rest[0] as {
      events?: Array<{ type: string; kv: IKeyValue; prev_kv?: IKeyValue }>;
    };
    for (const change of response.events ?? []) {
      if (change.type !== 'Delete' || !change.prev_kv) continue;
      events.push({
        revision: String(change.kv.mod_revision),
        token: String(change.prev_kv.create_revision),
        at,
      });
    }
  }
  return emit.call(this, event, ...rest);
};
// -------------------------------------------------------------------------------------------------

// The same exchange as contended-worker.ts: order → 'ready' (warmed up) → start → report.
process.once('message', (order: TraceOrder) => void run(order));

async function run(order: TraceOrder): Promise<void> {
  const contender = createContender('zzlock', order.endpoints, order.namespace);
  await contender.warmUp();
  const started = new Promise<WorkerStart>((resolve) => process.once('message', resolve));
  process.send?.('ready');
  const { startAt, stopAt } = await started;
  const stop = new AbortController();
  setMaxListeners(0, stop.signal);
  const grants: TracedGrant[] = [];
  const errors: string[] = [];
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, startAt - sharedNow())));
  const stopTimer = setTimeout(() => stop.abort(), Math.max(0, stopAt - sharedNow()));
  const loop = async () => {
    while (!stop.signal.aborted) {
      let lock;
      try {
        lock = await contender.acquire(order.lockName, stop.signal);
      } catch (error) {
        if (!stop.signal.aborted) errors.push(String(error));
        return;
      }
      const grantAt = sharedNow();
      const releaseAt = sharedNow();
      await lock.release();
      grants.push({
        token: String(lock.token),
        grantAt,
        releaseAt,
        releasedAt: sharedNow(),
      });
    }
  };
  await Promise.all(Array.from({ length: order.waiters }, loop));
  clearTimeout(stopTimer);
  await contender.close();
  const report: TraceReport = { grants, txns, events, errors };
  process.send?.(report, () => process.exit(0));
}
