// The lock contract (lock-contract.ts) against EtcdBackend, through LockClient, on a real etcd
// started by the harness.
import { LockClient } from '../../lib/core/index.js';
import { etcdForFile } from '../support/index.js';
import { contract } from './lock-contract.js';

const store = etcdForFile();
const namespace = 'contract/';

contract('etcd', () => {
  const open = () => new LockClient({ endpoints: store.etcd.endpoints, namespace, ttl: 5 });
  return {
    open,
    openStandalone: open,
    keysOf: async (name) =>
      (await store.inspector.getAll().prefix(`${namespace}${name}/`).keys()).length,
  };
});
