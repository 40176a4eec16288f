import { Injectable } from '@nestjs/common';
import { Counter, register } from 'prom-client';

/** How a grab was served: under the packet's lock, or by the unlocked twin. */
export type GrabMode = 'locked' | 'unlocked';

/** How a grab ended. */
export type GrabOutcome = 'granted' | 'empty' | 'stale-fence' | 'concurrent-write' | 'lock-lost';

const GRABS_METRIC = 'redpacket_grabs_total';

/**
 * The sample app's own business metrics, next to zzlock's in prom-client's default registry:
 * `redpacket_grabs_total{mode, outcome}`.
 */
@Injectable()
export class RedPacketMetrics {
  readonly #grabs: Counter<'mode' | 'outcome'> =
    (register.getSingleMetric(GRABS_METRIC) as Counter<'mode' | 'outcome'> | undefined) ??
    new Counter({
      name: GRABS_METRIC,
      help: 'Red-packet grabs served by this replica, by mode (locked, unlocked) and outcome.',
      labelNames: ['mode', 'outcome'],
    });

  /** Counts one grab. */
  grab(mode: GrabMode, outcome: GrabOutcome): void {
    this.#grabs.inc({ mode, outcome });
  }
}
