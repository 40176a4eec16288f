import { ConsecutiveBreaker, circuitBreaker, handleWhen, noop, retry } from 'cockatiel';
import { Etcd3, isRecoverableError, type IOptions } from 'etcd3';
import type { ResolvedClientOptions } from '../validation.js';
import { storeRejection } from './store-call.js';

/** Retries of a failed call, each on another member when there is one. */
const RETRIES = 2;

/** Deadline of one attempt of a call whose whole budget is `callTimeoutMs`. */
function attemptTimeoutMs(callTimeoutMs: number): number {
  return Math.max(100, Math.floor(callTimeoutMs / (RETRIES + 1)));
}

/**
 * Failures worth another attempt: etcd3's recoverable ones, except refusals that will not pass
 * (etcd3 counts a full database, RESOURCE_EXHAUSTED, as recoverable). A refusal is not retried and
 * does not mark the member as failing.
 */
const isTransient = (error: Error): boolean =>
  isRecoverableError(error) && storeRejection(error) === undefined;

/** How long a failed etcd member is skipped before it is tried again, in ms. */
const HOST_RETRY_AFTER_MS = 1_000;

/**
 * How a client's calls are attempted:
 * - `retried`: a failed attempt is tried again on another member, within the call's budget. For
 *   calls that are safe to apply twice, at any time: reads, keepalives, guarded deletes.
 * - `once`: one attempt. For the txns that create a queue key if it is absent, and for deletes that
 *   compare nothing: an attempt that timed out may still be applied later, after its retry
 *   succeeded and the key was deleted again, and would then put back a key that no acquisition
 *   tracks (seen in a soak: one such key, on a live lease, blocked its lock until the process
 *   died). The backend treats a failed attempt as a txn of unknown outcome and retries itself,
 *   under a new key name.
 * @internal
 */
export type EtcdAttempts = 'retried' | 'once';

/**
 * Builds the etcd3 client zzlock uses: every unary call gets a gRPC deadline per attempt and, if
 * `attempts` is `retried`, is retried on recoverable errors (streams — watches — get no deadline);
 * TLS and auth as configured.
 * @internal
 */
export function createEtcdClient(
  options: ResolvedClientOptions,
  attempts: EtcdAttempts = 'retried',
): Etcd3 {
  const etcdOptions: IOptions = {
    hosts: options.endpoints,
    // Each attempt gets a third of the call's budget, so a call that meets a frozen or cut-off
    // member is retried on another one within callTimeoutMs (see EtcdAttempts for which are).
    defaultCallOptions: (context) =>
      context.isStream ? {} : { deadline: Date.now() + attemptTimeoutMs(options.callTimeoutMs) },
    faultHandling: {
      global: attempts === 'once' ? noop : retry(handleWhen(isTransient), { maxAttempts: RETRIES }),
      // etcd3's default breaker refuses a host for 5 s after 3 failures, so a single-member
      // client stays "unavailable" long after etcd is back. Probe again after 1 s.
      host: () =>
        circuitBreaker(handleWhen(isTransient), {
          halfOpenAfter: HOST_RETRY_AFTER_MS,
          breaker: new ConsecutiveBreaker(3),
        }),
    },
  };
  if (options.auth) etcdOptions.auth = { ...options.auth };
  if (options.tls) {
    const pem = (value: string | Buffer | undefined) =>
      value === undefined ? undefined : Buffer.from(value);
    etcdOptions.credentials = {
      // etcd3 types the CA as required; gRPC falls back to the system roots when it is absent.
      rootCertificate: pem(options.tls.ca) as Buffer,
      privateKey: pem(options.tls.key),
      certChain: pem(options.tls.cert),
    };
  }
  return new Etcd3(etcdOptions);
}
