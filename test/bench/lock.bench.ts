// zzlock benchmark (npm run bench): against a real etcd started by the harness, measures
//   1. uncontended acquire + release latency,
//   2. contended handoffs per second between clients competing for one lock,
//   3. a handoff trace: time from a holder's release() to the next grant, to show handoff is
//      event-driven (no ~100 ms steps from etcd's unsynced-watcher loop).
// Speed targets live here, never in tests. Env: BENCH_SECONDS (default 5), BENCH_CLUSTER=1 for 3 members.
import { LockClient } from '../../lib/core/index.js';
import { startEtcd, startEtcdCluster } from '../support/index.js';

const seconds = Number(process.env.BENCH_SECONDS ?? 5);
const etcd =
  process.env.BENCH_CLUSTER === '1' ? await startEtcdCluster({ members: 3 }) : await startEtcd();

/** Speed targets on a 2-core machine with etcd on local disk; the bench exits 1 when one is missed. */
const TARGETS = {
  uncontendedP50Ms: 10,
  handoffsPerSecond: 100,
  slowHandoffShare: 0.01, // share of handoffs taking ≥ 50 ms (etcd's unsynced-watcher loop is 100 ms)
};
const missed: string[] = [];
const target = (ok: boolean, what: string) => {
  console.log(`  target ${ok ? 'met' : 'MISSED'}: ${what}`);
  if (!ok) missed.push(what);
};

const quantile = (sorted: number[], q: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
const summary = (samples: number[]) => {
  const sorted = [...samples].sort((a, b) => a - b);
  return `p50 ${quantile(sorted, 0.5).toFixed(2)} ms, p99 ${quantile(sorted, 0.99).toFixed(2)} ms, max ${sorted.at(-1)!.toFixed(2)} ms (n=${sorted.length})`;
};

try {
  const options = { endpoints: etcd.endpoints, namespace: 'bench/' };
  const solo = new LockClient(options);
  await (await solo.acquire('warmup')).release();

  // 1. Uncontended.
  const uncontended: number[] = [];
  for (const stopAt = performance.now() + seconds * 1000; performance.now() < stopAt;) {
    const startedAt = performance.now();
    const lock = await solo.acquire('solo');
    await lock.release();
    uncontended.push(performance.now() - startedAt);
  }
  console.log(`uncontended acquire+release: ${summary(uncontended)}`);
  const uncontendedP50 = quantile(
    [...uncontended].sort((a, b) => a - b),
    0.5,
  );
  target(
    uncontendedP50 <= TARGETS.uncontendedP50Ms,
    `uncontended p50 ≤ ${TARGETS.uncontendedP50Ms} ms`,
  );
  await solo.close();

  // 2 + 3. Contended: 4 clients (separate connections and watches, as separate processes would
  // have), 2 acquirers each, all on one lock. Each holder notes when it starts releasing; the
  // next grant measures the handoff from there.
  const clients = Array.from({ length: 4 }, () => new LockClient(options));
  const handoffs: number[] = [];
  let releasedAt = 0;
  let grants = 0;
  const stopAt = performance.now() + seconds * 1000;
  const worker = async (client: LockClient) => {
    while (performance.now() < stopAt) {
      const lock = await client.acquire('hot', { waitMs: 30_000 });
      if (releasedAt > 0) handoffs.push(performance.now() - releasedAt);
      grants += 1;
      releasedAt = performance.now();
      await lock.release();
    }
  };
  const startedAt = performance.now();
  await Promise.all(clients.flatMap((client) => [worker(client), worker(client)]));
  const elapsedS = (performance.now() - startedAt) / 1000;
  console.log(
    `contended handoffs/s: ${(grants / elapsedS).toFixed(0)} (${grants} grants in ${elapsedS.toFixed(1)} s, 8 acquirers on 4 clients)`,
  );
  console.log(`handoff release→next grant: ${summary(handoffs)}`);
  target(
    grants / elapsedS >= TARGETS.handoffsPerSecond,
    `≥ ${TARGETS.handoffsPerSecond} handoffs/s`,
  );
  const slow = handoffs.filter((ms) => ms >= 50).length;
  console.log(
    `handoffs ≥ 50 ms: ${slow} of ${handoffs.length} (${((100 * slow) / handoffs.length).toFixed(2)} %)`,
  );
  target(
    slow <= TARGETS.slowHandoffShare * handoffs.length,
    `≤ ${TARGETS.slowHandoffShare * 100} % of handoffs ≥ 50 ms`,
  );
  await Promise.all(clients.map((client) => client.close()));
} finally {
  await etcd.stop();
}
if (missed.length > 0) {
  console.error(`bench: ${missed.length} target(s) missed: ${missed.join('; ')}`);
  process.exitCode = 1;
}
