import { Controller, Get, Res } from '@nestjs/common';
import type { Response } from 'express';
import { DataSource } from 'typeorm';
import { databaseReady } from '../../../libs/persistence/src/data-source';
import { Readiness } from './readiness';

@Controller()
export class HealthController {
  constructor(
    private readonly dataSource: DataSource,
    private readonly readiness: Readiness,
  ) {}

  /** Liveness: the process answers. */
  @Get('healthz')
  healthz(): { status: string } {
    return { status: 'ok' };
  }

  /** Readiness: not shutting down, Postgres answers and every migration is applied. */
  @Get('readyz')
  async readyz(@Res({ passthrough: true }) response: Response): Promise<{ status: string }> {
    if (!this.readiness.accepting) {
      response.status(503);
      return { status: 'shutting down' };
    }
    if (await databaseReady(this.dataSource)) return { status: 'ready' };
    response.status(503);
    return { status: 'database unavailable or migrations pending' };
  }
}
