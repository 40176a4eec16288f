import { ZZLockErrorCode } from '../core/errors/error-codes.js';
import { ZZLockError } from '../core/errors/zzlock.error.js';

/**
 * A command line the `zzlock` bin cannot run: an unknown command or flag, a missing or malformed
 * value, a file it cannot read. Found before any network call (exit code 2). Its message names the
 * flag and never shows a password, a key or a file's content. Its code is `ZZLOCK_CONFIG`, as for
 * every bad input.
 *
 * @example
 * new CliUsageError('--endpoints', 'give the etcd URLs').message;
 * // '--endpoints: give the etcd URLs. See zzlock --help.'
 */
export class CliUsageError extends ZZLockError {
  readonly code = ZZLockErrorCode.Config;

  /**
   * @param flag The flag (or `command`) that is wrong.
   * @param problem What is wrong and what is accepted, without the value when it may be a secret.
   */
  constructor(
    readonly flag: string,
    problem: string,
  ) {
    super(`${flag}: ${problem}. See zzlock --help.`);
  }
}
