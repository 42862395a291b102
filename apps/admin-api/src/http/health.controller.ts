import { Controller, Get, Inject, Res } from '@nestjs/common';
import type { Response } from 'express';
import { DataSource } from 'typeorm';
import { databaseReady } from '../../../../libs/persistence/src/data-source';
import { Readiness } from './readiness';
import { ADMIN_API_OPTIONS, type AdminApiOptions } from '../admin-api.options';

@Controller()
export class HealthController {
  constructor(
    private readonly dataSource: DataSource,
    private readonly readiness: Readiness,
    @Inject(ADMIN_API_OPTIONS) private readonly options: AdminApiOptions,
  ) {}

  /**
   * Liveness: the process answers, and its embedded database is up or being restarted. An
   * embedded database that could not be restarted makes it 503 (the process exits non-zero too).
   */
  @Get('healthz')
  healthz(@Res({ passthrough: true }) response: Response): { status: string } {
    const database = this.options.databaseHealth?.() ?? 'up';
    if (database === 'failed') {
      response.status(503);
      return { status: 'embedded database failed and could not be restarted' };
    }
    return { status: database === 'restarting' ? 'ok; embedded database restarting' : 'ok' };
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
