import { ZZLockErrorCode } from './error-codes.js';
import {
  exclusiveInsideSharedProblem,
  lockConfigMessage,
  permitsMismatchProblem,
} from './messages.js';
import { isSecretPath, redact } from './redaction.js';
import { ZZLockError } from './zzlock.error.js';

/**
 * A lock name, TTL, wait or module option is invalid. Thrown before any network call, naming the
 * option and the value that was given, except what must not be echoed: a value under a
 * secret-looking key (`password`, `token`, `tls.key`, anything under `auth`…), binary data (a
 * Buffer is described as "a Buffer of N bytes") and the credentials of a URL.
 *
 * @example
 * try {
 *   new LockClient({ endpoints, namepsace: 'shop/' } as LockClientOptions);
 * } catch (error) {
 *   if (error instanceof LockConfigError) console.error(error.option); // 'namepsace'
 * }
 */
export class LockConfigError extends ZZLockError {
  readonly code = ZZLockErrorCode.Config;
  /**
   * The value that was given, with secrets left out: `undefined` when the whole value is a secret
   * or binary data; inside arrays and plain objects, such values are replaced by a description in
   * brackets (`'[a Buffer of 1200 bytes]'`), and URLs lose their credentials.
   */
  readonly value?: unknown;

  /**
   * @param option The option or argument that is wrong (`name`, `ttl`, `waitMs`, `endpoints`…).
   * @param problem What is wrong with it and what is accepted.
   * @param value The value that was given.
   * @param path Where the value sat, as a dotted path (`auth.pw`), when `option` alone does not
   *   say: a secret-looking segment in it or in `option` keeps the value out of the error.
   * @param lockName The lock the option was given for, when the problem is about that lock (its
   *   holders disagree), not about the value alone; set as `lockName`.
   * @default path option
   */
  constructor(
    readonly option: string,
    problem: string,
    value?: unknown,
    path: string = option,
    lockName?: string,
  ) {
    const secret = isSecretPath(option) || isSecretPath(path);
    super(lockConfigMessage(option, problem, value, secret), lockName);
    this.value = redact(value, secret);
  }

  /**
   * The error of a request whose `permits` differ from those the lock is held (or queued) with:
   * every holder of a name must agree, a mutex and a shared lock counting as 1. A backend throws
   * it instead of queueing the request (which would admit more holders than either side expects),
   * and so does a re-entrant acquire with other permits than its call chain holds.
   * @param lockName The lock.
   * @param heldPermits The permits the lock is held with (1 for exclusive or shared).
   * @param requestedPermits The permits this request asked for (1 for exclusive or shared).
   * @example
   * throw LockConfigError.permitsMismatch('export', 3, 2);
   * // option 'permits', value 2, lockName 'export'; the message names both 3 and 2
   */
  static permitsMismatch(
    lockName: string,
    heldPermits: number,
    requestedPermits: number,
  ): LockConfigError {
    return new LockConfigError(
      'permits',
      permitsMismatchProblem(lockName, heldPermits, requestedPermits),
      requestedPermits,
      'permits',
      lockName,
    );
  }

  /**
   * The error of an exclusive acquire inside a call chain that holds the same lock shared: it
   * would queue behind its own shared hold and never be granted, so it fails at once instead.
   * @param lockName The lock.
   * @example
   * throw LockConfigError.exclusiveInsideShared('catalog'); // option 'shared', value false
   */
  static exclusiveInsideShared(lockName: string): LockConfigError {
    return new LockConfigError(
      'shared',
      exclusiveInsideSharedProblem(lockName),
      false,
      'shared',
      lockName,
    );
  }
}
