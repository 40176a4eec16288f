// A 3-member cluster losing its leader while a lock is held and another client waits: the lock
// stays exclusive, the release goes through after the election, and the waiter is granted.
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { Etcd3 } from 'etcd3';
import { LockClient } from '../../lib/core/index.js';
import { startEtcdCluster, type EtcdCluster } from '../support/index.js';

const namespace = 'cluster/';
let etcd: EtcdCluster;
before(async () => {
  etcd = await startEtcdCluster({ members: 3 });
});
after(() => etcd?.stop());

it('keeps the lock exclusive and hands it over across a leader failure', async () => {
  const options = { endpoints: etcd.endpoints, namespace, ttl: 5 };
  const first = new LockClient(options);
  const second = new LockClient(options);
  try {
    const holder = await first.acquire('failover');
    const waiting = second.acquire('failover', { waitMs: 30_000 });
    assert.equal(await second.tryAcquire('failover'), null, 'held');

    const leader = await etcd.leader();
    await etcd.kill(leader);
    const newLeader = await etcd.leader();
    assert.notEqual(newLeader.name, leader.name);
    assert.equal(holder.signal.aborted, false, 'the holder keeps its lock through the election');

    await holder.release();
    const next = await waiting;
    assert.ok(next.fencingToken > holder.fencingToken);
    await next.release();

    await etcd.restart(leader);
    const after = await first.acquire('failover', { waitMs: 10_000 });
    await after.release();
  } finally {
    await Promise.all([first.close(), second.close()]);
  }
  const inspector = new Etcd3({ hosts: etcd.endpoints });
  try {
    assert.deepEqual(await inspector.getAll().prefix(namespace).keys(), []);
  } finally {
    inspector.close();
  }
});
