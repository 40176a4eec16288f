/**
 * Real-etcd test harness: clusters on loopback with fault controls (the local etcd launcher of
 * `support/local-etcd/`, shared with the demo), and a TCP proxy to cut or stall one client's
 * connection.
 *
 * @example
 * import { startEtcdCluster, startTcpProxy } from '../support/index.js';
 */
export * from '../../support/local-etcd/index.js';
export { startTcpProxy, type TcpProxy, type TcpProxyMode } from './tcp-proxy.js';
export { waitFor } from './wait-for.js';
export { tracked } from './tracked.js';
export { leftovers } from './etcd-leftovers.js';
export { etcdForFile, killAll, type EtcdForFile, type EtcdForFileHooks } from './etcd-for-file.js';
export { createTestCertificates, type TestCertificates } from './test-certificates.js';
