// Helpers of the safety tests: a "nothing hangs" bound, typed-error assertions, an etcd with
// authentication and a namespace-limited user, and etcd's own count of the calls it refused.
import assert from 'node:assert/strict';
import { inspect } from 'node:util';
import { Etcd3, Range } from 'etcd3';
import {
  LockConfigError,
  StoreRejectedError,
  StoreUnavailableError,
  ZZLockError,
  type StoreRejectionReason,
} from '../../lib/core/index.js';

/** What no bad input may take to fail: far above any real answer, far below a hang. */
export const NOTHING_HANGS_MS = 10_000;

/** Thrown by {@link bounded} when the work did not settle in time: a hang. */
export class HangError extends Error {}

/**
 * Settles like `work`, or rejects once `ms` have passed: the "nothing hangs" bound. Not a speed
 * assertion: `ms` is far above any real answer.
 * @default ms NOTHING_HANGS_MS
 */
export async function bounded<T>(
  what: string,
  work: Promise<T> | (() => T | Promise<T>),
  ms = NOTHING_HANGS_MS,
): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new HangError(`${what} did not settle within ${ms} ms`)), ms);
  });
  try {
    const running = typeof work === 'function' ? Promise.resolve().then(work) : work;
    return await Promise.race([running, hang]);
  } finally {
    clearTimeout(timer);
  }
}

/** Asserts that `error` is a `LockConfigError` with code `ZZLOCK_CONFIG` naming `option`. */
export function assertConfigError(error: unknown, option: string, where: string): void {
  assert.ok(error instanceof LockConfigError, `${where}: expected LockConfigError, got ${error}`);
  assert.ok(error instanceof ZZLockError);
  assert.equal(error.code, 'ZZLOCK_CONFIG', where);
  assert.equal(error.option, option, `${where}: ${error.message}`);
  assert.ok(error.message.includes(`"${option}"`), `${where}: ${error.message}`);
}

/**
 * Asserts that nothing `error` shows of itself (message, stack, every property, `value` too, as
 * `util.inspect` prints them) contains any of `secrets`; a Buffer also not byte by byte (JSON's
 * "45,45,45,…" or inspect's `<Buffer 2d 2d …>`).
 */
export function assertNoEcho(error: unknown, secrets: readonly (string | Buffer)[], where: string) {
  const shown = [String(error), inspect(error, { depth: null, showHidden: true })].join('\n');
  for (const secret of secrets) {
    const forms =
      typeof secret === 'string'
        ? [secret]
        : [
            secret.toString(),
            [...secret.subarray(0, 8)].join(','),
            secret.subarray(0, 8).toString('hex'),
          ];
    for (const form of forms) {
      assert.ok(!shown.includes(form), `${where}: the error echoes a secret:\n${shown}`);
    }
  }
  assert.ok(!/<Buffer /.test(shown), `${where}: the error holds a Buffer:\n${shown}`);
}

/** Asserts that `error` is a `StoreRejectedError` (`ZZLOCK_STORE_REJECTED`) for `reason`. */
export function assertRejected(error: unknown, reason: StoreRejectionReason, where: string): void {
  assert.ok(
    error instanceof StoreRejectedError,
    `${where}: expected StoreRejectedError, got ${error}`,
  );
  assert.equal(error.code, 'ZZLOCK_STORE_REJECTED', where);
  assert.equal(error.reason, reason, `${where}: ${error.message}`);
  assert.match(error.message, /Retrying will not help/, where);
}

/** Asserts that `error` is a `StoreUnavailableError` (`ZZLOCK_STORE_UNAVAILABLE`). */
export function assertUnavailable(error: unknown, where: string): void {
  assert.ok(
    error instanceof StoreUnavailableError,
    `${where}: expected StoreUnavailableError, got ${error}`,
  );
  assert.equal(error.code, 'ZZLOCK_STORE_UNAVAILABLE', where);
}

/** Runs `call`, bounded, and returns what it threw (fails if it did not throw). */
export async function thrownBy(what: string, call: () => unknown): Promise<unknown> {
  try {
    await bounded(what, async () => call());
  } catch (error) {
    if (error instanceof HangError) throw error;
    return error;
  }
  assert.fail(`${what} did not throw`);
}

/** The root user and the namespace-limited user of {@link enableAuth}. */
export const ROOT = { username: 'root', password: 'zzlock-root-password' } as const;
export const LOCK_USER = { username: 'locks', password: 'zzlock-locks-password' } as const;

/**
 * Turns authentication on: `root` (role root) and `locks`, whose role grants readwrite on the keys
 * under `prefix` only.
 */
export async function enableAuth(endpoints: string[], prefix: string): Promise<void> {
  const admin = new Etcd3({ hosts: endpoints });
  try {
    await admin.user(ROOT.username).create(ROOT.password);
    await admin.user(ROOT.username).addRole('root');
    await admin.role('lock-namespace').create();
    await admin
      .role('lock-namespace')
      .grant({ permission: 'Readwrite', range: Range.prefix(prefix) });
    await admin.user(LOCK_USER.username).create(LOCK_USER.password);
    await admin.user(LOCK_USER.username).addRole('lock-namespace');
    await admin.auth.authEnable({});
  } finally {
    admin.close();
  }
}

/**
 * etcd's own count of finished gRPC calls per `method:code` (from `/metrics` on a plain-HTTP client
 * URL), e.g. `{ 'Txn:PermissionDenied': 1, 'Authenticate:OK': 2 }`: which calls reached etcd and
 * how each ended, as etcd saw them.
 */
export async function handledCalls(endpoint: string): Promise<Record<string, number>> {
  const text = await (await fetch(`${endpoint}/metrics`)).text();
  const counts: Record<string, number> = {};
  for (const line of text.split('\n')) {
    const match =
      /^grpc_server_handled_total\{grpc_code="(\w+)",grpc_method="(\w+)".*\} (\d+)$/.exec(line);
    if (match) counts[`${match[2]}:${match[1]}`] = Number(match[3]);
  }
  return counts;
}

/**
 * How many calls etcd finished with a code other than OK, between two {@link handledCalls}
 * (keepalive streams, which a held lease opens on its own schedule, left out).
 */
export function failedBetween(
  before: Record<string, number>,
  after: Record<string, number>,
): Record<string, number> {
  const delta: Record<string, number> = {};
  for (const [key, count] of Object.entries(after)) {
    const grown = count - (before[key] ?? 0);
    if (grown > 0 && !key.endsWith(':OK') && !key.startsWith('LeaseKeepAlive:')) {
      delta[key] = grown;
    }
  }
  return delta;
}
