import { isDeepStrictEqual } from 'node:util';
import { Inject, Injectable } from '@nestjs/common';
import {
  NotFoundException,
  PreconditionFailedException,
} from '../../../libs/mesh-model/src/errors';
import { enforcedReferences } from '../../../libs/mesh-model/src/references';
import {
  describeMissing,
  meshId,
  type ResourceId,
} from '../../../libs/mesh-model/src/resource-kinds';
import { validateOperationInput } from '../../../libs/mesh-model/src/validation';
import {
  appMeshWeights,
  type TargetPercent,
  withWeightedTargets,
} from '../../../libs/mesh-model/src/weighted-targets';
import {
  MeshStore,
  type MeshWriteTransaction,
  resourceSnapshot,
  type StoredResource,
} from '../../../libs/persistence/src/mesh-store';
import { ADMIN_API_OPTIONS, type AdminApiOptions } from './admin-api.options';
import type { WriteResult } from './mesh-resource.service';
import { resourceData } from './resource-data';
import {
  routeConfigurationChanges,
  type RouteConfigurationChange,
} from './route-configuration-preview';

export interface SetWeightsRequest {
  /** The route. */
  id: ResourceId;
  /** Percentages by virtual node, as parsed from the request. */
  targets: TargetPercent[];
  /** The route version the caller last read (`If-Match`); unset: whatever it is now. */
  expectedVersion?: number;
  actor: string;
  reason?: string;
  rolloutId?: string;
}

export interface SetWeightsResult extends WriteResult {
  /** The route's version after the call. */
  version: number;
}

/** A dry run: the route and its clients' route configurations, now and after the change. */
export interface WeightsPreview {
  /** The mesh revision the preview was built from; nothing is written. */
  revision: number;
  /** Whether the spec would change (false: the call would be a no-op). */
  changed: boolean;
  /** RouteData now. */
  before: Record<string, unknown>;
  /** RouteData as the write would leave it. */
  after: Record<string, unknown>;
  routeConfigurations: RouteConfigurationChange[];
}

/** The route as it is and as the new weights would make it. */
interface WeightsPlan {
  current: StoredResource;
  spec: Record<string, unknown>;
  changed: boolean;
}

/**
 * Sets the weighted targets of a route from percentages: the call CI scripts and rollouts make
 * to shift traffic. Idempotent (the same weights again write nothing) and optionally guarded by
 * the route version the caller read.
 */
@Injectable()
export class RouteWeightsService {
  constructor(
    private readonly store: MeshStore,
    @Inject(ADMIN_API_OPTIONS) private readonly options: AdminApiOptions,
  ) {}

  set(request: SetWeightsRequest): Promise<SetWeightsResult> {
    return this.store.write(async (tx) => {
      const { current, spec, changed } = await this.plan(tx, request);
      if (!changed) {
        return {
          body: resourceData(current, this.options.accountId, 'ACTIVE'),
          revision: await tx.revision(request.id.meshName),
          version: current.version,
        };
      }
      const updated: StoredResource = {
        ...current,
        spec,
        version: current.version + 1,
        lastUpdatedAt: new Date(),
      };
      await tx.update(updated);
      await tx.replaceReferences(
        request.id,
        enforcedReferences('route', spec),
        enforcedReferences('route', current.spec),
      );
      const revision = await tx.recordChange({
        id: request.id,
        operation: 'UPDATE',
        actor: request.actor,
        before: resourceSnapshot(current),
        after: resourceSnapshot(updated),
        ...(request.reason !== undefined && { reason: request.reason }),
        ...(request.rolloutId !== undefined && { rolloutId: request.rolloutId }),
      });
      return {
        body: resourceData(updated, this.options.accountId, 'ACTIVE'),
        revision,
        version: updated.version,
      };
    });
  }

  async preview(request: SetWeightsRequest): Promise<WeightsPreview> {
    const { meshName, parentName, name } = request.id;
    // Read under the mesh lock for a consistent mesh; translate after it is released.
    const { plan, resources, revision } = await this.store.write(async (tx) => ({
      plan: await this.plan(tx, request),
      resources: await tx.resources(meshName),
      revision: await tx.revision(meshName),
    }));
    const { current, spec, changed } = plan;
    const after: StoredResource = changed
      ? { ...current, spec, version: current.version + 1, lastUpdatedAt: new Date() }
      : current;
    return {
      revision,
      changed,
      before: resourceData(current, this.options.accountId, 'ACTIVE'),
      after: resourceData(after, this.options.accountId, 'ACTIVE'),
      routeConfigurations: routeConfigurationChanges(
        meshName,
        revision,
        resources,
        parentName,
        name,
        spec,
      ),
    };
  }

  /** Locks the mesh and checks everything a write needs; writes nothing. */
  private async plan(tx: MeshWriteTransaction, request: SetWeightsRequest): Promise<WeightsPlan> {
    const { id } = request;
    const { accountId } = this.options;
    if (!(await tx.lockMesh(id.meshName))) {
      throw new NotFoundException(describeMissing(meshId(id.meshName), accountId));
    }
    const current = await tx.get(id);
    if (!current) {
      const routerId: ResourceId = {
        ...id,
        kind: 'virtualRouter',
        parentName: '',
        name: id.parentName,
      };
      const missing = (await tx.get(routerId)) ? id : routerId;
      throw new NotFoundException(describeMissing(missing, accountId));
    }
    if (request.expectedVersion !== undefined && request.expectedVersion !== current.version) {
      throw new PreconditionFailedException(
        `Route ${id.name} is at version ${current.version}, not ${request.expectedVersion} (If-Match): ` +
          'it changed since it was read; read it again and retry',
      );
    }
    const weights = appMeshWeights(request.targets);
    const spec = withWeightedTargets(current.spec, weights) as Record<string, unknown>;
    // The stored spec stays valid App Mesh: what UpdateRoute would accept.
    validateOperationInput('UpdateRoute', {
      meshName: id.meshName,
      virtualRouterName: id.parentName,
      routeName: id.name,
      spec,
    });
    const names = weights.map((target) => target.virtualNode);
    const missing = await tx.missing(id.meshName, 'virtualNode', names);
    if (missing[0] !== undefined) {
      const node: ResourceId = {
        meshName: id.meshName,
        kind: 'virtualNode',
        parentName: '',
        name: missing[0],
      };
      throw new NotFoundException(`targets.${missing[0]}: ${describeMissing(node, accountId)}`);
    }
    return { current, spec, changed: !isDeepStrictEqual(spec, current.spec) };
  }
}
