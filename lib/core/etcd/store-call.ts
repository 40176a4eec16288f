import { StoreUnavailableError } from '../errors/store-unavailable.error.js';

/**
 * Runs one call to etcd with a hard deadline: it settles within `timeoutMs` whatever the client
 * does, and any failure becomes a {@link StoreUnavailableError}. etcd3 ignores `dialTimeout`, so
 * this (with per-call gRPC deadlines) is what keeps an unreachable etcd from hanging a caller.
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
        throw error instanceof StoreUnavailableError
          ? error
          : new StoreUnavailableError(operation, lockName, error);
      }),
      deadline,
    ]);
  } finally {
    clearTimeout(timer);
  }
}
