import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import {
  BadRequestException,
  ConflictException,
  LimitExceededException,
  NotFoundException,
  ResourceInUseException,
  TooManyTagsException,
} from '../../../libs/mesh-model/src/errors';
import type { EnforcedReference } from '../../../libs/mesh-model/src/references';
import {
  attachmentsOf,
  describeExisting,
  describeMissing,
  describeResource,
  enforcedReferences,
  limitScopeOf,
  meshId,
  parentId,
  referencedId,
  RESOURCE_KINDS,
  resourceArn,
  type ResourceId,
} from '../../../libs/mesh-model/src/resource-kinds';
import {
  resourceKey,
  type MeshWriteTransaction,
  type ResourceChange,
  type StoredResource,
  type Tag,
} from '../../../libs/persistence/src/mesh-store';
import { ADMIN_API_OPTIONS, type AdminApiOptions } from './admin-api.options';

/**
 * How a writer words a refusal. App Mesh's wording by default; the weights API, rollouts, tag
 * calls and reverts name the same problems in their own terms.
 */
export interface WriteProblems {
  /** `missing` (the mesh, `subject` itself or its parent) does not exist. */
  missing(subject: ResourceId, missing: ResourceId): Error;
  /** A reference of the spec written to `subject` names `target`, which does not exist. */
  missingReference(subject: ResourceId, reference: EnforcedReference, target: ResourceId): Error;
  /** `subject` cannot be deleted while `blockers` use it. */
  inUse(subject: ResourceId, blockers: readonly string[]): Error;
}

/** A change to an existing resource, decided by `next` from what is stored now. */
export interface ResourceUpdate {
  id: ResourceId;
  /**
   * Resources the new spec is expected to reference: they are read with the lock, in the same
   * round trip. A reference not announced here costs one more round trip.
   */
  expectedReferences?: readonly ResourceId[];
  /** The new spec and/or tags; undefined when there is nothing to write. */
  next(current: StoredResource): { spec?: Record<string, unknown>; tags?: Tag[] } | undefined;
  /** `UPDATE` gives a new version; `TAG`/`UNTAG` leave version and last-updated alone, as TagResource does. */
  change: ResourceChange & { operation: 'UPDATE' | 'TAG' | 'UNTAG' };
  problems?: Partial<WriteProblems>;
}

/** What an update will write, once every rule is checked; `updated` is unset when nothing changes. */
export interface PlannedUpdate {
  current: StoredResource;
  updated?: StoredResource;
}

export interface ResourceCreate {
  id: ResourceId;
  spec: Record<string, unknown>;
  tags: Tag[];
  change: ResourceChange & { operation: 'CREATE' };
  problems?: Partial<WriteProblems>;
}

export interface WrittenResource {
  resource: StoredResource;
  /** The mesh revision after the write (the current one when nothing was written). */
  revision: number;
  changed: boolean;
}

/**
 * The one write path for App Mesh resources: every writer (Create/Update/Delete*, tags, the
 * weights API, rollouts, revert) creates, changes and deletes resources through it, inside its
 * own transaction. It locks the mesh, checks App Mesh's rules from the kind's descriptor (parent,
 * references, limits, tags, what a delete would break), then writes the row, the references, the
 * revision, the change log and the NOTIFY — in as few round trips as the mesh lock allows, since
 * every round trip under it holds up the mesh's other writers.
 */
@Injectable()
export class ResourceWrites {
  private readonly appMeshProblems: WriteProblems;

  constructor(@Inject(ADMIN_API_OPTIONS) private readonly options: AdminApiOptions) {
    const { accountId } = options;
    this.appMeshProblems = {
      missing: (_subject, missing) => new NotFoundException(describeMissing(missing, accountId)),
      missingReference: (_subject, reference, target) =>
        new NotFoundException(`${reference.path}: ${describeMissing(target, accountId)}`),
      inUse: (subject, blockers) =>
        new ResourceInUseException(
          `${RESOURCE_KINDS[subject.kind].typeName} ${subject.name} is in use by ${blockers.join(', ')}; delete or update them first`,
        ),
    };
  }

  /**
   * Locks the mesh and reads the resource, its parent and the expected references in one round
   * trip, then checks everything the update needs. Writes nothing.
   */
  async planUpdate(tx: MeshWriteTransaction, update: ResourceUpdate): Promise<PlannedUpdate> {
    const { id } = update;
    const problems = this.problems(update.problems);
    const parent = parentId(id);
    const ids = [id, ...(parent ? [parent] : []), ...(update.expectedReferences ?? [])];
    const found = await tx.lockMeshAndGet(id.meshName, ids);
    if (!found.has(resourceKey(meshId(id.meshName)))) {
      throw problems.missing(id, meshId(id.meshName));
    }
    if (parent && !found.has(resourceKey(parent))) throw problems.missing(id, parent);
    const current = found.get(resourceKey(id));
    if (!current) throw problems.missing(id, id);
    const next = update.next(current);
    if (next === undefined) return { current };
    const tagsOnly = update.change.operation !== 'UPDATE';
    const updated: StoredResource = {
      ...current,
      spec: next.spec ?? current.spec,
      tags: next.tags ?? current.tags,
      ...(!tagsOnly && { version: current.version + 1, lastUpdatedAt: new Date() }),
    };
    if (next.tags !== undefined) this.checkTagCount(next.tags);
    if (next.spec !== undefined) {
      this.checkAgainstParent(id, updated.spec, found);
      await this.checkReferences(tx, updated, found, ids, problems);
      await this.checkAgainstReferences(tx, id, updated.spec, found);
    }
    return { current, updated };
  }

  /** {@link planUpdate}, then the write. */
  async update(tx: MeshWriteTransaction, update: ResourceUpdate): Promise<WrittenResource> {
    const { current, updated } = await this.planUpdate(tx, update);
    if (!updated) {
      return { resource: current, revision: await tx.revision(update.id.meshName), changed: false };
    }
    const revision = await tx.updateResource(current, updated, update.change);
    return { resource: updated, revision, changed: true };
  }

  async create(tx: MeshWriteTransaction, create: ResourceCreate): Promise<WrittenResource> {
    const { id } = create;
    const problems = this.problems(create.problems);
    if (id.kind === 'mesh') {
      await tx.lockMeshCreation();
    } else if (!(await tx.lockMesh(id.meshName))) {
      throw problems.missing(id, meshId(id.meshName));
    }
    const parent = parentId(id);
    const ids = [
      id,
      ...(parent ? [parent] : []),
      ...enforcedReferences(id.kind, create.spec).map((reference) =>
        referencedId(id.meshName, reference),
      ),
    ];
    const found = await tx.getMany(id.meshName, ids);
    if (parent && !found.has(resourceKey(parent))) throw problems.missing(id, parent);
    this.checkAgainstParent(id, create.spec, found);
    if (found.has(resourceKey(id))) throw new ConflictException(describeExisting(id));
    await this.checkLimit(tx, id);
    const now = new Date();
    const resource: StoredResource = {
      id,
      arn: resourceArn(this.options.region, this.options.accountId, id),
      uid: randomUUID(),
      version: 1,
      spec: create.spec,
      tags: create.tags,
      resourceOwner: this.options.accountId,
      createdAt: now,
      lastUpdatedAt: now,
    };
    await this.checkReferences(tx, resource, found, ids, problems);
    await this.checkAgainstReferences(tx, id, create.spec, found);
    this.checkTagCount(create.tags);
    const revision = await tx.createResource(resource, create.change);
    return { resource, revision, changed: true };
  }

  async delete(
    tx: MeshWriteTransaction,
    id: ResourceId,
    change: ResourceChange & { operation: 'DELETE' },
    custom?: Partial<WriteProblems>,
  ): Promise<WrittenResource> {
    const problems = this.problems(custom);
    if (!(await tx.lockMesh(id.meshName))) throw problems.missing(id, meshId(id.meshName));
    // Trellis' resources attached to this one (a route's header rule) are read with it.
    const attachments = attachmentsOf(id);
    const found = await tx.getMany(id.meshName, [id, ...attachments]);
    const current = found.get(resourceKey(id));
    if (!current) throw problems.missing(id, id);
    const blockers = await this.blockers(tx, id);
    if (blockers.length > 0) throw problems.inUse(id, blockers);
    // App Mesh clients know nothing of them, so they never block a delete: they go first, each
    // with its own change-log row, so history shows them and a revert brings them back.
    for (const attachment of attachments) {
      const stored = found.get(resourceKey(attachment));
      if (stored) {
        await tx.deleteResource(stored, {
          ...change,
          reason: change.reason ?? `deleted with ${describeResource(id)}`,
        });
      }
    }
    const revision = await tx.deleteResource(current, change);
    return { resource: current, revision, changed: true };
  }

  private problems(custom: Partial<WriteProblems> | undefined): WriteProblems {
    return custom ? { ...this.appMeshProblems, ...custom } : this.appMeshProblems;
  }

  /** A rule between a spec and its parent's (a route's type against its router's listeners). */
  private checkAgainstParent(
    id: ResourceId,
    spec: Record<string, unknown>,
    found: ReadonlyMap<string, StoredResource>,
  ): void {
    const { checkAgainstParent } = RESOURCE_KINDS[id.kind];
    const parent = parentId(id);
    const stored = parent && found.get(resourceKey(parent));
    if (!checkAgainstParent || !stored) return;
    const problem = checkAgainstParent(spec, { name: stored.id.name, spec: stored.spec });
    if (problem) throw new BadRequestException(`${problem.field}: ${problem.message}`);
  }

  /** A rule between a spec and what its references lead to (a gateway route's target port). */
  private async checkAgainstReferences(
    tx: MeshWriteTransaction,
    id: ResourceId,
    spec: Record<string, unknown>,
    found: ReadonlyMap<string, StoredResource>,
  ): Promise<void> {
    const { checkAgainstReferences } = RESOURCE_KINDS[id.kind];
    if (!checkAgainstReferences) return;
    const problem = await checkAgainstReferences(spec, async (kind, name) => {
      const target: ResourceId = { meshName: id.meshName, kind, parentName: '', name };
      return (found.get(resourceKey(target)) ?? (await tx.get(target)))?.spec;
    });
    if (problem) throw new BadRequestException(`${problem.field}: ${problem.message}`);
  }

  /**
   * Every reference of the spec must exist. `found` holds what was read for `read`; references
   * outside `read` are read now.
   */
  private async checkReferences(
    tx: MeshWriteTransaction,
    resource: StoredResource,
    found: ReadonlyMap<string, StoredResource>,
    read: readonly ResourceId[],
    problems: WriteProblems,
  ): Promise<void> {
    const { id, spec } = resource;
    const references = enforcedReferences(id.kind, spec);
    const readKeys = new Set(read.map(resourceKey));
    const unread = references
      .map((reference) => referencedId(id.meshName, reference))
      .filter((target) => !readKeys.has(resourceKey(target)));
    const more = unread.length > 0 ? await tx.getMany(id.meshName, unread) : undefined;
    for (const reference of references) {
      const target = referencedId(id.meshName, reference);
      const key = resourceKey(target);
      if (!found.has(key) && !more?.has(key))
        throw problems.missingReference(id, reference, target);
    }
  }

  private async checkLimit(tx: MeshWriteTransaction, id: ResourceId): Promise<void> {
    const { kind } = id;
    // One attached resource per App Mesh resource: the Conflict of an existing one is its limit.
    if (kind === 'routeHeaderRule' || kind === 'gatewayRouteHeaderRule') return;
    const limit = this.options.limits[kind];
    const count = await this.countInScope(tx, id);
    if (count >= limit) {
      throw new LimitExceededException(
        `The limit of ${limit} ${RESOURCE_KINDS[id.kind].listMember} in ${limitScopeOf(id)} is reached`,
      );
    }
  }

  private countInScope(tx: MeshWriteTransaction, id: ResourceId): Promise<number> {
    switch (RESOURCE_KINDS[id.kind].limitScope) {
      case 'account':
        return tx.count(id.kind);
      case 'mesh':
        return tx.count(id.kind, id.meshName);
      case 'parent':
      case 'attached':
        return tx.count(id.kind, id.meshName, id.parentName);
    }
  }

  private checkTagCount(tags: readonly Tag[]): void {
    const limit = this.options.limits.tagsPerResource;
    if (tags.length > limit) {
      throw new TooManyTagsException(
        `tags: a resource can have at most ${limit} tags, got ${tags.length}`,
      );
    }
  }

  /** What keeps `id` from being deleted: what lives under it, then what references it. */
  private async blockers(tx: MeshWriteTransaction, id: ResourceId): Promise<string[]> {
    const blockers: string[] = [];
    const { deleteBlockedBy } = RESOURCE_KINDS[id.kind];
    if (deleteBlockedBy === 'everything in the mesh') {
      for (const { kind, count } of await tx.childrenOfMesh(id.meshName)) {
        blockers.push(`${count} ${RESOURCE_KINDS[kind].listMember}`);
      }
    } else {
      for (const kind of deleteBlockedBy) {
        const count = await tx.count(kind, id.meshName, id.name);
        if (count > 0) blockers.push(`${count} ${RESOURCE_KINDS[kind].listMember}`);
      }
    }
    for (const referrer of await tx.referrers(id)) blockers.push(describeResource(referrer));
    return blockers;
  }
}
