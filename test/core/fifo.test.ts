// Fairness without a herd: waiters from several clients are granted in arrival order, each waiter
// watches only the key just ahead of it (no client hears of handoffs that are not its own), and a
// release wakes only the next waiter: a cascade of K grants costs about K queue reads, not K²/2.
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { Etcd3 } from 'etcd3';
import { LockClient, type LockHandle } from '../../lib/core/index.js';
import { startEtcd, waitFor, type EtcdCluster } from '../support/index.js';

const namespace = 'fifo/';
let etcd: EtcdCluster;
before(async () => {
  etcd = await startEtcd();
});
after(() => etcd?.stop());

/** Reads counters and gauges from the member's Prometheus endpoint. */
async function etcdMetric(pattern: RegExp): Promise<number> {
  const text = await (await fetch(`${etcd.endpoints[0]}/metrics`)).text();
  return text
    .split('\n')
    .filter((line) => pattern.test(line))
    .reduce((sum, line) => sum + Number(line.slice(line.lastIndexOf(' ') + 1)), 0);
}

const txnCount = () => etcdMetric(/^grpc_server_handled_total\{.*grpc_method="Txn".*\}/);
const watcherCount = () => etcdMetric(/^etcd_debugging_mvcc_watcher_total /);

it('grants in arrival order across clients, each waiter watching the key ahead, no herd', async () => {
  const inspector = new Etcd3({ hosts: etcd.endpoints });
  const holderClient = new LockClient({ endpoints: etcd.endpoints, namespace });
  const clients = [0, 1].map(() => new LockClient({ endpoints: etcd.endpoints, namespace }));
  try {
    const holder = await holderClient.acquire('queue');
    const WAITERS = 8;
    const granted: number[] = [];
    const tokens: bigint[] = [];
    const waiting: Promise<void>[] = [];
    for (let i = 0; i < WAITERS; i += 1) {
      const client = clients[i % 2];
      waiting.push(
        client.acquire('queue', { waitMs: 30_000 }).then(async (lock: LockHandle) => {
          granted.push(i);
          tokens.push(lock.fencingToken);
          await lock.release();
        }),
      );
      // Arrival order is queue order: wait until this waiter's key is in etcd.
      for (
        let polls = 0;
        (await inspector.getAll().prefix(`${namespace}queue/`).keys()).length < i + 2;
        polls += 1
      ) {
        assert.ok(polls < 500, 'waiter did not queue');
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    }
    // Each waiter watches the key just ahead of it, and nothing else: no prefix watch that would
    // tell every client of every handoff.
    await waitFor(
      'every waiter to watch the key ahead of it',
      async () => (await watcherCount()) === WAITERS,
    );

    const txnsBefore = await txnCount();
    await holder.release();
    await Promise.all(waiting);
    const cascadeTxns = (await txnCount()) - txnsBefore;

    assert.deepEqual(granted, [...Array(WAITERS).keys()], 'granted in arrival order');
    for (let i = 1; i < tokens.length; i += 1) assert.ok(tokens[i] > tokens[i - 1]);
    // A release is one txn (a delete that compares the key's create revision): the holder's and
    // the 8 waiters'. Each grant after waiting costs one read (which also confirms the key is
    // still there). A herd would wake every remaining waiter on every release: 8+7+…+1 = 36 reads.
    const releases = WAITERS + 1;
    const reads = cascadeTxns - releases;
    assert.ok(
      reads <= WAITERS + 2,
      `${reads} queue reads (${cascadeTxns} txns) for ${WAITERS} handoffs`,
    );
  } finally {
    await Promise.all([holderClient.close(), ...clients.map((client) => client.close())]);
    inspector.close();
  }
});
