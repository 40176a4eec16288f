/**
 * Key layout of the lock queue in etcd: `<namespace><encoded name>/<lease hex>.<slot>`.
 * Names are encoded so no lock's queue prefix is a prefix of another's (`a/` never covers `a/b`'s
 * keys): `%` and `/` are percent-encoded, everything else is kept readable for `etcdctl`.
 * @internal
 */

/** A name with `%` and `/` percent-encoded: it contains no `/`, and no `%` but `%25` and `%2F`. */
function encodeName(name: string): string {
  return name.replace(/%/g, '%25').replace(/\//g, '%2F');
}

/** The queue prefix of a lock: every key of that lock's queue starts with it. */
export function queuePrefix(namespace: string, name: string): Buffer {
  return Buffer.from(`${namespace}${encodeName(name)}/`);
}

/**
 * Where the elections of a namespace live: `<namespace>%election/`. No lock's encoded name is
 * `%election` (an encoded name's `%` is always followed by `25` or `2F`), so no lock's queue
 * prefix covers an election's keys, nor an election's prefix a lock's: a lock and an election of
 * the same name never share a queue.
 */
export const ELECTION_SEGMENT = '%election/';

/**
 * The queue prefix of an election: `<namespace>%election/<encoded name>/`, which is etcd's own
 * `Election` prefix for the name `<namespace>%election/<encoded name>` (`etcdctl elect` joins
 * it under that name). Encoded like a lock name, so that elections never nest either.
 */
export function electionPrefix(namespace: string, name: string): Buffer {
  return Buffer.from(`${namespace}${ELECTION_SEGMENT}${encodeName(name)}/`);
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
