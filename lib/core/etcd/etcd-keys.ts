/**
 * Key layout of the lock queue in etcd: `<namespace><encoded name>/<lease hex>.<slot>`.
 * Names are encoded so no lock's queue prefix is a prefix of another's (`a/` never covers `a/b`'s
 * keys): `%` and `/` are percent-encoded, everything else is kept readable for `etcdctl`.
 * @internal
 */

/** The queue prefix of a lock: every key of that lock's queue starts with it. */
export function queuePrefix(namespace: string, name: string): Buffer {
  const encoded = name.replace(/%/g, '%25').replace(/\//g, '%2F');
  return Buffer.from(`${namespace}${encoded}/`);
}

/** The end of the range of keys that start with `prefix` (etcd's `range_end`). */
export function prefixRangeEnd(prefix: Buffer): Buffer {
  const end = Buffer.from(prefix);
  for (let i = end.length - 1; i >= 0; i -= 1) {
    if (end[i] < 0xff) {
      end[i] += 1;
      return end.subarray(0, i + 1);
    }
  }
  return Buffer.from([0]);
}

/**
 * A queue key: lease id in hex and a slot number, unique among the keys that exist at one time
 * (slots are reused once their key is deleted, see `KeySlots`).
 */
export function queueKey(prefix: Buffer, leaseHex: string, slot: number): Buffer {
  return Buffer.concat([prefix, Buffer.from(`${leaseHex}.${slot}`)]);
}
