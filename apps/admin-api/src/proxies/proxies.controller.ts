import { Controller, Get, Inject, Param, Query } from '@nestjs/common';
import { BadRequestException, NotFoundException } from '../../../../libs/mesh-model/src/errors';
import { ProxyStatusStore } from '../../../../libs/persistence/src/proxy-status-store';
import { ADMIN_API_OPTIONS, type AdminApiOptions } from '../admin-api.options';

/**
 * Trellis' own API: which proxy has which configuration. Several proxies may share a node
 * id (App Mesh sidecars use their virtual node's), so both endpoints answer a list.
 */
@Controller('v1/proxies')
export class ProxiesController {
  constructor(
    private readonly store: ProxyStatusStore,
    @Inject(ADMIN_API_OPTIONS) private readonly options: AdminApiOptions,
  ) {}

  @Get()
  async list(@Query('mesh') mesh: unknown): Promise<{ proxies: unknown[] }> {
    if (mesh !== undefined && typeof mesh !== 'string')
      throw new BadRequestException('mesh: must be given once');
    const rows = await this.store.list({ mesh }, this.options.proxyStatusGraceSeconds);
    return {
      proxies: rows.map((row) => ({ ...(row.status as object), connected: row.connected })),
    };
  }

  /** `nodeId` is URL-encoded: `/v1/proxies/mesh%2Fdemo%2FvirtualNode%2Fweb`. */
  @Get(':nodeId')
  async byNode(@Param('nodeId') nodeId: string): Promise<{ proxies: unknown[] }> {
    const rows = await this.store.list({ nodeId }, this.options.proxyStatusGraceSeconds);
    if (rows.length === 0)
      throw new NotFoundException(`No proxy with node id ${nodeId} is connected`);
    return {
      proxies: rows.map((row) => ({ ...(row.status as object), connected: row.connected })),
    };
  }
}
