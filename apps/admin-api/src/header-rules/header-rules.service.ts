import { isDeepStrictEqual } from 'node:util';
import { Inject, Injectable } from '@nestjs/common';
import {
  NotFoundException,
  PreconditionFailedException,
} from '../../../../libs/mesh-model/src/errors';
import type { HeaderRules } from '../../../../libs/mesh-model/src/header-rules';
import {
  describeMissing,
  describeResource,
  meshId,
  parentId,
  type ResourceId,
} from '../../../../libs/mesh-model/src/resource-kinds';
import {
  MeshStore,
  resourceKey,
  type MeshWriteTransaction,
  type StoredResource,
} from '../../../../libs/persistence/src/mesh-store';
import { ADMIN_API_OPTIONS, type AdminApiOptions } from '../admin-api.options';
import type { WriteResult } from '../app-mesh/mesh-resource.service';
import { resourceData } from '../app-mesh/resource-data';
import { ResourceWrites } from '../resource-writes';

export interface HeaderRuleWrite {
  /** The header rule: kind routeHeaderRule or gatewayRouteHeaderRule, named as its route. */
  id: ResourceId;
  /** `If-Match`: the rule's version the caller read; unset: whatever it is now. */
  expectedVersion?: number;
  actor: string;
}

export interface HeaderRuleWriteResult extends WriteResult {
  /** The rule's version after the call (the deleted version for a delete). */
  version: number;
}

/**
 * Header rules (Trellis' `/v1` resource) of routes and gateway routes: read, set and delete, each
 * write through the one write path, so it has a version, a mesh revision, a change-log row and
 * reaches the proxies like any other change. The route's App Mesh spec is never touched.
 */
@Injectable()
export class HeaderRulesService {
  constructor(
    private readonly store: MeshStore,
    private readonly writes: ResourceWrites,
    @Inject(ADMIN_API_OPTIONS) private readonly options: AdminApiOptions,
  ) {}

  async get(id: ResourceId): Promise<Record<string, unknown>> {
    const rule = await this.store.get(id);
    if (rule) return resourceData(rule, this.options.accountId, 'ACTIVE');
    const route = parentId(id)!;
    const exists = (await this.store.get(route)) !== undefined;
    throw exists ? this.noRule(id) : this.missing(route);
  }

  /** Creates the rule, or replaces it; writing the rule it already has changes nothing. */
  put(request: HeaderRuleWrite, rules: HeaderRules): Promise<HeaderRuleWriteResult> {
    const { id, actor } = request;
    return this.store.write(id.meshName, async (tx) => {
      const current = await this.lockAndRead(tx, id);
      if (!current) {
        if (request.expectedVersion !== undefined) {
          throw new PreconditionFailedException(
            `${describeResource(parentId(id)!)} has no header rule, not version ${request.expectedVersion} (If-Match)`,
          );
        }
        const created = await this.writes.create(tx, {
          id,
          spec: rules as Record<string, unknown>,
          tags: [],
          change: { operation: 'CREATE', actor },
        });
        return this.result(created.resource, created.revision);
      }
      const updated = await this.writes.update(tx, {
        id,
        next: (stored) => {
          this.checkVersion(stored, request.expectedVersion);
          return isDeepStrictEqual(stored.spec, rules)
            ? undefined
            : { spec: rules as Record<string, unknown> };
        },
        change: { operation: 'UPDATE', actor },
      });
      return this.result(updated.resource, updated.revision);
    });
  }

  delete(request: HeaderRuleWrite): Promise<HeaderRuleWriteResult> {
    const { id, actor } = request;
    return this.store.write(id.meshName, async (tx) => {
      const current = await this.lockAndRead(tx, id);
      if (!current) throw this.noRule(id);
      this.checkVersion(current, request.expectedVersion);
      const { resource, revision } = await this.writes.delete(tx, id, {
        operation: 'DELETE',
        actor,
      });
      return {
        body: resourceData(resource, this.options.accountId, 'DELETED', new Date()),
        revision,
        version: resource.version,
      };
    });
  }

  /**
   * Locks the mesh and reads the rule and its route in one round trip: a missing mesh or route
   * is NotFound in App Mesh's words; the rule is undefined when the route has none.
   */
  private async lockAndRead(
    tx: MeshWriteTransaction,
    id: ResourceId,
  ): Promise<StoredResource | undefined> {
    const route = parentId(id)!;
    const found = await tx.lockMeshAndGet(id.meshName, [id, route]);
    if (!found.has(resourceKey(meshId(id.meshName)))) throw this.missing(meshId(id.meshName));
    if (!found.has(resourceKey(route))) throw this.missing(route);
    // A rule created while this statement waited for the mesh lock is not in its result; read
    // again, now that the lock is held, before deciding that there is none.
    return found.get(resourceKey(id)) ?? (await tx.get(id));
  }

  private checkVersion(current: StoredResource, expected: number | undefined): void {
    if (expected === undefined || expected === current.version) return;
    throw new PreconditionFailedException(
      `The header rule of ${describeResource(parentId(current.id)!)} is at version ${current.version}, ` +
        `not ${expected} (If-Match): it changed since it was read; read it again and retry`,
    );
  }

  private result(resource: StoredResource, revision: number): HeaderRuleWriteResult {
    return {
      body: resourceData(resource, this.options.accountId, 'ACTIVE'),
      revision,
      version: resource.version,
    };
  }

  private missing(id: ResourceId): Error {
    return new NotFoundException(describeMissing(id, this.options.accountId));
  }

  private noRule(id: ResourceId): Error {
    return new NotFoundException(
      `${describeResource(parentId(id)!)} in mesh ${id.meshName} has no header rule`,
    );
  }
}
