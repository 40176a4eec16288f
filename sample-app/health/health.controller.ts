import { Controller, Get } from '@nestjs/common';
import { HealthCheck, HealthCheckService, type HealthCheckResult } from '@nestjs/terminus';
import { ZZLockHealthIndicator } from '../../lib/index.js';

/**
 * `GET /health`: terminus's report with zzlock's indicator — every etcd member probed on its own
 * (reachable, latency, member id, leader, Raft term, db size, errors) and this replica's leases.
 * 200 when up; 503 when a majority of members is unreachable or there is no leader.
 */
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly zzlock: ZZLockHealthIndicator,
  ) {}

  /** Runs the checks. */
  @Get()
  @HealthCheck()
  check(): Promise<HealthCheckResult> {
    return this.health.check([() => this.zzlock.isHealthy('etcd')]);
  }
}
