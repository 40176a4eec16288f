import { debuglog } from 'node:util';

const log = debuglog('zzlock');

/**
 * Traces the life of queue keys (placed, written, granted, deleted, freed) to stderr when Node
 * runs with `NODE_DEBUG=zzlock`: how a key left behind in etcd, or a name reused too early, can
 * be found after the fact. Costs one flag check when off: the line is built only when on.
 * @internal
 */
export function traceKey(line: () => string): void {
  if (log.enabled) log(line());
}
