import { Injectable } from '@nestjs/common';
import { trafficEndpoints } from '../../../../libs/mesh-model/src/cloud-map/endpoints';
import type { MeshSpec, VirtualNodeSpec } from '../../../../libs/mesh-model/src/validation';
import { MeshStore } from '../../../../libs/persistence/src/mesh-store';
import { RegistryStore } from '../../../../libs/persistence/src/registry-store';
import {
  cloudMapEndpoints,
  ipPreferenceOf,
} from '../../../../libs/translator/src/mesh-to-ir/service-discovery';
import { TranslationErrors } from '../../../../libs/translator/src/translation-errors';

/** Most virtual nodes one answer covers; a mesh has at most 10,000 by default. */
const MAX_NODES = 10_000;

export interface CloudMapNodeView {
  virtualNode: string;
  namespaceName: string;
  serviceName: string;
  attributes: Array<{ key: string; value: string }>;
  /** The registry's service id; null when the namespace or service does not exist. */
  serviceId: string | null;
  registeredInstances: number;
  /** What callers' clusters for each listener port receive, as the translator computes it. */
  endpoints: Array<{ port: number; addresses: Array<{ address: string; port: number }> }>;
  /** Why the endpoint set is empty (or partly so); empty when all is well. */
  problems: string[];
}

/**
 * The registry's side of every Cloud Map–discovered virtual node of a mesh: which service it
 * names, what its callers receive, and why that is nothing when it is (GET
 * /v1/registry/meshes/{mesh}/virtual-nodes). Endpoints are computed with the translator's own
 * function, so this view and the proxies cannot disagree.
 */
@Injectable()
export class RegistryEndpointsViewService {
  constructor(
    private readonly meshes: MeshStore,
    private readonly registry: RegistryStore,
  ) {}

  async virtualNodes(meshName: string): Promise<CloudMapNodeView[] | undefined> {
    const mesh = await this.meshes.get({ meshName, kind: 'mesh', parentName: '', name: meshName });
    if (!mesh) return undefined;
    const nodes = await this.meshes.list('virtualNode', meshName, '', MAX_NODES, undefined);
    const views: CloudMapNodeView[] = [];
    const now = Date.now();
    for (const node of nodes) {
      const spec = node.spec as VirtualNodeSpec;
      const discovery = spec.serviceDiscovery;
      if (discovery === undefined || !('awsCloudMap' in discovery)) continue;
      const cloudMap = discovery.awsCloudMap;
      const found = await this.registry.serviceInstances(
        cloudMap.namespaceName,
        cloudMap.serviceName,
      );
      const instances = found && trafficEndpoints(found.instances, now);
      const registry = { instances: () => instances };
      const errors = new TranslationErrors();
      const ports = (spec.listeners ?? []).map((listener) => listener.portMapping.port);
      const endpoints = ports.map((port) => ({
        port,
        addresses: cloudMapEndpoints(
          cloudMap,
          ipPreferenceOf(spec, mesh.spec as MeshSpec),
          { nodeName: node.id.name, node: spec, port },
          registry,
          errors,
        ),
      }));
      views.push({
        virtualNode: node.id.name,
        namespaceName: cloudMap.namespaceName,
        serviceName: cloudMap.serviceName,
        attributes: cloudMap.attributes ?? [],
        serviceId: found?.service.id ?? null,
        registeredInstances: found?.instances.length ?? 0,
        endpoints,
        problems: errors.list().map((error) => error.message),
      });
    }
    return views;
  }
}
