/**
 * What the chaos run shows about a stall while it lasts: when no worker has been granted anything
 * for longer than a limit, one snapshot of every worker (open grants, failed acquires, failed etcd
 * calls) and of every queue key in etcd (name, create revision, lease, owner). A stall that ends
 * by itself leaves no trace in etcd afterwards, so the snapshot is taken during it. At most one per
 * stall; polling ends with the run.
 */
import { Etcd3 } from 'etcd3';

import { chaosClockMs, type GrantRecord } from './chaos-history.js';

/** What the snapshot needs from the run. */
export interface StallSources {
  /** Grants so far. */
  readonly grants: () => readonly GrantRecord[];
  /** One line per worker. */
  readonly workers: () => string[];
  /** The etcd members to read the queues from. */
  readonly endpoints: readonly string[];
  /** The run's key namespace. */
  readonly namespace: string;
  /** Where lines go. */
  readonly log: (line: string) => void;
  /** When the run started, for times relative to it. */
  readonly startedAt: number;
}

/**
 * Polls every second; logs a snapshot once whenever no grant has come for `limitMs`.
 * @returns Stops the polling.
 * @example
 * const stop = watchForStalls(sources, 6000); … stop();
 */
export function watchForStalls(sources: StallSources, limitMs: number): () => void {
  let snappedFor: number | undefined;
  let busy = false;
  const timer = setInterval(() => {
    if (busy) return;
    const lastGrant = Math.max(sources.startedAt, ...sources.grants().map((g) => g.grantedAt));
    if (chaosClockMs() - lastGrant <= limitMs || snappedFor === lastGrant) return;
    snappedFor = lastGrant;
    busy = true;
    void snapshot(sources, lastGrant).finally(() => (busy = false));
  }, 1000);
  timer.unref();
  return () => clearInterval(timer);
}

async function snapshot(sources: StallSources, lastGrant: number): Promise<void> {
  const { log, startedAt } = sources;
  const since = (at: number) => `${Math.round(at - startedAt)} ms`;
  log(`[chaos] STALL at ${since(chaosClockMs())} into the run: no grant since ${since(lastGrant)}`);
  for (const line of sources.workers()) log(`[chaos]   ${line}`);
  for (const line of await describeQueues(sources.endpoints, sources.namespace)) {
    log(`[chaos]   ${line}`);
  }
}

/**
 * Every key under `namespace`, oldest first: name, create revision, lease, owner.
 * @example
 * for (const line of await describeQueues(cluster.endpoints, 'chaos/')) console.log(line);
 */
export async function describeQueues(
  endpoints: readonly string[],
  namespace: string,
): Promise<string[]> {
  const client = new Etcd3({ hosts: [...endpoints] });
  try {
    const response = await client.kv.range({
      key: Buffer.from(namespace),
      range_end: Buffer.from(prefixEnd(namespace)),
      sort_target: 'Create',
      sort_order: 'Ascend',
    });
    return response.kvs.map(
      (kv) =>
        `key ${kv.key.toString()} create ${kv.create_revision} lease ${BigInt(kv.lease).toString(16)} owner ${kv.value.toString()}`,
    );
  } catch (error) {
    return [`queues unreadable: ${String(error)}`];
  } finally {
    client.close();
  }
}

function prefixEnd(prefix: string): string {
  return prefix.slice(0, -1) + String.fromCharCode(prefix.charCodeAt(prefix.length - 1) + 1);
}
