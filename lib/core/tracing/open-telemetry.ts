/**
 * `@opentelemetry/api`, an optional peer dependency, imported on first use rather than at
 * import time, so zzlock runs without it. Only its types are named statically here, and no
 * exported declaration of zzlock names them, so a user's compiler never looks for the package.
 */
export type OpenTelemetryApi = typeof import('@opentelemetry/api');

let loading: Promise<OpenTelemetryApi | undefined> | undefined;
/** The API once its import settled: the module, or `undefined` when it cannot be imported. */
let settled: { readonly api: OpenTelemetryApi | undefined } | undefined;

/**
 * Imports `@opentelemetry/api` once per process. Resolves `undefined` when it is not installed
 * (or cannot be imported): tracing is then off, and nothing else changes.
 * @internal
 *
 * @example
 * const api = await loadOpenTelemetry(); // undefined without the package
 */
export function loadOpenTelemetry(): Promise<OpenTelemetryApi | undefined> {
  loading ??= import('@opentelemetry/api').then(
    (api) => (settled = { api }).api,
    () => (settled = { api: undefined }).api,
  );
  return loading;
}

/**
 * The outcome of {@link loadOpenTelemetry} if it has settled, else `undefined` (then await it).
 * @internal
 */
export function loadedOpenTelemetry(): { readonly api: OpenTelemetryApi | undefined } | undefined {
  return settled;
}
