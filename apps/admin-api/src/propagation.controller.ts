import { Controller, Get, Inject, Param, Query } from '@nestjs/common';
import { BadRequestException, NotFoundException } from '../../../libs/mesh-model/src/errors';
import { describeMissing, meshId } from '../../../libs/mesh-model/src/resource-kinds';
import { MeshStore } from '../../../libs/persistence/src/mesh-store';
import { ProxyStatusStore } from '../../../libs/persistence/src/proxy-status-store';
import type { ProxyStatus } from '../../../libs/xds/src/proxy-status';
import { ADMIN_API_OPTIONS, type AdminApiOptions } from './admin-api.options';

export interface Propagation {
  revision: number;
  /** Connected proxies of the mesh. */
  proxies: number;
  /** Proxies that acknowledged configuration built from `revision` or later, for every type. */
  acked: number;
  pending: Array<{ node: string; state: string; syncedRevision?: number }>;
  nacked: Array<{ node: string; type: string; message: string }>;
}

/** Whether a mesh revision has reached every connected proxy: what CI waits on. */
@Controller('v1/meshes/:meshName/propagation')
export class PropagationController {
  constructor(
    private readonly meshes: MeshStore,
    private readonly proxies: ProxyStatusStore,
    @Inject(ADMIN_API_OPTIONS) private readonly options: AdminApiOptions,
  ) {}

  @Get()
  async get(
    @Param('meshName') meshName: string,
    @Query('revision') revisionParam: unknown,
  ): Promise<Propagation> {
    if (!(await this.meshes.get(meshId(meshName)))) {
      throw new NotFoundException(describeMissing(meshId(meshName), this.options.accountId));
    }
    let revision: number;
    if (revisionParam === undefined) {
      revision = await this.meshes.revision(meshName);
    } else {
      revision = Number(revisionParam);
      if (typeof revisionParam !== 'string' || !Number.isInteger(revision) || revision < 0) {
        throw new BadRequestException('revision: must be a non-negative integer');
      }
    }
    const rows = await this.proxies.list({ mesh: meshName }, this.options.proxyStatusGraceSeconds);
    const propagation: Propagation = { revision, proxies: 0, acked: 0, pending: [], nacked: [] };
    for (const row of rows) {
      if (!row.connected) continue;
      const status = row.status as ProxyStatus;
      propagation.proxies += 1;
      for (const type of status.types) {
        if (type.state === 'NACKED' && type.lastNack) {
          propagation.nacked.push({
            node: status.nodeId,
            type: type.type,
            message: type.lastNack.message,
          });
        }
      }
      if ((status.syncedRevision ?? -1) >= revision) {
        propagation.acked += 1;
      } else {
        propagation.pending.push({
          node: status.nodeId,
          state: status.state,
          syncedRevision: status.syncedRevision,
        });
      }
    }
    return propagation;
  }
}
