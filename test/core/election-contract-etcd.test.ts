// The election contract (election-contract.ts) against EtcdBackend, through LockClient, on a real
// etcd started by the harness.
import { LockClient } from '../../lib/core/index.js';
import { etcdForFile } from '../support/index.js';
import { electionContract } from './election-contract.js';

const store = etcdForFile();
const namespace = 'elect-contract/';

electionContract('etcd', () => {
  const open = () => new LockClient({ endpoints: store.etcd.endpoints, namespace, ttl: 5 });
  return {
    open,
    openStandalone: open,
    candidatesOf: async (name) =>
      (await store.inspector.getAll().prefix(`${namespace}%election/${name}/`).keys()).length,
  };
});
