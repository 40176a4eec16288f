/**
 * Every user-facing error message, in one place. Each says what happened and what to do.
 * @internal
 */
import { hiddenKind, kindOf, safeJsonReplacer, withoutUrlCredentials } from './redaction.js';

const quote = (name: string | undefined): string => (name === undefined ? '' : ` "${name}"`);

/**
 * A value as an error message shows it: strings quoted and shortened, never a secret (`secret`: the
 * value sat under a secret-looking key), binary data or URL credentials (see redaction.ts).
 */
const describe = (value: unknown, secret: boolean): string => {
  const hidden = hiddenKind(value, secret);
  if (hidden !== undefined) return hidden;
  if (typeof value === 'string') {
    const shown = withoutUrlCredentials(value);
    return JSON.stringify(shown.length > 80 ? `${shown.slice(0, 80)}…` : shown);
  }
  if (typeof value === 'bigint') return `${value}n`;
  if (typeof value === 'function') return 'a function';
  try {
    return JSON.stringify(value, safeJsonReplacer) ?? String(value);
  } catch {
    return kindOf(value);
  }
};

const causeText = (cause: unknown): string =>
  cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause);

/** @internal */
export const lockTimeoutMessage = (name: string, waitMs: number): string =>
  `Lock${quote(name)} was not acquired within ${waitMs} ms: another holder kept it. ` +
  'Raise waitMs, or treat this as "busy" and retry later.';

/** @internal */
export const lockBusyMessage = (name: string): string =>
  `Lock${quote(name)} is held by another owner and waitMs is 0. ` +
  'Pass waitMs to wait for it, or use tryAcquire() to get null instead of an error.';

/** @internal */
export const lockAbortedMessage = (name: string): string =>
  `Acquisition of lock${quote(name)} was aborted by its AbortSignal; nothing was left queued.`;

/** @internal */
export const lockLostMessage = (name: string, detail: string): string =>
  `Lock${quote(name)} was lost: ${detail}. Another owner may hold it now: stop writing to the ` +
  'protected resource, and guard writes with the fencing token.';

/** @internal */
export const lockNotHeldMessage = (name: string | undefined): string =>
  name === undefined
    ? 'No lock is held in this call chain. Read the current lock only inside withLock() or a @Locked method.'
    : `Lock${quote(name)} is not held in this call chain. ` +
      'Read it only inside withLock() or a @Locked method that holds it.';

/** @internal */
export const leadershipResignedMessage = (name: string): string =>
  `The leadership of election${quote(name)} was resigned; it can no longer proclaim. ` +
  'Campaign again to lead again.';

/** @internal */
export const lockConfigMessage = (
  option: string,
  problem: string,
  value: unknown,
  secret: boolean,
): string => `Invalid zzlock option "${option}": ${problem} (got ${describe(value, secret)}).`;

/** @internal */
export const permitsMismatchProblem = (
  name: string,
  heldPermits: number,
  requestedPermits: number,
): string =>
  `lock${quote(name)} is held with permits ${heldPermits}; this request asked for permits ` +
  `${requestedPermits}. Every holder of a lock asks for the same permits (an exclusive or ` +
  'shared lock counts as 1): use one value per name, or another name';

/** @internal */
export const exclusiveInsideSharedProblem = (name: string): string =>
  `lock${quote(name)} is held shared by this call chain, and an exclusive acquire inside it would ` +
  'wait for its own shared hold forever: ask with shared: true inside, or take the lock ' +
  'exclusive from the start (a shared acquire inside an exclusive hold is re-entrant)';

/** @internal */
export const storeUnavailableMessage = (
  operation: string,
  name: string | undefined,
  cause: unknown,
): string =>
  `The lock store (etcd) failed ${operation}${name === undefined ? '' : ` of lock "${name}"`}: ` +
  `${causeText(cause)}. Check that etcd is reachable at the configured endpoints and accepts the ` +
  'configured credentials, or raise callTimeoutMs if it is only slow.';

/** What to do about each reason etcd refuses a call for. */
const REJECTION_REMEDIES = {
  'permission-denied':
    "the etcd user may not read or write the lock namespace: grant the user's role readwrite " +
    'on the namespace prefix (etcdctl role grant-permission <role> --prefix=true readwrite ' +
    '<namespace>), or use a namespace inside the prefix it may use',
  'authentication-failed':
    'etcd did not accept the credentials: check auth.username and auth.password (etcd with ' +
    'authentication enabled needs them; one without it refuses them)',
  'no-space':
    'etcd is over its space quota (alarm NOSPACE) and refuses writes: compact the history, ' +
    'defragment every member, then disarm the alarm (etcdctl alarm disarm)',
  corrupt:
    "a member's data is corrupt (alarm CORRUPT): restore it from a snapshot, then disarm the " +
    'alarm (etcdctl alarm disarm)',
} as const;

/** @internal */
export const storeRejectedMessage = (
  operation: string,
  name: string | undefined,
  reason: keyof typeof REJECTION_REMEDIES,
  cause: unknown,
): string =>
  `The lock store (etcd) refused ${operation}${name === undefined ? '' : ` of lock "${name}"`} ` +
  `(${causeText(cause)}): ${REJECTION_REMEDIES[reason]}. Retrying will not help until then.`;

/** @internal */
export const storeOutageMessage = (operation: string, cause: unknown): string =>
  `The lock store (etcd) is failing ${operation}: ${causeText(cause).replace(/\.$/, '')}. zzlock keeps trying; held ` +
  'locks are reported lost if it does not recover within their TTL. (Logged once per outage.)';

/** @internal */
export const storeRecoveredMessage = (operation: string, failures: number): string =>
  `The lock store (etcd) answers ${operation} again, after ${failures} failed attempt${failures === 1 ? '' : 's'}.`;

/** @internal */
export const clientClosedMessage = (name: string | undefined): string =>
  `The lock client is closing or closed; it took no new acquisition${
    name === undefined ? '' : ` of lock "${name}"`
  }. Acquire locks before shutdown starts.`;

/** @internal */
export const memberProbeTimeoutMessage = (timeoutMs: number): string =>
  `no answer within ${timeoutMs} ms`;

/** @internal */
export const memberProbeClosedMessage = (): string =>
  'not probed: the lock client is closing or closed (zzlock is shutting down)';

/** @internal */
export const observerErrorMessage = (hook: string, error: unknown): string =>
  `A lock observer's "${hook}" hook threw (${causeText(error).replace(/\s*\n\s*/g, ' ')}). ` +
  'zzlock ignored it and keeps calling the observer, and will not report this hook of this ' +
  'observer again: catch errors inside observer hooks.';

/** @internal */
export const acquisitionOutageMessage = (error: unknown): string =>
  `Lock acquisitions fail: ${causeText(error).replace(/^\w+: /, '')} Until the store answers, ` +
  "@Locked routes answer 503 with Retry-After and @Locked methods with onBusy: 'skip' (cron jobs) " +
  'are skipped. (Logged once per outage; its end is logged too.)';

/** @internal */
export const acquisitionRecoveredMessage = (failures: number): string =>
  `Lock acquisitions succeed again, after ${failures} failed with the lock store unavailable.`;

/** @internal */
export const routeLockErrorMessage = (name: string, code: string): string =>
  `A route answered 500 Internal Server Error for a ${name} (${code}): a fault of the server's ` +
  'configuration or of etcd, which the client cannot fix. Logged once per distinct error; the ' +
  'error and its stack follow.';

/**
 * What an HTTP client is told by `LockInterceptor`: short, with no advice meant for the
 * developer (that goes to the log and the README).
 * @internal
 */
export const HTTP_ANSWER_MESSAGES = {
  locked: 'The resource is locked by another request; retry later.',
  shuttingDown: 'The server is shutting down; retry later.',
  storeUnavailable: 'The service is temporarily unavailable; retry later.',
  internal: 'Internal server error',
} as const;

/** Names as a sentence lists them: `a`, `a and b`, `a, b and c`. */
const listed = (names: readonly string[]): string =>
  names.length <= 1 ? names.join('') : `${names.slice(0, -1).join(', ')} and ${names.at(-1)}`;

/** @internal */
export const peerDependencyMissingMessage = (
  entry: string,
  missing: readonly string[],
  instead: string | undefined,
): string =>
  `'${entry}' needs the peer ${missing.length === 1 ? 'dependency' : 'dependencies'} ` +
  `${listed(missing)}, which ${missing.length === 1 ? 'is' : 'are'} not installed: ` +
  `npm install ${missing.join(' ')}.${instead === undefined ? '' : ` ${instead}`}`;
