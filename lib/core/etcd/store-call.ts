import { StoreRejectedError, type StoreRejectionReason } from '../errors/store-rejected.error.js';
import { StoreUnavailableError } from '../errors/store-unavailable.error.js';

/**
 * etcd's answers that retrying will not change, by the `etcdserver:` text etcd sends (etcd3
 * keeps it in the message whatever class it casts the gRPC error to: a full database comes as a
 * "recoverable" RESOURCE_EXHAUSTED, for instance).
 */
const REJECTIONS: readonly [RegExp, StoreRejectionReason][] = [
  [/etcdserver: permission denied/, 'permission-denied'],
  [/etcdserver: authentication failed/, 'authentication-failed'],
  [/etcdserver: user name is empty/, 'authentication-failed'],
  [/etcdserver: authentication is not enabled/, 'authentication-failed'],
  [/etcdserver: mvcc: database space exceeded/, 'no-space'],
  [/etcdserver: corrupt cluster/, 'corrupt'],
];

/**
 * Why etcd refused a call for good, when `error` is such a refusal; `undefined` for every other
 * failure (timeouts, connection failures, leader changes, an expired auth token…), which may pass.
 * @internal
 */
export function storeRejection(error: unknown): StoreRejectionReason | undefined {
  if (error instanceof StoreRejectedError) return error.reason;
  const message = error instanceof Error ? error.message : String(error);
  return REJECTIONS.find(([pattern]) => pattern.test(message))?.[1];
}

/**
 * Runs one call to etcd with a hard deadline: it settles within `timeoutMs` whatever the client
 * does. A refusal that retrying will not fix (see {@link storeRejection}) becomes a
 * {@link StoreRejectedError}; any other failure a {@link StoreUnavailableError}. etcd3 ignores
 * `dialTimeout`, so this (with per-call gRPC deadlines) is what keeps an unreachable etcd from
 * hanging a caller.
 * @internal
 */
export async function storeCall<T>(
  operation: string,
  lockName: string | undefined,
  timeoutMs: number,
  call: () => Promise<T>,
): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new StoreUnavailableError(operation, lockName, new Error(`no answer in ${timeoutMs} ms`)),
        ),
      timeoutMs,
    );
  });
  try {
    return await Promise.race([
      call().catch((error: unknown) => {
        throw storeError(operation, lockName, error);
      }),
      deadline,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

function storeError(operation: string, lockName: string | undefined, error: unknown): Error {
  if (error instanceof StoreUnavailableError || error instanceof StoreRejectedError) return error;
  const reason = storeRejection(error);
  return reason === undefined
    ? new StoreUnavailableError(operation, lockName, error)
    : new StoreRejectedError(operation, lockName, reason, error);
}
