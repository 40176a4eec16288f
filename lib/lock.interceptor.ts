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
 * Every other error, and every non-HTTP context, passes through untouched.
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
  /** Maps busy and timed-out locks of HTTP handlers to 423. */
  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (context.getType() !== 'http') return next.handle();
    return next
      .handle()
      .pipe(catchError((error: unknown) => throwError(() => toLockedException(error, context))));
  }
}

function toLockedException(error: unknown, context: ExecutionContext): unknown {
  if (
    !(error instanceof ZZLockError) ||
    (error.code !== ZZLockErrorCode.Busy && error.code !== ZZLockErrorCode.Timeout)
  ) {
    return error;
  }
  const locked: LockedMetadata | undefined = Reflect.getMetadata(
    ZZLOCK_LOCKED_METADATA,
    context.getHandler(),
  );
  const retryAfter = Math.max(1, locked?.retryAfter ?? ZZLOCK_NEST_DEFAULTS.retryAfterSeconds);
  setHeader(context.switchToHttp().getResponse<HeaderTarget>(), 'Retry-After', String(retryAfter));
  const body: LockedResponseBody = {
    statusCode: HttpStatus.LOCKED,
    error: 'Locked',
    message: error.message,
    lock: error.lockName,
  };
  return new HttpException(body, HttpStatus.LOCKED, { cause: error });
}

function setHeader(response: HeaderTarget | undefined, name: string, value: string): void {
  if (response === undefined || response === null || response.headersSent) return;
  if (typeof response.header === 'function') response.header(name, value);
  else if (typeof response.setHeader === 'function') response.setHeader(name, value);
}
