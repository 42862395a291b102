import { createHash, randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import {
  BadRequestException,
  ConflictException,
  LimitExceededException,
  NotFoundException,
  ResourceInUseException,
  TooManyTagsException,
} from '../../../libs/mesh-model/src/errors';
import {
  enforcedReferences,
  type EnforcedReference,
} from '../../../libs/mesh-model/src/references';
import {
  describeExisting,
  describeMissing,
  meshId,
  RESOURCE_KINDS,
  resourceArn,
  type ResourceId,
  type ResourceKind,
} from '../../../libs/mesh-model/src/resource-kinds';
import {
  MeshStore,
  resourceKey,
  resourceSnapshot,
  type MeshWriteTransaction,
  type StoredResource,
  type Tag,
} from '../../../libs/persistence/src/mesh-store';
import { ADMIN_API_OPTIONS, type AdminApiOptions } from './admin-api.options';
import { decodePageToken, encodePageToken, isName } from './page-token';
import { resourceData, resourceRef } from './resource-data';

export interface WriteRequest {
  /** The App Mesh operation name, part of the client-token fingerprint. */
  operation: string;
  id: ResourceId;
  spec: Record<string, unknown>;
  tags?: Tag[];
  clientToken?: string;
  actor: string;
}

export interface WriteResult {
  /** The `*Data` response body (or `{}` for tag operations). */
  body: Record<string, unknown>;
  /** The mesh revision this write produced (or produced first, for a replay). */
  revision: number;
}

export interface Page {
  items: Record<string, unknown>[];
  nextToken?: string;
}

const ROUTE_PROTOCOLS = {
  httpRoute: 'http',
  http2Route: 'http2',
  grpcRoute: 'grpc',
  tcpRoute: 'tcp',
} as const;

/**
 * App Mesh semantics over the store: existence, references, in-use checks, limits,
 * client tokens, versions and the change log. Spec shapes are validated before a request
 * gets here; every rule that needs other resources lives here.
 */
@Injectable()
export class MeshResourceService {
  constructor(
    private readonly store: MeshStore,
    @Inject(ADMIN_API_OPTIONS) private readonly options: AdminApiOptions,
  ) {}

  async describe(id: ResourceId): Promise<Record<string, unknown>> {
    const resource = await this.store.get(id);
    if (!resource) throw new NotFoundException(describeMissing(id, this.options.accountId));
    return resourceData(resource, this.options.accountId, 'ACTIVE');
  }

  async list(
    kind: ResourceKind,
    meshName: string | undefined,
    parentName: string,
    limit: number | undefined,
    nextToken: string | undefined,
  ): Promise<Page> {
    if (meshName !== undefined) await this.requireExisting(meshId(meshName));
    if (meshName !== undefined && kind === 'route') {
      await this.requireExisting({
        meshName,
        kind: 'virtualRouter',
        parentName: '',
        name: parentName,
      });
    }
    const pageSize = limit ?? 100;
    const rows = await this.store.list(
      kind,
      meshName,
      parentName,
      pageSize + 1,
      decodePageToken(nextToken, isName),
    );
    const page = rows.slice(0, pageSize);
    const last = page[page.length - 1];
    return {
      items: page.map((row) => resourceRef(row, this.options.accountId)),
      nextToken: rows.length > pageSize && last ? encodePageToken(last.id.name) : undefined,
    };
  }

  create(request: WriteRequest): Promise<WriteResult> {
    return this.idempotentWrite(request, async (tx) => {
      const { id } = request;
      if (id.kind === 'mesh') {
        await tx.lockMeshCreation();
      } else if (!(await tx.lockMesh(id.meshName))) {
        throw new NotFoundException(describeMissing(meshId(id.meshName), this.options.accountId));
      }
      const references = enforcedReferences(id.kind, request.spec);
      const found = await tx.getMany(id.meshName, this.involved(request, references));
      if (id.kind === 'route') this.checkRouteAgainstRouter(found, request);
      if (found.has(resourceKey(id))) {
        throw new ConflictException(describeExisting(id));
      }
      await this.checkLimit(tx, id);
      this.checkReferences(found, request, references);
      this.checkTagCount(request.tags ?? []);
      const now = new Date();
      const resource: StoredResource = {
        id,
        arn: resourceArn(this.options.region, this.options.accountId, id),
        uid: randomUUID(),
        version: 1,
        spec: request.spec,
        tags: request.tags ?? [],
        resourceOwner: this.options.accountId,
        createdAt: now,
        lastUpdatedAt: now,
      };
      await tx.insert(resource);
      await tx.replaceReferences(id, references, []);
      const revision = await tx.recordChange({
        id,
        operation: 'CREATE',
        actor: request.actor,
        before: null,
        after: resourceSnapshot(resource),
      });
      return { body: resourceData(resource, this.options.accountId, 'ACTIVE'), revision };
    });
  }

  update(request: WriteRequest): Promise<WriteResult> {
    return this.idempotentWrite(request, async (tx) => {
      const { id } = request;
      const references = enforcedReferences(id.kind, request.spec);
      // One round trip for the lock and the reads: every round trip while the mesh is
      // locked holds up its other writers.
      const found = await tx.lockMeshAndGet(id.meshName, this.involved(request, references));
      if (!found.has(resourceKey(meshId(id.meshName)))) {
        throw new NotFoundException(describeMissing(meshId(id.meshName), this.options.accountId));
      }
      const current = found.get(resourceKey(id));
      if (!current) throw new NotFoundException(describeMissing(id, this.options.accountId));
      if (id.kind === 'route') this.checkRouteAgainstRouter(found, request);
      this.checkReferences(found, request, references);
      const updated: StoredResource = {
        ...current,
        spec: request.spec,
        version: current.version + 1,
        lastUpdatedAt: new Date(),
      };
      await tx.replaceReferences(id, references, enforcedReferences(id.kind, current.spec));
      const revision = await tx.updateAndRecordChange(updated, {
        operation: 'UPDATE',
        actor: request.actor,
        before: resourceSnapshot(current),
        after: resourceSnapshot(updated),
      });
      return { body: resourceData(updated, this.options.accountId, 'ACTIVE'), revision };
    });
  }

  delete(id: ResourceId, actor: string): Promise<WriteResult> {
    return this.store.write(async (tx) => {
      if (!(await tx.lockMesh(id.meshName))) {
        throw new NotFoundException(describeMissing(meshId(id.meshName), this.options.accountId));
      }
      const current = await tx.get(id);
      if (!current) throw new NotFoundException(describeMissing(id, this.options.accountId));
      await this.checkNotInUse(tx, id);
      await tx.delete(id);
      const revision = await tx.recordChange({
        id,
        operation: 'DELETE',
        actor,
        before: resourceSnapshot(current),
        after: null,
      });
      return {
        body: resourceData(current, this.options.accountId, 'DELETED', new Date()),
        revision,
      };
    });
  }

  async listTags(
    arn: string,
    limit: number | undefined,
    nextToken: string | undefined,
  ): Promise<{ tags: Tag[]; nextToken?: string }> {
    const resource = await this.store.findByArn(arn);
    if (!resource) throw new NotFoundException(`No resource with ARN ${arn}`);
    const sorted = [...resource.tags].sort((a, b) => compare(a.key, b.key));
    const after = decodePageToken(nextToken, isName);
    const remaining =
      after === undefined ? sorted : sorted.filter((tag) => compare(tag.key, after) > 0);
    const pageSize = limit ?? 50;
    const page = remaining.slice(0, pageSize);
    const last = page[page.length - 1];
    return {
      tags: page,
      nextToken: remaining.length > pageSize && last ? encodePageToken(last.key) : undefined,
    };
  }

  /** Adds or overwrites tags; with more than the tag limit in the end, applies none. */
  tag(arn: string, tags: Tag[], actor: string): Promise<WriteResult> {
    return this.changeTags(arn, actor, 'TAG', (current) => {
      const merged = new Map(current.map((tag) => [tag.key, tag]));
      for (const tag of tags) merged.set(tag.key, tag);
      return [...merged.values()];
    });
  }

  untag(arn: string, tagKeys: string[], actor: string): Promise<WriteResult> {
    const removed = new Set(tagKeys);
    return this.changeTags(arn, actor, 'UNTAG', (current) =>
      current.filter((tag) => !removed.has(tag.key)),
    );
  }

  private changeTags(
    arn: string,
    actor: string,
    operation: 'TAG' | 'UNTAG',
    next: (current: Tag[]) => Tag[],
  ): Promise<WriteResult> {
    return this.store.write(async (tx) => {
      const found = await this.store.findByArn(arn);
      if (!found || !(await tx.lockMesh(found.id.meshName))) {
        throw new NotFoundException(`No resource with ARN ${arn}`);
      }
      const current = await tx.get(found.id);
      if (!current) throw new NotFoundException(`No resource with ARN ${arn}`);
      const tags = next(current.tags);
      this.checkTagCount(tags);
      await tx.update({ ...current, tags });
      const revision = await tx.recordChange({
        id: current.id,
        operation,
        actor,
        before: resourceSnapshot(current),
        after: resourceSnapshot({ ...current, tags }),
      });
      return { body: {}, revision };
    });
  }

  /**
   * Runs a Create/Update at most once per client token: a retry with the same token and
   * request gets the first answer and changes nothing.
   */
  private idempotentWrite(
    request: WriteRequest,
    write: (tx: MeshWriteTransaction) => Promise<WriteResult>,
  ): Promise<WriteResult> {
    return this.store.write(async (tx) => {
      const { clientToken } = request;
      if (clientToken !== undefined) {
        const previous = await tx.claimClientToken(clientToken, fingerprint(request));
        if (previous) {
          return {
            body: previous.response as Record<string, unknown>,
            revision: previous.revision ?? 0,
          };
        }
      }
      const result = await write(tx);
      if (clientToken !== undefined) {
        await tx.completeClientToken(clientToken, result.body, result.revision);
      }
      return result;
    });
  }

  private async requireExisting(id: ResourceId): Promise<void> {
    if (!(await this.store.get(id))) {
      throw new NotFoundException(describeMissing(id, this.options.accountId));
    }
  }

  private async checkLimit(tx: MeshWriteTransaction, id: ResourceId): Promise<void> {
    const limit = this.options.limits[id.kind];
    const count =
      id.kind === 'mesh'
        ? await tx.count('mesh')
        : await tx.count(id.kind, id.meshName, id.kind === 'route' ? id.parentName : undefined);
    if (count >= limit) {
      const scope =
        id.kind === 'mesh'
          ? 'this account'
          : id.kind === 'route'
            ? `virtual router ${id.parentName}`
            : `mesh ${id.meshName}`;
      throw new LimitExceededException(
        `The limit of ${limit} ${RESOURCE_KINDS[id.kind].listMember} in ${scope} is reached`,
      );
    }
  }

  private checkTagCount(tags: Tag[]): void {
    const limit = this.options.limits.tagsPerResource;
    if (tags.length > limit) {
      throw new TooManyTagsException(
        `tags: a resource can have at most ${limit} tags, got ${tags.length}`,
      );
    }
  }

  /** What a Create/Update checks: the resource, a route's virtual router, what the spec references. */
  private involved(request: WriteRequest, references: readonly EnforcedReference[]): ResourceId[] {
    const { id } = request;
    const ids = [id, ...references.map((reference) => referencedId(id.meshName, reference))];
    if (id.kind === 'route') ids.push(routerOf(id));
    return ids;
  }

  /** References named in the spec must exist in the mesh (NotFoundException otherwise). */
  private checkReferences(
    found: ReadonlyMap<string, StoredResource>,
    request: WriteRequest,
    references: readonly EnforcedReference[],
  ): void {
    for (const kind of ['virtualNode', 'virtualRouter'] as const) {
      const first = references.find(
        (reference) =>
          reference.kind === kind &&
          !found.has(resourceKey(referencedId(request.id.meshName, reference))),
      );
      if (first) {
        const target = referencedId(request.id.meshName, first);
        throw new NotFoundException(
          `${first.path}: ${describeMissing(target, this.options.accountId)}`,
        );
      }
    }
  }

  /** A route needs its router, and its type must match one of the router's listeners. */
  private checkRouteAgainstRouter(
    found: ReadonlyMap<string, StoredResource>,
    request: WriteRequest,
  ): void {
    const routerId = routerOf(request.id);
    const router = found.get(resourceKey(routerId));
    if (!router) throw new NotFoundException(describeMissing(routerId, this.options.accountId));
    const listeners = router.spec.listeners;
    if (!Array.isArray(listeners) || listeners.length === 0) return;
    const protocols = new Set(
      listeners.map(
        (listener: { portMapping?: { protocol?: string } }) => listener.portMapping?.protocol,
      ),
    );
    for (const [routeType, protocol] of Object.entries(ROUTE_PROTOCOLS)) {
      if (request.spec[routeType] !== undefined && !protocols.has(protocol)) {
        throw new BadRequestException(
          `spec.${routeType}: virtual router ${routerId.name} has no ${protocol} listener (listener protocols: ${[...protocols].join(', ')})`,
        );
      }
    }
  }

  private async checkNotInUse(tx: MeshWriteTransaction, id: ResourceId): Promise<void> {
    const blockers: string[] = [];
    if (id.kind === 'mesh') {
      for (const { kind, count } of await tx.childrenOfMesh(id.meshName)) {
        blockers.push(`${count} ${RESOURCE_KINDS[kind].listMember}`);
      }
    }
    if (id.kind === 'virtualRouter') {
      const routes = await tx.count('route', id.meshName, id.name);
      if (routes > 0) blockers.push(`${routes} routes`);
    }
    for (const referrer of await tx.referrers(id)) {
      blockers.push(
        `${RESOURCE_KINDS[referrer.kind].typeName} ${referrer.parentName ? `${referrer.parentName}/` : ''}${referrer.name}`,
      );
    }
    if (blockers.length > 0) {
      throw new ResourceInUseException(
        `${RESOURCE_KINDS[id.kind].typeName} ${id.name} is in use by ${blockers.join(', ')}; delete or update them first`,
      );
    }
  }
}

/** The virtual router a route belongs to. */
function routerOf(route: ResourceId): ResourceId {
  return {
    meshName: route.meshName,
    kind: 'virtualRouter',
    parentName: '',
    name: route.parentName,
  };
}

function referencedId(meshName: string, reference: EnforcedReference): ResourceId {
  return { meshName, kind: reference.kind, parentName: '', name: reference.name };
}

function fingerprint(request: WriteRequest): string {
  return createHash('sha256')
    .update(JSON.stringify([request.operation, request.id, request.spec, request.tags ?? null]))
    .digest('hex');
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
