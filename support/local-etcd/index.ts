/**
 * A local etcd for development: throwaway etcd processes (one member or a cluster) on loopback
 * ports, with fault controls (kill, restart, freeze, thaw), and free-port helpers. Used by the test
 * harness (`test/support/`, which the bench and chaos runs use too) and the demo
 * (`sample-app/demo/`); never by the library.
 *
 * @example
 * import { startEtcdCluster } from '../../support/local-etcd/index.js';
 * await using etcd = await startEtcdCluster({ members: 3 });
 */
export {
  startEtcd,
  startEtcdCluster,
  type EtcdCluster,
  type EtcdClusterOptions,
  type EtcdServerTlsOptions,
  type EtcdMember,
} from './etcd-cluster.js';
export { fetchMemberStatus, isMemberHealthy, type EtcdMemberStatus } from './etcd-http.js';
export { getFreePort, getFreePorts, LOOPBACK_HOST } from './free-port.js';
