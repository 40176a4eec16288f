// A request that reaches etcd late must not put back a key its acquisition no longer tracks. A soak
// found it: during a frozen member, an enqueue txn's attempt timed out, the etcd client retried it
// on another member (granted, released, deleted), and the first attempt was applied after the thaw
// and put the key back, on a lease the process kept alive: no acquisition knew of it, and it
// blocked its lock until the process died. Here one of two ways to the same etcd is stalled (its
// bytes wait in the proxy and are delivered when it is restored), so attempts through it reach
// etcd late; once every lock is released and the stalled bytes are delivered, etcd must be empty
// of queue keys while the lease lives on.
import assert from 'node:assert/strict';
import { setTimeout as delay } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { LockClient } from '../../lib/core/index.js';
import {
  leftovers,
  startEtcd,
  startTcpProxy,
  waitFor,
  type EtcdCluster,
  type TcpProxy,
} from '../support/index.js';

const namespace = 'late-txn/';

describe('a request delivered late', () => {
  let etcd: EtcdCluster;
  let stalled: TcpProxy;
  let healthy: TcpProxy;

  before(async () => {
    etcd = await startEtcd();
    stalled = await startTcpProxy(etcd.endpoints[0]);
    healthy = await startTcpProxy(etcd.endpoints[0]);
  });
  after(async () => {
    await stalled?.close();
    await healthy?.close();
    await etcd?.stop();
  });

  it('never puts back a queue key after its acquisition released it', async () => {
    const locks = new LockClient({
      endpoints: [stalled.endpoint, healthy.endpoint],
      namespace,
      ttl: 30, // the lease outlives the test: only a delete can remove a key put back late
      callTimeoutMs: 600,
    });
    try {
      // Warm both connections, then stall one: calls that pick it hang until their deadline.
      for (let i = 0; i < 4; i += 1) await (await locks.acquire(`warm-${i}`)).release();
      stalled.stall();
      const names = ['a', 'b', 'c', 'd', 'e', 'f'];
      for (let round = 0; round < 3; round += 1) {
        await Promise.all(
          names.map(async (name) => {
            const lock = await locks.acquire(name, { waitMs: 10_000 });
            await lock.release();
          }),
        );
      }
      const keysOf = async () =>
        (await leftovers(etcd.endpoints, namespace)).keys.filter((key) => !key.includes('warm'));
      // Every lock is released: a key still there now is one being swept, or put back.
      stalled.restore(); // the stalled attempts reach etcd now
      await delay(500);
      // A late attempt's key is deleted again by the sweep of uncertain txns (every 2 s).
      await waitFor('no queue key left', async () => (await keysOf()).length === 0, 6_000).catch(
        () => undefined,
      );
      assert.deepEqual(await keysOf(), [], 'keys put back by late requests, tracked by no one');
      // And they stay gone (nothing applies later still).
      await delay(2_500);
      assert.deepEqual(await keysOf(), []);
    } finally {
      await locks.close();
    }
  });
});
