import { Inject, Injectable, Logger } from '@nestjs/common';
import {
  ZZLockErrorCode,
  type LockAcquireFailedEvent,
  type LockAcquiredEvent,
  type LockManager,
} from './core/index.js';
import { acquisitionOutageMessage, acquisitionRecoveredMessage } from './core/errors/messages.js';
import { ZZLOCK_MANAGER } from './zzlock.constants.js';

const logger = new Logger('ZZLock');

/**
 * Logs an outage of lock acquisitions once: one warning (with the first `StoreUnavailableError`'s
 * message, which names the cause) when acquisitions start failing because etcd does not answer,
 * one line when one is granted again. The failures in between (every route's 503, every skipped
 * cron tick) are not logged again; each route answer and skip is at debug. It observes the
 * manager, so it sees every acquisition: `@Locked`, `LockService` and `LockClient` calls alike.
 * One per `ZZLockModule`.
 * @internal not exported from the package
 *
 * @example
 * // Provided by ZZLockModule; nothing to call: it observes ZZLOCK_MANAGER from its constructor.
 */
@Injectable()
export class AcquisitionOutageLog {
  /** Acquisitions failed with the store unavailable since the outage started; 0: no outage. */
  #failures = 0;

  /** @param manager The application's lock manager (`ZZLOCK_MANAGER`), observed from here on. */
  constructor(@Inject(ZZLOCK_MANAGER) manager: LockManager) {
    manager.observe({
      acquireFailed: (event) => this.#failed(event),
      acquired: (event) => this.#granted(event),
    });
  }

  #failed(event: LockAcquireFailedEvent): void {
    if (event.outcome !== ZZLockErrorCode.StoreUnavailable) return;
    this.#failures += 1;
    if (this.#failures === 1) logger.warn(acquisitionOutageMessage(event.error));
  }

  #granted(event: LockAcquiredEvent): void {
    // A re-entrant grant asks the store nothing, so it proves nothing about it.
    if (event.reentrant || this.#failures === 0) return;
    const failures = this.#failures;
    this.#failures = 0;
    logger.log(acquisitionRecoveredMessage(failures));
  }
}
