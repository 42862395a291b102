import { isDeepStrictEqual } from 'node:util';
import { Inject, Injectable } from '@nestjs/common';
import {
  NotFoundException,
  PreconditionFailedException,
} from '../../../../libs/mesh-model/src/errors';
import { describeMissing, type ResourceId } from '../../../../libs/mesh-model/src/resource-kinds';
import {
  appMeshWeights,
  type TargetPercent,
  weightedRouteSpec,
} from '../../../../libs/mesh-model/src/weighted-targets';
import { MeshStore } from '../../../../libs/persistence/src/mesh-store';
import { ADMIN_API_OPTIONS, type AdminApiOptions } from '../admin-api.options';
import type { WriteResult } from '../app-mesh/mesh-resource.service';
import { resourceData } from '../app-mesh/resource-data';
import { ResourceWrites, type ResourceUpdate } from '../resource-writes';
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

/**
 * Sets the weighted targets of a route from percentages: the call CI scripts and rollouts make
 * to shift traffic. Idempotent (the same weights again write nothing) and optionally guarded by
 * the route version the caller read.
 */
@Injectable()
export class RouteWeightsService {
  constructor(
    private readonly store: MeshStore,
    private readonly writes: ResourceWrites,
    @Inject(ADMIN_API_OPTIONS) private readonly options: AdminApiOptions,
  ) {}

  set(request: SetWeightsRequest): Promise<SetWeightsResult> {
    return this.store.write(request.id.meshName, async (tx) => {
      const { resource, revision } = await this.writes.update(tx, this.update(request));
      return {
        body: resourceData(resource, this.options.accountId, 'ACTIVE'),
        revision,
        version: resource.version,
      };
    });
  }

  async preview(request: SetWeightsRequest): Promise<WeightsPreview> {
    const { meshName, parentName, name } = request.id;
    // Read under the mesh lock for a consistent mesh; translate after it is released.
    const { plan, resources, revision } = await this.store.write(meshName, async (tx) => ({
      plan: await this.writes.planUpdate(tx, this.update(request)),
      resources: await tx.resources(meshName),
      revision: await tx.revision(meshName),
    }));
    const { current } = plan;
    const after = plan.updated ?? current;
    return {
      revision,
      changed: plan.updated !== undefined,
      before: resourceData(current, this.options.accountId, 'ACTIVE'),
      after: resourceData(after, this.options.accountId, 'ACTIVE'),
      routeConfigurations: routeConfigurationChanges(
        meshName,
        revision,
        resources,
        parentName,
        name,
        after.spec,
      ),
    };
  }

  /** The weights as a write: nothing is written when the route has them already. */
  private update(request: SetWeightsRequest): ResourceUpdate {
    const { id } = request;
    const weights = appMeshWeights(request.targets);
    const names = weights.map((target) => target.virtualNode);
    return {
      id,
      expectedReferences: names.map((name) => ({
        meshName: id.meshName,
        kind: 'virtualNode',
        parentName: '',
        name,
      })),
      next: (current) => {
        if (request.expectedVersion !== undefined && request.expectedVersion !== current.version) {
          throw new PreconditionFailedException(
            `Route ${id.name} is at version ${current.version}, not ${request.expectedVersion} (If-Match): ` +
              'it changed since it was read; read it again and retry',
          );
        }
        const spec = weightedRouteSpec(id, current.spec, weights);
        return isDeepStrictEqual(spec, current.spec) ? undefined : { spec };
      },
      change: {
        operation: 'UPDATE',
        actor: request.actor,
        ...(request.reason !== undefined && { reason: request.reason }),
        ...(request.rolloutId !== undefined && { rolloutId: request.rolloutId }),
      },
      problems: {
        missingReference: (_route, reference, target) =>
          new NotFoundException(
            `targets.${reference.name}: ${describeMissing(target, this.options.accountId)}`,
          ),
      },
    };
  }
}
