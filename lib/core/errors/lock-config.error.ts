import { ZZLockErrorCode } from './error-codes.js';
import { lockConfigMessage } from './messages.js';
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
   * @default path option
   */
  constructor(
    readonly option: string,
    problem: string,
    value?: unknown,
    path: string = option,
  ) {
    const secret = isSecretPath(option) || isSecretPath(path);
    super(lockConfigMessage(option, problem, value, secret));
    this.value = redact(value, secret);
  }
}
