import { ZZLockErrorCode } from './error-codes.js';
import { lockConfigMessage } from './messages.js';
import { ZZLockError } from './zzlock.error.js';

/**
 * A lock name, TTL, wait or module option is invalid. Thrown before any network call, naming the
 * option and the value that was given.
 */
export class LockConfigError extends ZZLockError {
  readonly code = ZZLockErrorCode.Config;

  /**
   * @param option The option or argument that is wrong (`name`, `ttl`, `waitMs`, `endpoints`…).
   * @param problem What is wrong with it and what is accepted.
   * @param value The value that was given.
   */
  constructor(
    readonly option: string,
    problem: string,
    readonly value?: unknown,
  ) {
    super(lockConfigMessage(option, problem, value));
  }
}
