import { Inject, Injectable } from '@nestjs/common';
import { NotFoundException } from '../../../../libs/mesh-model/src/errors';
import { describeMissing, meshId } from '../../../../libs/mesh-model/src/resource-kinds';
import { MeshStore } from '../../../../libs/persistence/src/mesh-store';
import { ProxyStatusStore } from '../../../../libs/persistence/src/proxy-status-store';
import type { ProxyStatus } from '../../../../libs/xds/src/proxy-status';
import { ADMIN_API_OPTIONS, type AdminApiOptions } from '../admin-api.options';

export interface Propagation {
  revision: number;
  /** Connected proxies of the mesh. */
  proxies: number;
  /** Proxies that acknowledged configuration built from `revision` or later, for every type. */
  acked: number;
  pending: Array<{ node: string; state: string; syncedRevision?: number }>;
  /** `revision`: the mesh revision of the configuration the proxy rejected. */
  nacked: Array<{ node: string; type: string; message: string; revision?: number }>;
}

/**
 * Whether a mesh revision has reached every connected proxy, from the proxy status rows the
 * xDS replicas write: what CI and rollouts wait on.
 */
@Injectable()
export class PropagationService {
  constructor(
    private readonly meshes: MeshStore,
    private readonly proxies: ProxyStatusStore,
    @Inject(ADMIN_API_OPTIONS) private readonly options: AdminApiOptions,
  ) {}

  /** Propagation of `revision` (by default the mesh's current one); NotFound for no such mesh. */
  async propagation(meshName: string, revision?: number): Promise<Propagation> {
    if (!(await this.meshes.get(meshId(meshName)))) {
      throw new NotFoundException(describeMissing(meshId(meshName), this.options.accountId));
    }
    const target = revision ?? (await this.meshes.revision(meshName));
    const { proxies, behind } = await this.proxies.propagation(
      meshName,
      target,
      this.options.proxyStatusGraceSeconds,
    );
    const propagation: Propagation = {
      revision: target,
      proxies,
      acked: proxies,
      pending: [],
      nacked: [],
    };
    for (const row of behind) {
      const status = row.nackedStatus as ProxyStatus | undefined;
      for (const type of status?.types ?? []) {
        if (type.state === 'NACKED' && type.lastNack) {
          propagation.nacked.push({
            node: row.nodeId,
            type: type.type,
            message: type.lastNack.message,
            revision: type.sentRevision,
          });
        }
      }
      if ((row.syncedRevision ?? -1) < target) {
        propagation.acked -= 1;
        propagation.pending.push({
          node: row.nodeId,
          state: row.state,
          syncedRevision: row.syncedRevision,
        });
      }
    }
    return propagation;
  }
}
