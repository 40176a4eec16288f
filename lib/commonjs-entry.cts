/**
 * `require('zzlock')`, the entry of CommonJS apps (Nest 11): it checks that the Nest peers are
 * installed, then returns the ES module entry (`index.js`) through Node's `require(esm)` (Node
 * 20.19+, 22.12+), so CommonJS and ESM code in one app share one copy of every class and token.
 *
 * The peers are optional (plain Node needs only `zzlock/core`), so a project can lack them; an ES
 * module import of `zzlock` then fails in Node's loader, naming the first missing package, before
 * any of zzlock's code runs. Here, before loading anything, it fails with every missing peer named
 * and the entry to use instead.
 * @packageDocumentation
 */
import { PeerDependencyMissingError } from './core/errors/index.js';

/** The peers the Nest entry imports (package.json lists them, all optional). */
const NEST_ENTRY_PEERS = ['@nestjs/common', '@nestjs/core', 'reflect-metadata', 'rxjs'];

const resolvable = (peer: string): boolean => {
  try {
    require.resolve(peer);
    return true;
  } catch {
    return false;
  }
};

const missing = NEST_ENTRY_PEERS.filter((peer) => !resolvable(peer));
if (missing.length > 0) {
  throw new PeerDependencyMissingError(
    'zzlock',
    missing,
    "Without Nest, use 'zzlock/core' (LockClient), which needs none of them.",
  );
}

// The one require of an ES module this entry exists for (require(esm)).
// eslint-disable-next-line @typescript-eslint/no-require-imports
import zzlock = require('./index.js');
export = zzlock;
