import { Controller, Get } from '@nestjs/common';
import { SettlementService, type SettlementRecord } from './settlement.service.js';

/** `GET /settlement/runs`: which replica ran each settlement tick. */
@Controller('settlement')
export class SettlementController {
  constructor(private readonly settlement: SettlementService) {}

  /** Every recorded settlement run, oldest first. */
  @Get('runs')
  runs(): Promise<SettlementRecord[]> {
    return this.settlement.runs();
  }
}
