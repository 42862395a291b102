import { isDeepStrictEqual } from 'node:util';
import { Inject, Injectable } from '@nestjs/common';
import {
  BadRequestException,
  ConflictException,
  NotFoundException,
} from '../../../../libs/mesh-model/src/errors';
import {
  describeMissing,
  describeResource,
  meshId,
  RESOURCE_KINDS,
  type ResourceId,
  type ResourceKind,
} from '../../../../libs/mesh-model/src/resource-kinds';
import type { ChangeLogEntity } from '../../../../libs/persistence/src/entities/change-log.entity';
import {
  MeshStore,
  type MeshWriteTransaction,
  type ResourceSnapshot,
  type StoredResource,
  type Tag,
} from '../../../../libs/persistence/src/mesh-store';
import { ADMIN_API_OPTIONS, type AdminApiOptions } from '../admin-api.options';
import { type HistoryEntry, historyEntry } from './mesh-history.service';
import { ResourceWrites, type WriteProblems } from '../resource-writes';

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

/** Deletes come after every create and update, in reverse dependency order. */
const DELETE_AFTER_WRITES = 100;

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
 * Puts a mesh back as it was at an earlier revision: every resource changed since then returns
 * to its state at that revision, as new writes in one transaction (one revision per resource
 * written), so proxies see one consistent change.
 */
@Injectable()
export class MeshRevertService {
  constructor(
    private readonly store: MeshStore,
    private readonly writes: ResourceWrites,
    @Inject(ADMIN_API_OPTIONS) private readonly options: AdminApiOptions,
  ) {}

  revert(meshName: string, target: number, actor: string): Promise<RevertResult> {
    return this.store.write(meshName, async (tx) => {
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
      const context = new RevertContext(tx, this.writes, meshName, target, actor, reason);
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
  // Dependency order keeps every reference resolvable at each step: what others point at (nodes,
  // routers) is created or updated before what points (routes, then services), and what points
  // is deleted before what it pointed at.
  const rank = (step: Step) =>
    step.action === 'delete'
      ? DELETE_AFTER_WRITES - RESOURCE_KINDS[stepKind(step)].rank
      : RESOURCE_KINDS[stepKind(step)].rank;
  return steps.sort((a, b) => rank(a) - rank(b) || compare(stepId(a), stepId(b)));
}

/** Applies steps through the write path; a step that would break a reference refuses. */
class RevertContext {
  private readonly problems: Partial<WriteProblems>;

  constructor(
    private readonly tx: MeshWriteTransaction,
    private readonly writes: ResourceWrites,
    private readonly meshName: string,
    private readonly target: number,
    private readonly actor: string,
    private readonly reason: string,
  ) {
    this.problems = {
      missing: (subject, missing) =>
        this.refuse(
          subject,
          `its ${RESOURCE_KINDS[missing.kind].displayName} ${missing.name} would not exist`,
        ),
      missingReference: (subject, reference) =>
        this.refuse(
          subject,
          `${reference.path} names ${RESOURCE_KINDS[reference.kind].typeName} ${reference.name}, which would not exist`,
        ),
      inUse: (subject, blockers) =>
        this.refuse(
          subject,
          `deleting it would break ${blockers.join(', ')}, which would still use it`,
        ),
    };
  }

  async apply(step: Step): Promise<void> {
    const { tx, writes, problems } = this;
    const change = { actor: this.actor, reason: this.reason };
    switch (step.action) {
      case 'create':
        await writes.create(tx, {
          id: step.id,
          spec: step.state.spec,
          tags: step.state.tags,
          change: { ...change, operation: 'CREATE' },
          problems,
        });
        return;
      case 'update': {
        const { spec, tags } = step.state;
        await writes.update(tx, {
          id: step.current.id,
          next: () => ({ spec, tags }),
          change: { ...change, operation: 'UPDATE' },
          problems,
        });
        return;
      }
      case 'retag': {
        const { current, tags } = step;
        const removesOnly = tags.every((tag) =>
          current.tags.some((was) => isDeepStrictEqual(was, tag)),
        );
        await writes.update(tx, {
          id: current.id,
          next: () => ({ tags }),
          change: { ...change, operation: removesOnly ? 'UNTAG' : 'TAG' },
          problems,
        });
        return;
      }
      case 'delete':
        await writes.delete(tx, step.current.id, { ...change, operation: 'DELETE' }, problems);
        return;
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

  private refuse(id: ResourceId, why: string): Error {
    return new ConflictException(
      `Cannot revert mesh ${this.meshName} to revision ${this.target}: ${describeResource(id)}: ${why}`,
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

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
