/**
 * Real-etcd test harness: clusters on loopback with fault controls, and a TCP proxy to cut or
 * stall one client's connection.
 *
 * @example
 * import { startEtcdCluster, startTcpProxy } from '../support/index.js';
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
export { startTcpProxy, type TcpProxy, type TcpProxyMode } from './tcp-proxy.js';
export { waitFor } from './wait-for.js';
export { leftovers } from './etcd-leftovers.js';
export { createTestCertificates, type TestCertificates } from './test-certificates.js';
