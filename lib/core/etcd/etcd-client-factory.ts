import { Etcd3, type IOptions } from 'etcd3';
import type { ResolvedClientOptions } from '../validation.js';

/**
 * Builds the etcd3 client zzlock uses: every unary call gets a gRPC deadline of
 * `callTimeoutMs` (streams — watches, keepalives — get none), TLS and auth as configured.
 * @internal
 */
export function createEtcdClient(options: ResolvedClientOptions): Etcd3 {
  const etcdOptions: IOptions = {
    hosts: options.endpoints,
    defaultCallOptions: (context) =>
      context.isStream ? {} : { deadline: Date.now() + options.callTimeoutMs },
  };
  if (options.auth) etcdOptions.auth = { ...options.auth };
  if (options.tls) {
    const pem = (value: string | Buffer | undefined) =>
      value === undefined ? undefined : Buffer.from(value);
    etcdOptions.credentials = {
      // etcd3 types the CA as required; gRPC falls back to the system roots when it is absent.
      rootCertificate: pem(options.tls.ca) as Buffer,
      privateKey: pem(options.tls.key),
      certChain: pem(options.tls.cert),
    };
  }
  return new Etcd3(etcdOptions);
}
