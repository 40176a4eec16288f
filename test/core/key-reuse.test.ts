// Queue keys are reused, so etcd's key index under a lock's prefix stays bounded: a fresh key
// name per acquisition leaves a dead key per acquisition until etcd compacts, and every queue
// read walks them all.
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { Etcd3 } from 'etcd3';
import { LockClient } from '../../lib/core/index.js';
import { startEtcd, waitFor, type EtcdCluster } from '../support/index.js';

const namespace = 'reuse/';
let etcd: EtcdCluster;
before(async () => {
  etcd = await startEtcd();
});
after(() => etcd?.stop());

it('reuses queue key names across acquisitions, one name per concurrent holder or waiter', async () => {
  const inspector = new Etcd3({ hosts: etcd.endpoints });
  const locks = new LockClient({ endpoints: etcd.endpoints, namespace });
  const written = new Set<string>();
  const watcher = await inspector.watch().prefix(`${namespace}hot/`).create();
  watcher.on('put', (kv) => written.add(kv.key.toString()));
  try {
    for (let i = 0; i < 20; i += 1) await (await locks.acquire('hot')).release();
    // Two at a time from one client: two names, reused.
    for (let i = 0; i < 10; i += 1) {
      const first = await locks.acquire('hot');
      const second = locks.acquire('hot', { waitMs: 5_000 });
      await first.release();
      await (await second).release();
    }
    await waitFor(
      'every key to be deleted',
      async () => (await inspector.getAll().prefix(namespace).keys()).length === 0,
    );
    assert.equal(written.size, 2, `key names written: ${[...written].join(', ')}`);
  } finally {
    await watcher.cancel();
    await locks.close();
    inspector.close();
  }
});
