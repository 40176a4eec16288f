/**
 * What an error may show of a value it was given: never a secret, never binary data, never the
 * credentials of a URL. {@link LockConfigError} keeps {@link redact}'s copy on `value`, and its
 * message shows the same through {@link hiddenKind} and {@link safeJsonReplacer}.
 * @internal
 */

/**
 * A key (or one segment of a dotted path) that names a secret. Deliberately broad: a false alarm
 * hides a harmless value from an error message, a miss prints a password.
 */
const SECRET_KEY = /pass|pwd|secret|token|key|credential|auth|cookie|private|session|signature/i;

/** `scheme://user:password@` at the start of a URL anywhere in a string. */
const URL_USERINFO = /\b([a-z][a-z0-9+.-]*:\/\/)[^/?#\s@]*@/gi;

/**
 * True when a key or a dotted path (`tls.key`, `auth.pw`) names a secret, in any segment, in any
 * case.
 * @internal
 * @example
 * isSecretPath('tls.privateKey'); // true
 * isSecretPath('namespace'); // false
 */
export function isSecretPath(path: string): boolean {
  return path.split('.').some((segment) => SECRET_KEY.test(segment));
}

/**
 * `value` without the user and password of any URL in it.
 * @internal
 * @example
 * withoutUrlCredentials('http://root:pw@etcd:2379'); // 'http://***@etcd:2379'
 */
export function withoutUrlCredentials(value: string): string {
  return value.replace(URL_USERINFO, '$1***@');
}

/** Byte length of binary data (a Buffer, any typed array, an ArrayBuffer), else undefined. */
function byteLength(value: unknown): number | undefined {
  if (ArrayBuffer.isView(value)) return value.byteLength;
  if (value instanceof ArrayBuffer || value instanceof SharedArrayBuffer) return value.byteLength;
  return undefined;
}

/**
 * The kind of a value, never its content.
 * @internal
 * @example
 * kindOf({ user: 'a', pw: 'b' }); // 'an object with keys user, pw'
 */
export function kindOf(value: unknown): string {
  if (Array.isArray(value)) return `an array of ${value.length} items`;
  if (typeof value === 'object' && value !== null) {
    const keys = Object.keys(value);
    return keys.length === 0 ? 'an object' : `an object with keys ${keys.join(', ')}`;
  }
  return /^[aeiou]/.test(typeof value) ? `an ${typeof value}` : `a ${typeof value}`;
}

/**
 * How to describe `value` instead of showing it, or undefined when it may be shown: binary data
 * always ("a Buffer of 1200 bytes"); anything but null, undefined and booleans when it is
 * `secret` ("a string, not shown: it may be a secret").
 * @internal
 * @example
 * hiddenKind(Buffer.from('pem'), false); // 'a Buffer of 3 bytes'
 * hiddenKind('hunter2', true); // 'a string, not shown: it may be a secret'
 */
export function hiddenKind(value: unknown, secret: boolean): string | undefined {
  const bytes = byteLength(value);
  if (bytes !== undefined) {
    const type = Buffer.isBuffer(value) ? 'Buffer' : (value as object).constructor.name;
    return `${/^[AEIOU]/.test(type) ? 'an' : 'a'} ${type} of ${bytes} byte${bytes === 1 ? '' : 's'}`;
  }
  if (!secret || value === null || value === undefined || typeof value === 'boolean') {
    return undefined;
  }
  return `${kindOf(value)}, not shown: it may be a secret`;
}

/**
 * A `JSON.stringify` replacer that hides, at every depth, binary data, values under secret-looking
 * keys and URL credentials.
 * @internal
 * @example
 * JSON.stringify({ etcd: { password: 'x' } }, safeJsonReplacer); // '{"etcd":{"password":"[a string, not shown: …]"}}'
 */
export function safeJsonReplacer(this: unknown, key: string, value: unknown): unknown {
  // `value` is after toJSON (a Buffer is { type, data }); the holder has the original.
  const original = (this as Record<string, unknown>)[key];
  const hidden = hiddenKind(original, key !== '' && isSecretPath(key));
  if (hidden !== undefined) return `[${hidden}]`;
  return typeof value === 'string' ? withoutUrlCredentials(value) : value;
}

/**
 * A copy of `value` safe to keep on an error: undefined when the whole value is hidden (see
 * {@link hiddenKind}); in arrays and plain objects, hidden values replaced by their description in
 * brackets; URL credentials removed from strings. Other objects are kept as they are.
 * @internal
 * @example
 * redact({ ca: 'PEM', key: Buffer.from('k') }, false); // { ca: 'PEM', key: '[a Buffer of 1 byte]' }
 * redact('hunter2', true); // undefined
 */
export function redact(value: unknown, secret: boolean): unknown {
  if (hiddenKind(value, secret) !== undefined) return undefined;
  return redactNested(value, secret, new WeakSet());
}

function redactNested(value: unknown, secret: boolean, seen: WeakSet<object>): unknown {
  const hidden = hiddenKind(value, secret);
  if (hidden !== undefined) return `[${hidden}]`;
  if (typeof value === 'string') return withoutUrlCredentials(value);
  if (value instanceof URL) return withoutUrlCredentials(value.href);
  if (typeof value !== 'object' || value === null) return value;
  if (seen.has(value)) return '[circular]';
  seen.add(value);
  if (Array.isArray(value)) return value.map((item) => redactNested(item, secret, seen));
  const prototype = Object.getPrototypeOf(value) as unknown;
  if (prototype !== Object.prototype && prototype !== null) return value;
  return Object.fromEntries(
    Object.entries(value).map(([key, item]) => [
      key,
      redactNested(item, secret || isSecretPath(key), seen),
    ]),
  );
}
