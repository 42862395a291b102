import { randomUUID } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import { Inject, Injectable } from '@nestjs/common';
import {
  BadRequestException,
  ConflictException,
  NotFoundException,
} from '../../../libs/mesh-model/src/errors';
import { enforcedReferences } from '../../../libs/mesh-model/src/references';
import {
  describeMissing,
  meshId,
  RESOURCE_KINDS,
  resourceArn,
  type ResourceId,
  type ResourceKind,
} from '../../../libs/mesh-model/src/resource-kinds';
import type { ChangeLogEntity } from '../../../libs/persistence/src/entities/change-log.entity';
import {
  MeshStore,
  type MeshWriteTransaction,
  type ResourceSnapshot,
  resourceSnapshot,
  type StoredResource,
  type Tag,
} from '../../../libs/persistence/src/mesh-store';
import { ADMIN_API_OPTIONS, type AdminApiOptions } from './admin-api.options';
import { type HistoryEntry, historyEntry } from './mesh-history.service';

export interface RevertResult {
  body: {
    meshName: string;
    revertedTo: number;
    /** The mesh revision after the revert (unchanged when there was nothing to restore). */
    revision: number;
    /** The change-log rows the revert wrote, oldest first. */
    changes: HistoryEntry[];
  };
  revision: number;
}

/** One resource changed after the target revision, with what it was at that revision. */
interface Restore {
  id: ResourceId;
  /** Null: the resource did not exist at the target revision. */
  state: ResourceSnapshot | null;
}

type Step =
  | { action: 'create'; id: ResourceId; state: ResourceSnapshot }
  | { action: 'update'; current: StoredResource; state: ResourceSnapshot }
  | { action: 'retag'; current: StoredResource; tags: Tag[] }
  | { action: 'delete'; current: StoredResource };

/**
 * Writes in an order that keeps every reference resolvable at each step: what others point at
 * (nodes, routers) is created or updated before what points (routes, then services), and what
 * points is deleted before what it pointed at.
 */
const CREATE_ORDER: Record<ResourceKind, number> = {
  mesh: 0,
  virtualNode: 1,
  virtualRouter: 1,
  route: 2,
  virtualService: 3,
};
const DELETE_ORDER: Record<ResourceKind, number> = {
  virtualService: 4,
  route: 5,
  virtualRouter: 6,
  virtualNode: 7,
  mesh: 8,
};

/**
 * Puts a mesh back as it was at an earlier revision: every resource changed since then returns
 * to its state at that revision, as new writes in one transaction (one revision per resource
 * written), so proxies see one consistent change.
 */
@Injectable()
export class MeshRevertService {
  constructor(
    private readonly store: MeshStore,
    @Inject(ADMIN_API_OPTIONS) private readonly options: AdminApiOptions,
  ) {}

  revert(meshName: string, target: number, actor: string): Promise<RevertResult> {
    return this.store.write(async (tx) => {
      if (!(await tx.lockMesh(meshName))) {
        throw new NotFoundException(describeMissing(meshId(meshName), this.options.accountId));
      }
      const current = await tx.revision(meshName);
      if (target > current) {
        throw new BadRequestException(
          `revision: ${target} is ahead of mesh ${meshName}'s current revision ${current}`,
        );
      }
      const later = await tx.changesAfter(meshName, target);
      const created = later.filter((row) => row.kind === 'mesh' && row.operation === 'CREATE');
      const creation = created[created.length - 1];
      if (creation) {
        throw new BadRequestException(
          `revision: mesh ${meshName} was created at revision ${creation.revision}; ` +
            `it has no state at revision ${target} to go back to`,
        );
      }
      const reason = `revert to revision ${target}`;
      const context = new RevertContext(tx, this.options, meshName, target, actor, reason);
      const { restores, tracing } = statesAt(later);
      const steps = await plan(tx, restores);
      // The mesh itself first, then its tracing, then the children in dependency order.
      for (const step of steps.filter((s) => stepKind(s) === 'mesh')) await context.apply(step);
      if (tracing !== undefined) await context.restoreTracing(tracing);
      for (const step of steps.filter((s) => stepKind(s) !== 'mesh')) await context.apply(step);

      const revision = await tx.revision(meshName);
      const written = await tx.changesAfter(meshName, current);
      return {
        body: { meshName, revertedTo: target, revision, changes: written.map(historyEntry) },
        revision,
      };
    });
  }
}

/**
 * The state of each resource at the target revision: the `before` of its first change after
 * it. The mesh's X-Ray settings likewise (undefined: they did not change since).
 */
function statesAt(later: readonly ChangeLogEntity[]): {
  restores: Restore[];
  tracing: Record<string, unknown> | null | undefined;
} {
  const restores = new Map<string, Restore>();
  let tracing: Record<string, unknown> | null | undefined;
  for (const row of later) {
    if (row.operation === 'TRACING') {
      if (tracing === undefined) tracing = (row.before as Record<string, unknown> | null) ?? null;
      continue;
    }
    const key = JSON.stringify([row.kind, row.parentName, row.name]);
    if (restores.has(key)) continue;
    restores.set(key, {
      id: { meshName: row.meshName, kind: row.kind, parentName: row.parentName, name: row.name },
      state: row.before as ResourceSnapshot | null,
    });
  }
  return { restores: [...restores.values()], tracing };
}

/** The writes that bring each resource back, in dependency order; unchanged ones are skipped. */
async function plan(tx: MeshWriteTransaction, restores: readonly Restore[]): Promise<Step[]> {
  const steps: Step[] = [];
  for (const { id, state } of restores) {
    const current = await tx.get(id);
    if (state === null) {
      if (current) steps.push({ action: 'delete', current });
    } else if (!current) {
      steps.push({ action: 'create', id, state });
    } else if (!isDeepStrictEqual(current.spec, state.spec)) {
      steps.push({ action: 'update', current, state });
    } else if (!isDeepStrictEqual(current.tags, state.tags)) {
      steps.push({ action: 'retag', current, tags: state.tags });
    }
  }
  const rank = (step: Step) =>
    (step.action === 'delete' ? DELETE_ORDER : CREATE_ORDER)[stepKind(step)];
  return steps.sort((a, b) => rank(a) - rank(b) || compare(stepId(a), stepId(b)));
}

/** Applies steps with the checks a write needs; a step that would break a reference refuses. */
class RevertContext {
  constructor(
    private readonly tx: MeshWriteTransaction,
    private readonly options: AdminApiOptions,
    private readonly meshName: string,
    private readonly target: number,
    private readonly actor: string,
    private readonly reason: string,
  ) {}

  async apply(step: Step): Promise<void> {
    const { tx } = this;
    switch (step.action) {
      case 'create': {
        const { id, state } = step;
        await this.checkReferences(id, state.spec);
        const now = new Date();
        const resource: StoredResource = {
          id,
          arn: resourceArn(this.options.region, this.options.accountId, id),
          uid: randomUUID(),
          version: 1,
          spec: state.spec,
          tags: state.tags,
          resourceOwner: this.options.accountId,
          createdAt: now,
          lastUpdatedAt: now,
        };
        await tx.insert(resource);
        await tx.replaceReferences(id, enforcedReferences(id.kind, state.spec));
        await this.record(id, 'CREATE', null, resourceSnapshot(resource));
        return;
      }
      case 'update': {
        const { current, state } = step;
        await this.checkReferences(current.id, state.spec);
        const updated: StoredResource = {
          ...current,
          spec: state.spec,
          tags: state.tags,
          version: current.version + 1,
          lastUpdatedAt: new Date(),
        };
        await tx.update(updated);
        await tx.replaceReferences(current.id, enforcedReferences(current.id.kind, state.spec));
        await this.record(
          current.id,
          'UPDATE',
          resourceSnapshot(current),
          resourceSnapshot(updated),
        );
        return;
      }
      case 'retag': {
        const { current, tags } = step;
        // Tagging leaves the version alone, as TagResource does.
        const retagged: StoredResource = { ...current, tags };
        await tx.update(retagged);
        const removesOnly = tags.every((tag) =>
          current.tags.some((was) => isDeepStrictEqual(was, tag)),
        );
        await this.record(
          current.id,
          removesOnly ? 'UNTAG' : 'TAG',
          resourceSnapshot(current),
          resourceSnapshot(retagged),
        );
        return;
      }
      case 'delete': {
        const { current } = step;
        await this.checkNotInUse(current.id);
        await tx.delete(current.id);
        await this.record(current.id, 'DELETE', resourceSnapshot(current), null);
        return;
      }
    }
  }

  async restoreTracing(settings: Record<string, unknown> | null): Promise<void> {
    const current = await this.tx.tracing(this.meshName);
    // No settings and empty settings mean the same: every field falls back to the server's.
    if (isDeepStrictEqual(current ?? {}, settings ?? {})) return;
    await this.tx.replaceTracing(this.meshName, settings ?? {});
    await this.tx.recordChange({
      id: meshId(this.meshName),
      operation: 'TRACING',
      actor: this.actor,
      before: current ?? null,
      after: settings ?? {},
      reason: this.reason,
    });
  }

  private async record(
    id: ResourceId,
    operation: 'CREATE' | 'UPDATE' | 'DELETE' | 'TAG' | 'UNTAG',
    before: ResourceSnapshot | null,
    after: ResourceSnapshot | null,
  ): Promise<void> {
    await this.tx.recordChange({
      id,
      operation,
      actor: this.actor,
      before,
      after,
      reason: this.reason,
    });
  }

  /** What the restored spec names must exist at this point of the revert. */
  private async checkReferences(id: ResourceId, spec: Record<string, unknown>): Promise<void> {
    if (id.kind === 'route') {
      const router: ResourceId = {
        ...id,
        kind: 'virtualRouter',
        parentName: '',
        name: id.parentName,
      };
      if (!(await this.tx.get(router))) {
        this.refuse(id, `its virtual router ${id.parentName} would not exist`);
      }
    }
    for (const reference of enforcedReferences(id.kind, spec)) {
      const missing = await this.tx.missing(this.meshName, reference.kind, [reference.name]);
      if (missing.length > 0) {
        this.refuse(
          id,
          `${reference.path} names ${RESOURCE_KINDS[reference.kind].typeName} ${reference.name}, which would not exist`,
        );
      }
    }
  }

  /** A resource deleted by the revert must have nothing left that depends on it. */
  private async checkNotInUse(id: ResourceId): Promise<void> {
    const users = (await this.tx.referrers(id)).map(describe);
    if (id.kind === 'virtualRouter') {
      const routes = await this.tx.count('route', id.meshName, id.name);
      if (routes > 0) users.push(`${routes} routes`);
    }
    if (users.length > 0) {
      this.refuse(id, `deleting it would break ${users.join(', ')}, which would still use it`);
    }
  }

  private refuse(id: ResourceId, why: string): never {
    throw new ConflictException(
      `Cannot revert mesh ${this.meshName} to revision ${this.target}: ${describe(id)}: ${why}`,
    );
  }
}

function stepKind(step: Step): ResourceKind {
  return (step.action === 'create' ? step.id : step.current.id).kind;
}

function stepId(step: Step): string {
  const id = step.action === 'create' ? step.id : step.current.id;
  return `${id.kind}/${id.parentName}/${id.name}`;
}

/** `Route web/canary`, `VirtualNode blue`. */
function describe(id: ResourceId): string {
  const name = id.kind === 'route' ? `${id.parentName}/${id.name}` : id.name;
  return `${RESOURCE_KINDS[id.kind].typeName} ${name}`;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
