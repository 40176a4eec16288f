import { Controller, Get, Header } from '@nestjs/common';
import { register } from 'prom-client';

/**
 * `GET /metrics`: prom-client's default registry in Prometheus text format — zzlock's metrics
 * (registered by the module with no configuration), the app's own and Node's process metrics.
 */
@Controller('metrics')
export class MetricsController {
  /** The registry's metrics, for a Prometheus scrape. */
  @Get()
  @Header('Content-Type', register.contentType)
  metrics(): Promise<string> {
    return register.metrics();
  }
}
