import { ZZLOCK_DEFAULTS, ZZLOCK_LIMITS } from './defaults.js';
import { LockConfigError } from './errors/lock-config.error.js';
import type { AcquireRequest, LockMode } from './lock-backend.js';
import type { LockClientOptions } from './lock-options.js';

// eslint-disable-next-line no-control-regex
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f-\u009f]/;
/** `user:password@` (or `user@`) before the host of a URL, with or without its scheme. */
const CREDENTIALS_IN_URL = /^([a-z][a-z0-9+.-]*:\/\/)?[^/?#\s@]*@/i;
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

/**
 * Checks the value an election candidate proclaims: a string (empty allowed) of well-formed
 * Unicode, at most 4096 bytes in UTF-8 (`ZZLOCK_LIMITS.maxElectionValueBytes`).
 * @throws LockConfigError naming `value`
 * @example
 * validateElectionValue('replica-1'); // 'replica-1'
 * validateElectionValue(42); // throws: a value is a string
 */
export function validateElectionValue(value: unknown): string {
  if (typeof value !== 'string') {
    throw new LockConfigError(
      'value',
      'an election value is a string (what the leader proclaims, e.g. its address)',
      value,
    );
  }
  if (LONE_SURROGATE.test(value)) {
    throw new LockConfigError('value', 'an election value must be well-formed Unicode', value);
  }
  const bytes = Buffer.byteLength(value, 'utf8');
  if (bytes > ZZLOCK_LIMITS.maxElectionValueBytes) {
    throw new LockConfigError(
      'value',
      `an election value has at most ${ZZLOCK_LIMITS.maxElectionValueBytes} bytes in UTF-8 ` +
        `(this one has ${bytes}): proclaim where to find the data, not the data`,
      value,
    );
  }
  return value;
}

/** The grant rule of a lock request: its mode and its permits, as a backend is asked for them. */
export type LockModeRequest = Pick<AcquireRequest, 'permits'> & { readonly mode: LockMode };

/**
 * Checks `permits` and `shared` of a call and turns them into a grant rule: `shared: true` is
 * `shared` (permits 1); `permits` 2 to 256 a `semaphore`; neither, or `permits: 1`, `exclusive`
 * (a mutex). `undefined` counts as not given, as `@Locked` passes unset options.
 * @throws LockConfigError naming `permits` (not a whole number from 1 to 256, or given with
 *   `shared: true`) or `shared` (not a boolean)
 * @example
 * validateLockMode(3, undefined); // { mode: 'semaphore', permits: 3 }
 * validateLockMode(undefined, true); // { mode: 'shared', permits: 1 }
 */
export function validateLockMode(permits: unknown, shared: unknown): LockModeRequest {
  if (shared !== undefined && typeof shared !== 'boolean') {
    throw new LockConfigError('shared', 'shared is true or false', shared);
  }
  if (permits !== undefined) {
    if (
      typeof permits !== 'number' ||
      !Number.isInteger(permits) ||
      permits < 1 ||
      permits > ZZLOCK_LIMITS.maxPermits
    ) {
      throw new LockConfigError(
        'permits',
        `permits is a whole number from 1 (a mutex) to ${ZZLOCK_LIMITS.maxPermits}`,
        permits,
      );
    }
    if (shared === true) {
      throw new LockConfigError(
        'permits',
        'permits and shared: true do not go together (shared holders are not counted): give ' +
          'one of them',
        permits,
      );
    }
  }
  if (shared === true) return { mode: 'shared', permits: 1 };
  if (permits === undefined || permits === 1) return { mode: 'exclusive', permits: 1 };
  return { mode: 'semaphore', permits };
}

/** {@link LockClientOptions} with every default applied and every value checked. */
export interface ResolvedClientOptions {
  endpoints: string[];
  namespace: string;
  ttl: number;
  waitMs: number;
  callTimeoutMs: number;
  shutdownGraceMs: number;
  leaseIdleMs: number;
  auth?: LockClientOptions['auth'];
  tls?: LockClientOptions['tls'];
}

/**
 * Applies defaults to client options and rejects what cannot work, naming the option.
 * @throws LockConfigError
 */
export function resolveClientOptions(
  options: LockClientOptions,
  moreKnownKeys: readonly string[] = [],
): ResolvedClientOptions {
  rejectBadShape(options, moreKnownKeys);
  const endpoints = validateEndpoints(options.endpoints);
  const settings = resolveSettings(options);
  validateSchemes(endpoints, options.tls);
  return { endpoints, ...settings };
}

/**
 * {@link resolveClientOptions} for a store that connects to nothing (the memory store): every
 * option is checked the same way except `endpoints`, which such a store never reads (absent,
 * empty, or the URLs another environment uses are all fine), and which resolves to `[]`.
 * @throws LockConfigError
 * @example
 * resolveOptionsWithoutEndpoints({ endpoints: [], ttl: 5 }, ['store']); // { endpoints: [], ttl: 5, … }
 */
export function resolveOptionsWithoutEndpoints(
  options: Omit<LockClientOptions, 'endpoints'> & { endpoints?: unknown },
  moreKnownKeys: readonly string[] = [],
): ResolvedClientOptions {
  rejectBadShape(options, moreKnownKeys);
  return { endpoints: [], ...resolveSettings(options) };
}

/** Rejects options that are no object, or carry a key no option has. */
function rejectBadShape(options: object, moreKnownKeys: readonly string[]): void {
  if (options === null || typeof options !== 'object') {
    throw new LockConfigError('options', 'options must be an object', options);
  }
  rejectUnknownKeys(options, [...CLIENT_OPTION_KEYS, ...moreKnownKeys], 'options');
}

/** Checks `endpoints`: one URL or a non-empty list of http(s) URLs without credentials. */
function validateEndpoints(given: LockClientOptions['endpoints']): string[] {
  const endpoints: unknown = typeof given === 'string' ? [given] : given;
  if (!Array.isArray(endpoints) || endpoints.length === 0) {
    throw new LockConfigError(
      'endpoints',
      'give at least one etcd URL such as http://127.0.0.1:2379',
      given,
    );
  }
  for (const endpoint of endpoints as unknown[]) {
    if (typeof endpoint === 'string' && CREDENTIALS_IN_URL.test(endpoint)) {
      throw new LockConfigError(
        'endpoints',
        'an endpoint URL must not carry credentials: give them as auth: { username, password }',
        endpoint.replace(CREDENTIALS_IN_URL, '$1***@'),
      );
    }
    if (typeof endpoint !== 'string' || !/^https?:\/\/[^/\s]+\/?$/.test(endpoint)) {
      throw new LockConfigError(
        'endpoints',
        'each endpoint is an http:// or https:// URL of host and port',
        endpoint,
      );
    }
  }
  return [...(endpoints as string[])];
}

/** Every option but `endpoints`, checked and with its default. */
function resolveSettings(
  options: Omit<LockClientOptions, 'endpoints'>,
): Omit<ResolvedClientOptions, 'endpoints'> {
  const namespace = options.namespace ?? ZZLOCK_DEFAULTS.namespace;
  if (
    typeof namespace !== 'string' ||
    !namespace.endsWith('/') ||
    namespace.length < 2 ||
    CONTROL_CHARACTERS.test(namespace)
  ) {
    throw new LockConfigError(
      'namespace',
      "the namespace is a key prefix ending in '/' (so 'shop/' and 'shop2/' never overlap), " +
        'without control characters',
      namespace,
    );
  }
  validateAuth(options.auth);
  validateTls(options.tls);
  return {
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
    leaseIdleMs: positive(options.leaseIdleMs ?? ZZLOCK_DEFAULTS.leaseIdleMs, 'leaseIdleMs', true),
    auth: options.auth,
    tls: options.tls,
  };
}

/** Every key of {@link LockClientOptions}. */
const CLIENT_OPTION_KEYS = [
  'endpoints',
  'namespace',
  'ttl',
  'waitMs',
  'callTimeoutMs',
  'shutdownGraceMs',
  'leaseIdleMs',
  'auth',
  'tls',
] as const;

/**
 * Rejects keys an options object does not know, so a typo (`namepsace`) fails loudly instead of
 * silently falling back to a default. The error names the key and the known ones, and never
 * echoes the value when `<where>.<key>` looks like a secret (`auth.pw`, `options.password`).
 * @throws LockConfigError naming the unknown key and the known ones
 * @example
 * rejectUnknownKeys({ waitMS: 5 }, ['ttl', 'waitMs'], 'acquire()'); // throws, option 'waitMS'
 */
export function rejectUnknownKeys(options: object, known: readonly string[], where: string): void {
  for (const key of Object.keys(options)) {
    if (!known.includes(key)) {
      throw new LockConfigError(
        key,
        `${where} has no option "${key}"; known options are ${known.join(', ')}`,
        (options as Record<string, unknown>)[key],
        `${where}.${key}`,
      );
    }
  }
}

/**
 * etcd3 uses one kind of connection for every endpoint, TLS as soon as one endpoint is https:// or
 * `tls` is given, whatever the other URLs say: so a URL's scheme must tell the truth. Every
 * endpoint is http://, or every one is https://, and `tls` goes with https:// only.
 */
function validateSchemes(endpoints: readonly string[], tls: unknown): void {
  const secure = endpoints.map((endpoint) => endpoint.startsWith('https://'));
  if (secure.some((isSecure) => isSecure !== secure[0])) {
    throw new LockConfigError(
      'endpoints',
      'every endpoint is http://, or every one is https:// (one connection kind serves them all)',
      endpoints,
    );
  }
  if (tls !== undefined && !secure[0]) {
    throw new LockConfigError(
      'endpoints',
      'with tls, the endpoints are https:// URLs (an http:// one would get TLS anyway)',
      endpoints,
    );
  }
}

/** Checks `auth`; no value under it is ever echoed (`auth` is a secret-looking key). */
function validateAuth(auth: unknown): void {
  if (auth === undefined) return;
  if (auth !== null && typeof auth === 'object') {
    rejectUnknownKeys(auth, ['username', 'password'], 'auth');
  }
  const { username, password } = (auth ?? {}) as Partial<Record<string, unknown>>;
  if (
    auth === null ||
    typeof auth !== 'object' ||
    typeof username !== 'string' ||
    username === '' ||
    typeof password !== 'string'
  ) {
    throw new LockConfigError('auth', 'auth is { username, password }, a non-empty username', auth);
  }
}

function validateTls(tls: unknown): void {
  if (tls === undefined) return;
  if (tls === null || typeof tls !== 'object') {
    throw new LockConfigError('tls', 'tls is { ca?, cert?, key? } of PEM strings or Buffers', tls);
  }
  const pems = tls as Partial<Record<string, unknown>>;
  rejectUnknownKeys(tls, ['ca', 'cert', 'key'], 'tls');
  for (const key of ['ca', 'cert', 'key'] as const) {
    const pem = pems[key];
    if (pem !== undefined && typeof pem !== 'string' && !Buffer.isBuffer(pem)) {
      throw new LockConfigError(`tls.${key}`, 'a PEM string or Buffer', typeof pem);
    }
  }
  if ((pems.cert === undefined) !== (pems.key === undefined)) {
    throw new LockConfigError(
      'tls',
      'a client certificate needs its key: give both cert and key, or neither',
      Object.keys(tls),
    );
  }
}

function positive(value: unknown, option: string, allowInfinity = false): number {
  const ms = validateDurationMs(value, option, allowInfinity);
  if (ms === 0) throw new LockConfigError(option, 'this duration must be above 0', value);
  return ms;
}
