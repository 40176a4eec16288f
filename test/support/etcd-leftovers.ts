import { Etcd3 } from 'etcd3';

/**
 * Keys under `namespace` and every lease of the cluster (ids in hex), read by a fresh client: what
 * a test checks after close() or shutdown.
 * @example
 * assert.deepEqual((await leftovers(etcd.endpoints, 'zzlock/')).keys, []);
 */
export async function leftovers(
  endpoints: string[],
  namespace: string,
): Promise<{ keys: string[]; leases: string[] }> {
  const client = new Etcd3({ hosts: endpoints });
  try {
    const keys = await client.getAll().prefix(namespace).keys();
    const { leases } = await client.leaseClient.leaseLeases({});
    return { keys, leases: leases.map(({ ID }) => BigInt(ID).toString(16)) };
  } finally {
    client.close();
  }
}
