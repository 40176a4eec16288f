import {
  HttpException,
  HttpStatus,
  Injectable,
  Logger,
  type CallHandler,
  type ExecutionContext,
  type NestInterceptor,
} from '@nestjs/common';
import { catchError, throwError, type Observable } from 'rxjs';
import { ZZLockError, ZZLockErrorCode } from './core/index.js';
import { HTTP_ANSWER_MESSAGES, routeLockErrorMessage } from './core/errors/messages.js';
import type { LockedMetadata } from './locked.decorator.js';
import { ZZLOCK_LOCKED_METADATA, ZZLOCK_NEST_DEFAULTS } from './zzlock.constants.js';

/**
 * Body of the `423 Locked` answer: Nest's standard error body. The lock's name and the developer's
 * remedy (wait longer, use `tryAcquire()`) are not in it; the error is logged at debug.
 *
 * @example
 * { statusCode: 423, message: 'The resource is locked by another request; retry later.', error: 'Locked' }
 */
export interface LockedResponseBody {
  /** Always 423. */
  statusCode: 423;
  /** A short sentence for the client. */
  message: string;
  /** Always `'Locked'`. */
  error: 'Locked';
}

/**
 * Body of the `503 Service Unavailable` answer of a route whose lock was refused because the
 * application is shutting down (`LockClientClosedError`: retry, on another replica) or could not
 * be asked for because etcd does not answer (`StoreUnavailableError`): Nest's standard error body.
 *
 * @example
 * { statusCode: 503, message: 'The server is shutting down; retry later.', error: 'Service Unavailable' }
 */
export interface LockUnavailableResponseBody {
  /** Always 503. */
  statusCode: 503;
  /** A short sentence for the client. */
  message: string;
  /** Always `'Service Unavailable'`. */
  error: 'Service Unavailable';
}

/**
 * Body of the `500 Internal Server Error` answer of a route that failed with a lock error that is
 * the server's fault: a `LockConfigError` (its holders disagree on `permits`, say) or a
 * `StoreRejectedError` (etcd refuses the credentials, the permissions, or is full). It says
 * nothing about the cause; the error is logged once, with its message and stack.
 *
 * @example
 * { statusCode: 500, message: 'Internal server error', error: 'Internal Server Error' }
 */
export interface LockServerErrorResponseBody {
  /** Always 500. */
  statusCode: 500;
  /** Always `'Internal server error'`, as Nest answers an unknown error. */
  message: string;
  /** Always `'Internal Server Error'`. */
  error: 'Internal Server Error';
}

/** An HTTP response object, as Express or Fastify hand it over. */
interface HeaderTarget {
  headersSent?: boolean;
  header?: (name: string, value: string) => unknown;
  setHeader?: (name: string, value: string) => unknown;
}

/** Distinct server-fault errors an interceptor remembers having logged (then it forgets the oldest). */
const LOGGED_ONCE_LIMIT = 100;

const logger = new Logger('ZZLock');

/**
 * Turns lock errors of HTTP handlers (usually through `@Locked`) into HTTP answers with Nest's
 * standard error body (`statusCode`, `message`, `error`), whose message is meant for the client;
 * what the developer should do is in the log and the README:
 * - `LockBusyError`, `LockTimeoutError`: `423 Locked` with a `Retry-After` header (the route's
 *   `@Locked` `retryAfter`, 1 s by default); logged at debug.
 * - `LockClientClosedError` (shutting down: a request still waiting for its lock is ended at once,
 *   so it does not hold the server open): `503 Service Unavailable`, the same `Retry-After`, and
 *   `Connection: close` so that the closing server is not held open by the kept-alive socket.
 * - `StoreUnavailableError` (etcd does not answer): `503` with `Retry-After`; the outage is logged
 *   once when it starts and once when it ends, each answer at debug.
 * - `LockConfigError`, `StoreRejectedError` (the server is misconfigured, or etcd refuses it):
 *   `500` with a body that says nothing of the cause, and the error logged once (per distinct
 *   message) with its stack.
 *
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
  /** Server-fault errors already logged, by code and message, oldest first. */
  readonly #logged = new Set<string>();

  /** Maps the lock errors of HTTP handlers to 423, 503 and 500 answers (see the class). */
  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (context.getType() !== 'http') return next.handle();
    return next
      .handle()
      .pipe(
        catchError((error: unknown) => throwError(() => this.#toHttpException(error, context))),
      );
  }

  #toHttpException(error: unknown, context: ExecutionContext): unknown {
    if (!(error instanceof ZZLockError)) return error;
    const answer = answerFor(error);
    if (answer === undefined) return error;
    if (answer.statusCode === HttpStatus.INTERNAL_SERVER_ERROR) this.#logOnce(error);
    else logger.debug(`${answer.statusCode} ${answer.error}: ${error.message}`);
    const response = context.switchToHttp().getResponse<HeaderTarget>();
    if (answer.statusCode !== HttpStatus.INTERNAL_SERVER_ERROR) {
      const locked: LockedMetadata | undefined = Reflect.getMetadata(
        ZZLOCK_LOCKED_METADATA,
        context.getHandler(),
      );
      const retryAfter = Math.max(1, locked?.retryAfter ?? ZZLOCK_NEST_DEFAULTS.retryAfterSeconds);
      setHeader(response, 'Retry-After', String(retryAfter));
    }
    // Shutting down: the HTTP server is closing; a kept-alive socket would hold its close() open
    // until the keep-alive timeout, and the client should reconnect (to another replica) anyway.
    if (error.code === ZZLockErrorCode.Closed) setHeader(response, 'Connection', 'close');
    return new HttpException(answer, answer.statusCode, { cause: error });
  }

  /** Logs a server-fault error the first time this interceptor sees its code and message. */
  #logOnce(error: ZZLockError): void {
    const key = `${error.code} ${error.message}`;
    if (this.#logged.has(key)) return;
    if (this.#logged.size >= LOGGED_ONCE_LIMIT) {
      this.#logged.delete(this.#logged.values().next().value as string);
    }
    this.#logged.add(key);
    logger.error(routeLockErrorMessage(error.name, error.code), error.stack ?? error.message);
  }
}

/** The answer to a lock error, or `undefined` for one that passes through. */
function answerFor(
  error: ZZLockError,
): LockedResponseBody | LockUnavailableResponseBody | LockServerErrorResponseBody | undefined {
  switch (error.code) {
    case ZZLockErrorCode.Busy:
    case ZZLockErrorCode.Timeout:
      return { statusCode: 423, message: HTTP_ANSWER_MESSAGES.locked, error: 'Locked' };
    case ZZLockErrorCode.Closed:
      return {
        statusCode: 503,
        message: HTTP_ANSWER_MESSAGES.shuttingDown,
        error: 'Service Unavailable',
      };
    case ZZLockErrorCode.StoreUnavailable:
      return {
        statusCode: 503,
        message: HTTP_ANSWER_MESSAGES.storeUnavailable,
        error: 'Service Unavailable',
      };
    case ZZLockErrorCode.Config:
    case ZZLockErrorCode.StoreRejected:
      return {
        statusCode: 500,
        message: HTTP_ANSWER_MESSAGES.internal,
        error: 'Internal Server Error',
      };
    default:
      return undefined;
  }
}

function setHeader(response: HeaderTarget | undefined, name: string, value: string): void {
  if (response === undefined || response === null || response.headersSent) return;
  if (typeof response.header === 'function') response.header(name, value);
  else if (typeof response.setHeader === 'function') response.setHeader(name, value);
}
