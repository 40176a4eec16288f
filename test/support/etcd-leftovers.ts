import { Etcd3, type IOptions } from 'etcd3';

/**
 * Keys under `namespace` and every lease of the cluster (ids in hex), read by a fresh client: what
 * a test checks after close() or shutdown. `connection` adds etcd3 options (`auth`, `credentials`)
 * for an etcd with authentication or TLS.
 * @example
 * assert.deepEqual((await leftovers(etcd.endpoints, 'zzlock/')).keys, []);
 * @example
 * await leftovers(etcd.endpoints, 'zzlock/', { auth: { username: 'root', password } });
 * @default connection {} (plain connection)
 */
export async function leftovers(
  endpoints: string[],
  namespace: string,
  connection: Omit<IOptions, 'hosts'> = {},
): Promise<{ keys: string[]; leases: string[] }> {
  const client = new Etcd3({ ...connection, hosts: endpoints });
  try {
    const keys = await client.getAll().prefix(namespace).keys();
    const { leases } = await client.leaseClient.leaseLeases({});
    return { keys, leases: leases.map(({ ID }) => BigInt(ID).toString(16)) };
  } finally {
    client.close();
  }
}
