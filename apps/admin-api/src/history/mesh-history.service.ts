import { Inject, Injectable } from '@nestjs/common';
import { NotFoundException } from '../../../../libs/mesh-model/src/errors';
import {
  describeMissing,
  meshId,
  resourcePath,
  type ResourceKind,
} from '../../../../libs/mesh-model/src/resource-kinds';
import type {
  ChangeLogEntity,
  ChangeOperation,
} from '../../../../libs/persistence/src/entities/change-log.entity';
import { type ChangeFilter, MeshStore } from '../../../../libs/persistence/src/mesh-store';
import { ADMIN_API_OPTIONS, type AdminApiOptions } from '../admin-api.options';
import { decodePageToken, encodePageToken, isRevision } from '../app-mesh/page-token';

/** One change-log row as `GET /v1/meshes/{mesh}/history` shows it. */
export interface HistoryEntry {
  revision: number;
  /** When the change was committed, ISO 8601. */
  time: string;
  /** The access key id of the request that made it (`anonymous` without one). */
  actor: string;
  kind: ResourceKind;
  name: string;
  /** The virtual router of a route; null for every other kind. */
  parent: string | null;
  /** `mesh/<mesh>/virtualRouter/<router>/route/<route>` and the other ARN resource paths. */
  resource: string;
  operation: ChangeOperation;
  /**
   * `{spec, tags, version}` before and after; null before a create and after a delete. For a
   * TRACING change (kind mesh) these are the mesh's X-Ray settings.
   */
  before: unknown;
  after: unknown;
  reason: string | null;
  rolloutId: string | null;
}

export interface HistoryPage {
  meshName: string;
  /** The mesh's current revision. */
  revision: number;
  /** Newest first. */
  changes: HistoryEntry[];
  nextToken?: string;
}

export function historyEntry(row: ChangeLogEntity): HistoryEntry {
  return {
    revision: row.revision,
    time: row.createdAt.toISOString(),
    actor: row.actor,
    kind: row.kind,
    name: row.name,
    parent: row.parentName === '' ? null : row.parentName,
    resource: resourcePath({
      meshName: row.meshName,
      kind: row.kind,
      parentName: row.parentName,
      name: row.name,
    }),
    operation: row.operation,
    before: row.before,
    after: row.after,
    reason: row.reason,
    rolloutId: row.rolloutId,
  };
}

/** The change log of a mesh as an audit trail: who changed what, when, why, from what to what. */
@Injectable()
export class MeshHistoryService {
  constructor(
    private readonly store: MeshStore,
    @Inject(ADMIN_API_OPTIONS) private readonly options: AdminApiOptions,
  ) {}

  /**
   * One page of the history, newest first. A deleted mesh keeps its history (its revision
   * counter outlives it); a mesh name that never had a write is NotFound.
   */
  async list(
    meshName: string,
    filter: ChangeFilter,
    limit: number,
    nextToken: string | undefined,
  ): Promise<HistoryPage> {
    const revision = await this.store.revision(meshName);
    if (revision === 0 && !(await this.store.get(meshId(meshName)))) {
      throw new NotFoundException(describeMissing(meshId(meshName), this.options.accountId));
    }
    const rows = await this.store.history(
      meshName,
      filter,
      limit + 1,
      decodePageToken(nextToken, isRevision),
    );
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    return {
      meshName,
      revision,
      changes: page.map(historyEntry),
      ...(rows.length > limit && last && { nextToken: encodePageToken(last.revision) }),
    };
  }
}
