// A waiter that gives up while etcd cannot be reached must not leave its queue key behind: the
// key hangs on a lease this process keeps alive, so it would block the lock for every later
// waiter for as long as the process lives. Found by the chaos run (a leader kill left such a key
// at the head of a queue: every acquirer of that lock timed out until the run was stopped).
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';

import { LockClient, LockTimeoutError } from '../../lib/core/index.js';
import {
  leftovers,
  startEtcd,
  startTcpProxy,
  waitFor,
  type EtcdCluster,
} from '../support/index.js';

const namespace = 'abandoned/';
let etcd: EtcdCluster;
before(async () => {
  etcd = await startEtcd();
});
after(() => etcd?.stop());

it('deletes the key of a wait abandoned while etcd was unreachable once etcd is back', async () => {
  const proxy = await startTcpProxy(etcd.members[0].clientUrl);
  // TTL 10: the cut-off client's lease outlives the test, so only a delete can remove its key.
  const options = { namespace, ttl: 10 };
  const holderClient = new LockClient({ ...options, endpoints: etcd.endpoints });
  const cutClient = new LockClient({ ...options, endpoints: [proxy.endpoint], callTimeoutMs: 500 });
  const nextClient = new LockClient({ ...options, endpoints: etcd.endpoints });
  const failedCleanups: string[] = [];
  cutClient.observe({
    storeError: ({ operation }) => {
      if (operation === 'cleanup') failedCleanups.push(operation);
    },
  });
  try {
    const holder = await holderClient.acquire('q');
    const abandoned = cutClient.acquire('q', { waitMs: 1500 });
    await waitFor('the waiter to queue', async () => {
      return (await leftovers(etcd.endpoints, namespace)).keys.length === 2;
    });
    proxy.stall();
    await assert.rejects(abandoned, LockTimeoutError);
    await waitFor('the first delete of the abandoned key to fail', () => failedCleanups.length > 0);
    proxy.restore();

    await holder.release();
    const next = await nextClient.acquire('q', { waitMs: 5000 });
    assert.equal(cutClient.leaseStates()[0]?.lost, false, 'the cut-off client kept its lease');
    assert.deepEqual(
      (await leftovers(etcd.endpoints, namespace)).keys.length,
      1,
      'only the new holder’s key is queued',
    );
    await next.release();
  } finally {
    await Promise.all([holderClient.close(), cutClient.close(), nextClient.close()]);
    await proxy.close();
  }
});
