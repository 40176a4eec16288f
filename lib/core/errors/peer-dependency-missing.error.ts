import { ZZLockErrorCode } from './error-codes.js';
import { peerDependencyMissingMessage } from './messages.js';
import { ZZLockError } from './zzlock.error.js';

/**
 * An entry of the package was loaded without the peer dependencies it needs: `require('zzlock')`
 * (the Nest entry) in a project without `@nestjs/common`, `@nestjs/core`, `reflect-metadata` or
 * `rxjs`. Those peers are optional so that `zzlock/core` installs without Nest; the message names
 * the missing ones and the entry to use instead.
 *
 * @example
 * try {
 *   require('zzlock');
 * } catch (error) {
 *   if (error.code === 'ZZLOCK_PEER_MISSING') console.error(error.missing); // ['@nestjs/core']
 * }
 */
export class PeerDependencyMissingError extends ZZLockError {
  readonly code = ZZLockErrorCode.PeerMissing;

  /**
   * @param entry The entry that was loaded (`'zzlock'`).
   * @param missing The peer dependencies it needs that could not be resolved.
   * @param instead What to do instead when they are not wanted (another entry), as a sentence.
   */
  constructor(
    readonly entry: string,
    readonly missing: readonly string[],
    instead?: string,
  ) {
    super(peerDependencyMissingMessage(entry, missing, instead));
  }
}
