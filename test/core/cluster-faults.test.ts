// A 3-member cluster losing a member: killed leader, then each member frozen in turn. A held
// lock is neither lost nor doubled, releases go through, waiters are granted, new locks work.
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { Etcd3 } from 'etcd3';
import { setTimeout as delay } from 'node:timers/promises';
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

it('keeps held locks and grants new ones while the leader, then a follower, is frozen', async () => {
  // Well above a leader election (1–2 s with etcd's defaults, more on a loaded machine), during
  // which no keepalive can be confirmed; callTimeoutMs (5 s) likewise.
  const ttl = 5;
  const options = { endpoints: etcd.endpoints, namespace, ttl };
  const leader = await etcd.leader();
  const follower = etcd.members.find((member) => member !== leader)!;
  for (const member of [leader, follower]) {
    const holderClient = new LockClient(options);
    const waiterClient = new LockClient(options);
    try {
      const holder = await holderClient.acquire('frozen-member');
      const waiting = waiterClient.acquire('frozen-member', { waitMs: 20_000 });
      waiting.catch(() => undefined); // awaited below; a failure before that must not go unhandled
      await etcd.freeze(member);
      try {
        // Longer than the TTL: keepalives must reach etcd through the other members.
        await delay(ttl * 1000 + 500);
        assert.equal(holder.signal.aborted, false, `lock kept with ${member.name} frozen`);
        const other = await holderClient.acquire(`other-${member.name}`, { waitMs: 10_000 });
        await other.release();
        await holder.release();
        const next = await waiting;
        assert.ok(next.fencingToken > holder.fencingToken);
        await next.release();
      } finally {
        await etcd.thaw(member);
      }
    } finally {
      await Promise.all([holderClient.close(), waiterClient.close()]);
    }
  }
});

it('waiting acquires ride out a leader election: none fails while grants resume within its wait', async () => {
  const options = { endpoints: etcd.endpoints, namespace: 'ride-out/', ttl: 5 };
  const clients = [new LockClient(options), new LockClient(options), new LockClient(options)];
  let stop = false;
  const failures: string[] = [];
  let granted = 0;
  const loop = async (client: LockClient) => {
    while (!stop) {
      try {
        const lock = await client.acquire('ride-out', { waitMs: 10_000 });
        granted += 1;
        await delay(2);
        await lock.release();
      } catch (error) {
        failures.push(String(error));
      }
    }
  };
  try {
    const loops = clients.map(loop);
    await delay(1_000);
    const leader = await etcd.leader();
    await etcd.kill(leader);
    const grantedAtKill = granted;
    await etcd.leader(); // a new one is elected
    await delay(2_000);
    await etcd.restart(leader);
    stop = true;
    await Promise.all(loops);
    assert.ok(granted > grantedAtKill, 'grants resumed after the kill');
    assert.deepEqual(failures, [], `${failures.length} of ${granted + failures.length} failed`);
  } finally {
    stop = true;
    await Promise.all(clients.map((client) => client.close()));
  }
});
