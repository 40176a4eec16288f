import { ZZLOCK_DEFAULTS, ZZLOCK_LIMITS } from './defaults.js';
import { LockConfigError } from './errors/lock-config.error.js';
import type { LockClientOptions } from './lock-options.js';

// eslint-disable-next-line no-control-regex
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f-\u009f]/;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * Checks a lock name: a non-empty string of at most 256 characters with no control characters.
 * @throws LockConfigError naming `name`
 */
export function validateLockName(name: unknown): string {
  if (typeof name !== 'string')
    throw new LockConfigError('name', 'a lock name must be a string', name);
  if (name.length === 0) throw new LockConfigError('name', 'a lock name must not be empty', name);
  if (name.length > ZZLOCK_LIMITS.maxNameLength) {
    throw new LockConfigError(
      'name',
      `a lock name has at most ${ZZLOCK_LIMITS.maxNameLength} characters`,
      name,
    );
  }
  if (CONTROL_CHARACTERS.test(name)) {
    throw new LockConfigError('name', 'a lock name must not contain control characters', name);
  }
  if (LONE_SURROGATE.test(name)) {
    throw new LockConfigError('name', 'a lock name must be well-formed Unicode', name);
  }
  return name;
}

/**
 * Checks a lease TTL: an integer number of seconds from 1 to 86 400.
 * @throws LockConfigError naming `option`
 */
export function validateTtl(ttl: unknown, option = 'ttl'): number {
  if (typeof ttl !== 'number' || !Number.isInteger(ttl)) {
    throw new LockConfigError(option, 'a TTL is a whole number of seconds', ttl);
  }
  if (ttl < ZZLOCK_LIMITS.minTtl || ttl > ZZLOCK_LIMITS.maxTtl) {
    throw new LockConfigError(
      option,
      `a TTL is from ${ZZLOCK_LIMITS.minTtl} to ${ZZLOCK_LIMITS.maxTtl} seconds`,
      ttl,
    );
  }
  return ttl;
}

/**
 * Checks a duration in ms: a number ≥ 0, `Infinity` allowed where `allowInfinity` is set.
 * @throws LockConfigError naming `option`
 */
export function validateDurationMs(value: unknown, option: string, allowInfinity = true): number {
  if (typeof value !== 'number' || Number.isNaN(value) || value < 0) {
    throw new LockConfigError(option, 'a duration is a number of milliseconds, 0 or more', value);
  }
  if (value === Infinity && !allowInfinity) {
    throw new LockConfigError(option, 'this duration must be finite', value);
  }
  return value;
}

/**
 * Checks an optional AbortSignal.
 * @throws LockConfigError naming `signal`
 */
export function validateSignal(signal: unknown): AbortSignal | undefined {
  if (signal === undefined) return undefined;
  if (!(signal instanceof AbortSignal)) {
    throw new LockConfigError('signal', 'signal must be an AbortSignal', signal);
  }
  return signal;
}

/** {@link LockClientOptions} with every default applied and every value checked. */
export interface ResolvedClientOptions {
  endpoints: string[];
  namespace: string;
  ttl: number;
  waitMs: number;
  callTimeoutMs: number;
  shutdownGraceMs: number;
  auth?: LockClientOptions['auth'];
  tls?: LockClientOptions['tls'];
}

/**
 * Applies defaults to client options and rejects what cannot work, naming the option.
 * @throws LockConfigError
 */
export function resolveClientOptions(options: LockClientOptions): ResolvedClientOptions {
  if (options === null || typeof options !== 'object') {
    throw new LockConfigError('options', 'options must be an object', options);
  }
  const endpoints = typeof options.endpoints === 'string' ? [options.endpoints] : options.endpoints;
  if (!Array.isArray(endpoints) || endpoints.length === 0) {
    throw new LockConfigError(
      'endpoints',
      'give at least one etcd URL such as http://127.0.0.1:2379',
      options.endpoints,
    );
  }
  for (const endpoint of endpoints) {
    if (typeof endpoint !== 'string' || !/^https?:\/\/[^/\s]+\/?$/.test(endpoint)) {
      throw new LockConfigError(
        'endpoints',
        'each endpoint is an http:// or https:// URL of host and port',
        endpoint,
      );
    }
  }
  const namespace = options.namespace ?? ZZLOCK_DEFAULTS.namespace;
  if (
    typeof namespace !== 'string' ||
    namespace.length === 0 ||
    CONTROL_CHARACTERS.test(namespace)
  ) {
    throw new LockConfigError(
      'namespace',
      'the namespace is a non-empty key prefix without control characters',
      namespace,
    );
  }
  if (options.auth !== undefined) {
    const { username, password } = options.auth;
    if (typeof username !== 'string' || username === '' || typeof password !== 'string') {
      throw new LockConfigError('auth', 'auth needs a non-empty username and a password string', {
        username,
      });
    }
  }
  return {
    endpoints: [...endpoints],
    namespace,
    ttl: validateTtl(options.ttl ?? ZZLOCK_DEFAULTS.ttl),
    waitMs: validateDurationMs(options.waitMs ?? ZZLOCK_DEFAULTS.acquireWaitMs, 'waitMs'),
    callTimeoutMs: positive(
      options.callTimeoutMs ?? ZZLOCK_DEFAULTS.callTimeoutMs,
      'callTimeoutMs',
    ),
    shutdownGraceMs: validateDurationMs(
      options.shutdownGraceMs ?? ZZLOCK_DEFAULTS.shutdownGraceMs,
      'shutdownGraceMs',
      false,
    ),
    auth: options.auth,
    tls: options.tls,
  };
}

function positive(value: unknown, option: string): number {
  const ms = validateDurationMs(value, option, false);
  if (ms === 0) throw new LockConfigError(option, 'this duration must be above 0', value);
  return ms;
}
