// The "many locks" benchmark, in its own process (node --expose-gc): one LockClient acquires
// `count` distinct locks and holds them; reports time, heap per held lock, and what it costs etcd
// to keep them (leases, keepalive streams and messages while held).
import { Etcd3 } from 'etcd3';
import { LockClient, type LockHandle } from '../../lib/core/index.js';
import { readMessageCounts, messagesBetween } from './etcd-messages.js';

/** What the many-locks run measured. */
export interface ManyLocksResult {
  readonly locks: number;
  readonly ttlSeconds: number;
  readonly acquireSeconds: number;
  readonly releaseSeconds: number;
  readonly heapBytesPerLock: number;
  /** Leases etcd holds for the client while the locks are held. */
  readonly leases: number;
  /** Keepalive streams etcd saw opened during a hold of `heldSeconds`. */
  readonly keepaliveStreamsOpened: number;
  /** Keepalive streams open at the end of the hold (started − finished). */
  readonly keepaliveStreamsOpen: number;
  /** Messages of any kind between the client and etcd during the hold. */
  readonly messagesWhileHeld: number;
  readonly heldSeconds: number;
}

const [endpointList, countArg, ttlArg] = process.argv.slice(2);
const endpoints = endpointList.split(',');
const count = Number(countArg);
const ttlSeconds = Number(ttlArg);
const CONCURRENCY = 64;

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc');

/** Heap after two full collections. */
function settledHeap(): number {
  gc?.();
  gc?.();
  return process.memoryUsage().heapUsed;
}

/** Keepalive streams started and finished so far, summed over members. */
async function keepaliveStreams(): Promise<{ started: number; finished: number }> {
  let started = 0;
  let finished = 0;
  for (const endpoint of endpoints) {
    const text = await (await fetch(`${endpoint}/metrics`)).text();
    for (const line of text.split('\n')) {
      if (!line.includes('grpc_method="LeaseKeepAlive"')) continue;
      const value = Number(line.slice(line.lastIndexOf(' ') + 1));
      if (line.startsWith('grpc_server_started_total')) started += value;
      if (line.startsWith('grpc_server_handled_total')) finished += value;
    }
  }
  return { started, finished };
}

const locks = new LockClient({ endpoints, namespace: 'bench-many/', ttl: ttlSeconds });
await (await locks.acquire('warmup')).release();
const heapBefore = settledHeap();
const held: LockHandle[] = [];
const acquireStarted = performance.now();
let next = 0;
await Promise.all(
  Array.from({ length: CONCURRENCY }, async () => {
    while (next < count) held.push(await locks.acquire(`lock-${next++}`));
  }),
);
const acquireSeconds = (performance.now() - acquireStarted) / 1000;
const heapBytesPerLock = (settledHeap() - heapBefore) / count;

// Hold for one and a half TTL: every renewal the locks need happens in this window.
const heldSeconds = ttlSeconds * 1.5;
const streamsBefore = await keepaliveStreams();
const messagesBefore = await readMessageCounts(endpoints);
await new Promise((resolve) => setTimeout(resolve, heldSeconds * 1000));
const messages = messagesBetween(messagesBefore, await readMessageCounts(endpoints));
const streamsAfter = await keepaliveStreams();
const inspector = new Etcd3({ hosts: endpoints });
const leases = (await inspector.leaseClient.leaseLeases({})).leases.length;
inspector.close();

const releaseStarted = performance.now();
await Promise.all(held.map((lock) => lock.release()));
const releaseSeconds = (performance.now() - releaseStarted) / 1000;
await locks.close();

const result: ManyLocksResult = {
  locks: count,
  ttlSeconds,
  acquireSeconds,
  releaseSeconds,
  heapBytesPerLock,
  leases,
  keepaliveStreamsOpened: streamsAfter.started - streamsBefore.started,
  keepaliveStreamsOpen: streamsAfter.started - streamsAfter.finished,
  messagesWhileHeld: messages.toEtcd + messages.fromEtcd,
  heldSeconds,
};
process.stdout.write(`${JSON.stringify(result)}\n`);
