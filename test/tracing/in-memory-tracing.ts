// The real OpenTelemetry SDK as an application would set it up, with spans kept in memory: a
// BasicTracerProvider with an InMemorySpanExporter behind a SimpleSpanProcessor (each span is
// exported as it ends) and the AsyncLocalStorage context manager, registered as the globals that
// zzlock's `@opentelemetry/api` finds.
import { context, trace, type Span } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
  type ReadableSpan,
} from '@opentelemetry/sdk-trace-base';

/** The registered SDK's finished spans, and a tracer for the test's own spans. */
export interface InMemoryTracing {
  /** Every span ended so far, in the order they ended. */
  finished(): ReadableSpan[];
  /** The ended spans named `name` whose `zzlock.lock.label` (if any) is `label`. */
  named(name: string, label?: string): ReadableSpan[];
  /** The one ended span named `name` (with `label`); fails if there are none or several. */
  one(name: string, label?: string): ReadableSpan;
  /** The ended spans whose parent is `parent`. */
  childrenOf(parent: ReadableSpan): ReadableSpan[];
  /** Runs `fn` inside a new active span named `name` (the application's own), ended after. */
  inSpan<T>(name: string, fn: (span: Span) => Promise<T>): Promise<T>;
  /** Forgets the spans ended so far. */
  reset(): void;
}

/**
 * Registers the SDK globally (once per test process: each test file runs in its own).
 *
 * @example
 * const tracing = registerInMemoryTracing();
 * await locks.withLock('x', () => tracing.inSpan('work', async () => {}), { label: 'x' });
 * tracing.one('zzlock.hold', 'x');
 */
export function registerInMemoryTracing(): InMemoryTracing {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  assert(trace.setGlobalTracerProvider(provider), 'a tracer provider was registered already');
  assert(
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable()),
    'a context manager was registered already',
  );
  const tracer = trace.getTracer('zzlock-tests');
  const finished = (): ReadableSpan[] => exporter.getFinishedSpans();
  const named = (name: string, label?: string): ReadableSpan[] =>
    finished().filter(
      (span) =>
        span.name === name &&
        (label === undefined || span.attributes['zzlock.lock.label'] === label),
    );
  return {
    finished,
    named,
    one(name, label) {
      const spans = named(name, label);
      if (spans.length !== 1) {
        const all = finished().map(
          (s) => `${s.name}(${String(s.attributes['zzlock.lock.label'])})`,
        );
        throw new Error(`${spans.length} spans ${name} (${label}) among: ${all.join(', ')}`);
      }
      return spans[0]!;
    },
    childrenOf: (parent) =>
      finished().filter(
        (span) =>
          span.parentSpanContext?.spanId === parent.spanContext().spanId &&
          span.spanContext().traceId === parent.spanContext().traceId,
      ),
    inSpan: (name, fn) =>
      tracer.startActiveSpan(name, async (span) => {
        try {
          return await fn(span);
        } finally {
          span.end();
        }
      }),
    reset: () => exporter.reset(),
  };
}

function assert(value: boolean, message: string): void {
  if (!value) throw new Error(message);
}
