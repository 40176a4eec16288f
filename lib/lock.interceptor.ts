import {
  HttpException,
  HttpStatus,
  Injectable,
  type CallHandler,
  type ExecutionContext,
  type NestInterceptor,
} from '@nestjs/common';
import { catchError, throwError, type Observable } from 'rxjs';
import { ZZLockError, ZZLockErrorCode } from './core/index.js';
import type { LockedMetadata } from './locked.decorator.js';
import { ZZLOCK_LOCKED_METADATA, ZZLOCK_NEST_DEFAULTS } from './zzlock.constants.js';

/**
 * Body of the `423 Locked` answer.
 *
 * @example
 * { statusCode: 423, error: 'Locked', message: 'Lock "order:42" is held by another owner…', lock: 'order:42' }
 */
export interface LockedResponseBody {
  /** Always 423. */
  statusCode: 423;
  /** Always `'Locked'`. */
  error: 'Locked';
  /** The lock error's message. */
  message: string;
  /** The name of the busy lock. */
  lock: string | undefined;
}

/**
 * Body of the `503 Service Unavailable` answer of a route whose lock was refused because the
 * application is shutting down (`LockClientClosedError`): the client should retry, on another
 * replica.
 *
 * @example
 * { statusCode: 503, error: 'Service Unavailable', message: 'The lock client is closing…', lock: 'order:42' }
 */
export interface LockUnavailableResponseBody {
  /** Always 503. */
  statusCode: 503;
  /** Always `'Service Unavailable'`. */
  error: 'Service Unavailable';
  /** The lock error's message. */
  message: string;
  /** The name of the lock that was refused. */
  lock: string | undefined;
}

/** An HTTP response object, as Express or Fastify hand it over. */
interface HeaderTarget {
  headersSent?: boolean;
  header?: (name: string, value: string) => unknown;
  setHeader?: (name: string, value: string) => unknown;
}

/**
 * Turns a busy lock into an HTTP answer: when a route handler (usually through `@Locked`) fails
 * with `LockBusyError` or `LockTimeoutError`, the client gets `423 Locked` with a `Retry-After`
 * header (the route's `@Locked` `retryAfter`, 1 s by default) and a JSON body naming the lock.
 * When it fails with `LockClientClosedError` (the application is shutting down: a request still
 * waiting for its lock is ended at once, so it does not hold the server open), the client gets
 * `503 Service Unavailable` with the same `Retry-After` and body shape, and `Connection: close` so
 * that the closing server is not held open by the kept-alive socket. Every other error, and
 * every non-HTTP context, passes through untouched.
 *
 * `ZZLockModule` registers it globally; with `interceptor: false`, register it yourself.
 *
 * @example
 * // main.ts, when ZZLockModule.forRoot({ …, interceptor: false })
 * app.useGlobalInterceptors(new LockInterceptor());
 *
 * @example
 * // or on one controller
 * @UseInterceptors(LockInterceptor)
 * @Controller('orders')
 * export class OrdersController {}
 */
@Injectable()
export class LockInterceptor implements NestInterceptor {
  /** Maps busy and timed-out locks of HTTP handlers to 423, and locks refused at shutdown to 503. */
  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (context.getType() !== 'http') return next.handle();
    return next
      .handle()
      .pipe(catchError((error: unknown) => throwError(() => toLockedException(error, context))));
  }
}

function toLockedException(error: unknown, context: ExecutionContext): unknown {
  if (!(error instanceof ZZLockError)) return error;
  let body: LockedResponseBody | LockUnavailableResponseBody;
  switch (error.code) {
    case ZZLockErrorCode.Busy:
    case ZZLockErrorCode.Timeout:
      body = {
        statusCode: HttpStatus.LOCKED,
        error: 'Locked',
        message: error.message,
        lock: error.lockName,
      };
      break;
    case ZZLockErrorCode.Closed:
      body = {
        statusCode: HttpStatus.SERVICE_UNAVAILABLE,
        error: 'Service Unavailable',
        message: error.message,
        lock: error.lockName,
      };
      break;
    default:
      return error;
  }
  const locked: LockedMetadata | undefined = Reflect.getMetadata(
    ZZLOCK_LOCKED_METADATA,
    context.getHandler(),
  );
  const retryAfter = Math.max(1, locked?.retryAfter ?? ZZLOCK_NEST_DEFAULTS.retryAfterSeconds);
  const response = context.switchToHttp().getResponse<HeaderTarget>();
  setHeader(response, 'Retry-After', String(retryAfter));
  // Shutting down: the HTTP server is closing; a kept-alive socket would hold its close() open
  // until the keep-alive timeout, and the client should reconnect (to another replica) anyway.
  if (body.statusCode === HttpStatus.SERVICE_UNAVAILABLE)
    setHeader(response, 'Connection', 'close');
  return new HttpException(body, body.statusCode, { cause: error });
}

function setHeader(response: HeaderTarget | undefined, name: string, value: string): void {
  if (response === undefined || response === null || response.headersSent) return;
  if (typeof response.header === 'function') response.header(name, value);
  else if (typeof response.setHeader === 'function') response.setHeader(name, value);
}
