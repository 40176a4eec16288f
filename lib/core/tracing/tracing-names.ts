/**
 * The names zzlock's traces use, for queries and tests: the tracer (instrumentation scope), the
 * span names, the span event names, the attribute keys and the `node:diagnostics_channel`
 * tracing channel. Span names are constants: a per-entity lock name (`order:123`) is never in a
 * span name, nor in any attribute (the bounded `label` is).
 *
 * @example
 * spans.filter((span) => span.name === ZZLOCK_TRACING.spans.hold); // 'zzlock.hold'
 */
export const ZZLOCK_TRACING = {
  /** The tracer's name and version: the package's (checked against package.json by a test). */
  scope: { name: 'zzlock', version: '0.1.0' },
  /** Span names: constants. */
  spans: {
    /** From the call (acquire, tryAcquire, withLock, `@Locked`) to the grant or the failure. */
    acquire: 'zzlock.acquire',
    /** From the grant to the release: the active span in `withLock` and `@Locked` bodies. */
    hold: 'zzlock.hold',
  },
  /** Span event names, on `zzlock.hold`. */
  events: {
    /** On a hold span: the lock was lost (its lease could not be renewed in time). */
    lost: 'zzlock.lock.lost',
    /** On every hold span of the process: a keepalive of a lease failed (the lock may follow). */
    keepaliveFailed: 'zzlock.lease.keepalive_failed',
  },
  /** Attribute keys of the spans and their events. */
  attributes: {
    /** The call's bounded `label` (`@Locked`: the declared name or `label`), never the raw name. */
    label: 'zzlock.lock.label',
    /** `exclusive`, `semaphore` or `shared`. */
    mode: 'zzlock.lock.mode',
    /** The fencing token of the grant, as a decimal string (a bigint has no attribute type). */
    fencingToken: 'zzlock.lock.fencing_token',
    /** How the acquisition ended: `acquired`, `reentrant`, `busy`, `timeout`, `aborted`, … */
    outcome: 'zzlock.acquire.outcome',
    /** The time waited, from the call to the grant or the failure, in ms. */
    waitMs: 'zzlock.acquire.wait_ms',
    /** True when the lock was held by someone else when asked for. */
    contended: 'zzlock.acquire.contended',
    /** OpenTelemetry's `error.type`: the error's stable `code` (`ZZLOCK_TIMEOUT`), else its name. */
    errorType: 'error.type',
    /** OpenTelemetry's `error.message`, on the lost and keepalive-failed events. */
    errorMessage: 'error.message',
  },
  /** The `node:diagnostics_channel` tracing channel of acquisitions (`tracing:zzlock:acquire:*`). */
  acquireChannel: 'zzlock:acquire',
} as const;
