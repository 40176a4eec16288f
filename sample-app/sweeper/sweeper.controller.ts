import { Controller, Get } from '@nestjs/common';
import { PacketSweeper, type SweeperTermRecord } from './packet-sweeper.service.js';

/** `GET /sweeper/terms`: which replica swept under each term of the sweeper election. */
@Controller('sweeper')
export class SweeperController {
  constructor(private readonly sweeper: PacketSweeper) {}

  /** Every replica's record of every term, oldest term first. */
  @Get('terms')
  terms(): Promise<SweeperTermRecord[]> {
    return this.sweeper.terms();
  }
}
