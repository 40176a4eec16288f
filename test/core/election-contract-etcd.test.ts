// The election contract (election-contract.ts) against EtcdBackend, through LockClient, on a real
// etcd started by the harness.
import { after, before } from 'node:test';
import { Etcd3 } from 'etcd3';
import { LockClient } from '../../lib/core/index.js';
import { startEtcd, type EtcdCluster } from '../support/index.js';
import { electionContract } from './election-contract.js';

let etcd: EtcdCluster;
let inspector: Etcd3;
const namespace = 'elect-contract/';
before(async () => {
  etcd = await startEtcd();
  inspector = new Etcd3({ hosts: etcd.endpoints });
});
after(async () => {
  inspector?.close();
  await etcd?.stop();
});

electionContract('etcd', () => {
  const open = () => new LockClient({ endpoints: etcd.endpoints, namespace, ttl: 5 });
  return {
    open,
    openStandalone: open,
    candidatesOf: async (name) =>
      (await inspector.getAll().prefix(`${namespace}%election/${name}/`).keys()).length,
  };
});
