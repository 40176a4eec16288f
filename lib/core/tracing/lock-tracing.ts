import type { Attributes, Context, Span } from '@opentelemetry/api';
import { failedOutcome, failureCode, type LockAcquireOutcome } from '../acquire-outcome.js';
import { ZZLockError } from '../errors/zzlock.error.js';
import type { LockGrant } from '../lock-backend.js';
import { publishAcquire, type LockAcquireMessage } from './acquire-channel.js';
import { loadedOpenTelemetry, loadOpenTelemetry, type OpenTelemetryApi } from './open-telemetry.js';
import { ZZLOCK_TRACING } from './tracing-names.js';

const { attributes: ATTR, events: EVENTS, scope: SCOPE, spans: SPANS } = ZZLOCK_TRACING;

/**
 * The trace of one held lock: its `zzlock.hold` span, if OpenTelemetry is there.
 * @internal
 */
export interface HoldTrace {
  /** Runs `fn` with the hold span active, so spans started in it are its children. */
  run<T>(fn: () => T): T;
  /** The lock was lost: an event and an error status. */
  lost(reason: unknown): void;
  /** A keepalive of the store failed while the lock was held: an event. */
  keepaliveFailed(error: unknown): void;
  /** The hold is over (released; `error` when the release failed). Idempotent. */
  end(error?: unknown): void;
}

/** A hold with no span (OpenTelemetry not installed). */
const UNTRACED_HOLD: HoldTrace = {
  run: (fn) => fn(),
  lost: () => undefined,
  keepaliveFailed: () => undefined,
  end: () => undefined,
};

/** `error.type` of an error: its stable code, else its class name. */
function errorType(error: unknown): string {
  if (error instanceof ZZLockError) return error.code;
  return error instanceof Error ? error.name : '_OTHER';
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Marks `span` failed with `error`: `error.type` and an error status. */
function setError(api: OpenTelemetryApi, span: Span, error: unknown): void {
  span.setAttribute(ATTR.errorType, errorType(error));
  span.setStatus({ code: api.SpanStatusCode.ERROR, message: errorMessage(error) });
}

/** Records `error` on `span` as OpenTelemetry says: an `exception` event, then {@link setError}. */
function recordError(api: OpenTelemetryApi, span: Span, error: unknown): void {
  span.recordException(error instanceof Error ? error : String(error));
  setError(api, span, error);
}

/** The `zzlock.hold` span of a granted lock. */
class SpanHoldTrace implements HoldTrace {
  #ended = false;

  constructor(
    private readonly api: OpenTelemetryApi,
    private readonly span: Span,
  ) {}

  run<T>(fn: () => T): T {
    const { context, trace } = this.api;
    return context.with(trace.setSpan(context.active(), this.span), fn);
  }

  lost(reason: unknown): void {
    if (this.#ended) return;
    this.span.addEvent(EVENTS.lost, {
      [ATTR.errorType]: errorType(reason),
      [ATTR.errorMessage]: errorMessage(reason),
    });
    setError(this.api, this.span, reason);
  }

  keepaliveFailed(error: unknown): void {
    if (this.#ended) return;
    this.span.addEvent(EVENTS.keepaliveFailed, {
      [ATTR.errorType]: errorType(error),
      [ATTR.errorMessage]: errorMessage(error),
    });
  }

  end(error?: unknown): void {
    if (this.#ended) return;
    this.#ended = true;
    if (error !== undefined) recordError(this.api, this.span, error);
    this.span.end();
  }
}

/**
 * The trace of one acquisition, validated already: its `zzlock.acquire` span (if OpenTelemetry
 * is installed) and its message on the `zzlock:acquire` diagnostics channel. The manager tells it
 * how the acquisition ended; a failure is seen by {@link run} itself.
 * @internal
 *
 * @example
 * await openTelemetryLoading();
 * const trace = new AcquireTrace({ name, label, mode, call: 'acquire', waitMs });
 * return trace.run(async () => {
 *   const grant = await backend.acquire(request);
 *   const hold = trace.granted(grant);
 *   return handleFor(grant, hold);
 * });
 */
export class AcquireTrace {
  /** Started at (performance.now()). */
  readonly startedAt = performance.now();
  readonly #api: OpenTelemetryApi | undefined;
  /** The caller's context: the parent of both spans. */
  readonly #parent: Context | undefined;
  readonly #span: Span | undefined;
  #ended = false;

  /**
   * Starts the span in the active context (the caller's). Await {@link openTelemetryLoading}
   * first, or the span is missed while `@opentelemetry/api` is still being imported.
   */
  constructor(readonly message: LockAcquireMessage) {
    const api = loadedOpenTelemetry()?.api;
    this.#api = api;
    if (api === undefined) return;
    this.#parent = api.context.active();
    this.#span = api.trace
      .getTracer(SCOPE.name, SCOPE.version)
      .startSpan(
        SPANS.acquire,
        { attributes: { [ATTR.label]: message.label, [ATTR.mode]: message.mode } },
        this.#parent,
      );
  }

  /** From the call to now, in ms. */
  get waitedMs(): number {
    return performance.now() - this.startedAt;
  }

  /** Runs the acquisition `body`, published on the channel; a failure ends the trace. */
  run<T>(body: () => Promise<T>): Promise<T> {
    return publishAcquire(this.message, async () => {
      try {
        return await body();
      } catch (error) {
        this.#end(failedOutcome(failureCode(error)), {}, error);
        throw error;
      }
    });
  }

  /** Granted as a nested hold of the call chain: no hold span (the outer one goes on). */
  reentrant(): void {
    this.#end('reentrant', {});
  }

  /** A try found the lock busy: an outcome, no error (the call returns `null`). */
  busy(): void {
    this.#end('busy', {});
  }

  /** Granted: ends the acquire span and starts the hold span, a sibling under the caller's. */
  granted(grant: LockGrant): HoldTrace {
    const fencingToken = String(grant.fencingToken);
    this.message.fencingToken = fencingToken;
    this.#end('acquired', { [ATTR.fencingToken]: fencingToken, [ATTR.contended]: grant.waited });
    if (this.#api === undefined) return UNTRACED_HOLD;
    const span = this.#api.trace.getTracer(SCOPE.name, SCOPE.version).startSpan(
      SPANS.hold,
      {
        attributes: {
          [ATTR.label]: this.message.label,
          [ATTR.mode]: this.message.mode,
          [ATTR.fencingToken]: fencingToken,
        },
      },
      this.#parent,
    );
    return new SpanHoldTrace(this.#api, span);
  }

  #end(outcome: LockAcquireOutcome, attributes: Attributes, error?: unknown): void {
    if (this.#ended) return;
    this.#ended = true;
    const waitedMs = this.waitedMs;
    this.message.outcome = outcome;
    this.message.waitedMs = waitedMs;
    const span = this.#span;
    if (span === undefined || this.#api === undefined) return;
    span.setAttributes({ ...attributes, [ATTR.outcome]: outcome, [ATTR.waitMs]: waitedMs });
    if (error !== undefined) recordError(this.#api, span, error);
    span.end();
  }
}

/**
 * The import of `@opentelemetry/api` while it is under way (started at the first call, or by
 * {@link preloadOpenTelemetry}), `undefined` once it has settled: await it before the first
 * {@link AcquireTrace}.
 * @internal
 */
export function openTelemetryLoading(): Promise<unknown> | undefined {
  return loadedOpenTelemetry() === undefined ? loadOpenTelemetry() : undefined;
}

/**
 * Starts importing `@opentelemetry/api` (a `LockManager` does at construction), so that the
 * first acquisition rarely has to wait for it.
 * @internal
 */
export function preloadOpenTelemetry(): void {
  void loadOpenTelemetry();
}
