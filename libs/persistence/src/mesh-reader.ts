import type { DataSource, EntityManager } from 'typeorm';
import type { ResourceKind } from '../../mesh-model/src/resource-kinds';
import { onPool } from './transaction-scope';

/** One stored resource of a mesh, as the xDS role reads it. */
export interface MeshResourceRow {
  kind: ResourceKind;
  /** The virtual router of a route; '' otherwise. */
  parentName: string;
  name: string;
  spec: Record<string, unknown>;
}

/** Everything stored for one mesh at one revision. */
export interface MeshContents {
  meshName: string;
  revision: number;
  resources: MeshResourceRow[];
  /** The mesh's tracing settings from the native API, if any were set. */
  tracing?: Record<string, unknown>;
}

/** What was written in a mesh after a revision, read from the change log and those rows only. */
export interface MeshChanges {
  meshName: string;
  /** The revision the changes bring the mesh to. */
  revision: number;
  /** The current rows of the resources written (created, updated or retagged) since. */
  resources: MeshResourceRow[];
  /** Resources deleted since. */
  removed: Array<Pick<MeshResourceRow, 'kind' | 'parentName' | 'name'>>;
  /** Present when the mesh's tracing settings were written since: the settings now. */
  tracing?: { settings: Record<string, unknown> | undefined };
}

interface ResourceRow {
  kind: ResourceKind;
  parent_name: string;
  name: string;
  spec: Record<string, unknown>;
}

/** Reads meshes for the xDS role: whole meshes or what changed, at a consistent revision. */
export class MeshReader {
  constructor(private readonly dataSource: DataSource) {}

  /** The mesh as one consistent snapshot; undefined when the mesh does not exist. */
  load(meshName: string): Promise<MeshContents | undefined> {
    return this.consistentRead(async (manager) => {
      const rows: ResourceRow[] = await manager.query(
        `SELECT kind, parent_name, name, spec FROM mesh_resource WHERE mesh_name = $1
           ORDER BY kind, parent_name, name`,
        [meshName],
      );
      const revision = await this.revisionIn(manager, meshName);
      const tracing = await this.tracingIn(manager, meshName);
      if (!rows.some((row) => row.kind === 'mesh')) return undefined;
      return { meshName, revision, resources: rows.map(resourceRow), tracing };
    });
  }

  /**
   * What was written in a mesh after revision `since`, consistent with the revision it reports.
   * Every write adds one change-log row per revision, so only the rows the log names are read.
   * Undefined when the log does not account for every revision since (or the revision went
   * backwards): the caller then loads the whole mesh.
   */
  changesSince(meshName: string, since: number): Promise<MeshChanges | undefined> {
    return this.consistentRead(async (manager) => {
      const revision = await this.revisionIn(manager, meshName);
      const logged: Array<{
        kind: ResourceKind;
        parent_name: string;
        name: string;
        operation: string;
      }> = await manager.query(
        `SELECT kind, parent_name, name, operation FROM change_log
             WHERE mesh_name = $1 AND revision > $2 AND revision <= $3 ORDER BY revision`,
        [meshName, since, revision],
      );
      if (revision < since || logged.length !== revision - since) return undefined;
      const changes: MeshChanges = { meshName, revision, resources: [], removed: [] };
      const written = new Map(
        logged.map((row) => [`${row.kind}\u0000${row.parent_name}\u0000${row.name}`, row]),
      );
      if (written.size > 0) {
        const keys = [...written.values()];
        const rows: ResourceRow[] = await manager.query(
          `SELECT kind, parent_name, name, spec FROM mesh_resource
             WHERE mesh_name = $1 AND (kind, parent_name, name) IN
               (SELECT * FROM unnest($2::text[], $3::text[], $4::text[]))`,
          [
            meshName,
            keys.map((key) => key.kind),
            keys.map((key) => key.parent_name),
            keys.map((key) => key.name),
          ],
        );
        for (const row of rows) {
          written.delete(`${row.kind}\u0000${row.parent_name}\u0000${row.name}`);
          changes.resources.push(resourceRow(row));
        }
        for (const gone of written.values()) {
          changes.removed.push({ kind: gone.kind, parentName: gone.parent_name, name: gone.name });
        }
      }
      // Deleting a mesh deletes its tracing settings without a TRACING row of its own: read them
      // again whenever the window holds a mesh deletion (the mesh may exist again by now).
      if (
        logged.some(
          (row) =>
            row.operation === 'TRACING' || (row.kind === 'mesh' && row.operation === 'DELETE'),
        )
      ) {
        changes.tracing = { settings: await this.tracingIn(manager, meshName) };
      }
      return changes;
    });
  }

  /** Every mesh name's current revision, for the periodic resync. */
  revisions(): Promise<Map<string, number>> {
    return onPool(async () => {
      const rows: Array<{ mesh_name: string; revision: string }> = await this.dataSource.query(
        'SELECT mesh_name, revision FROM mesh_revision',
      );
      return new Map(rows.map((row) => [row.mesh_name, Number(row.revision)]));
    });
  }

  /** Runs `work` in one REPEATABLE READ transaction: rows and the revision they belong to agree. */
  private consistentRead<T>(work: (manager: EntityManager) => Promise<T>): Promise<T> {
    return onPool(async () => {
      const runner = this.dataSource.createQueryRunner();
      await runner.connect();
      try {
        await runner.startTransaction('REPEATABLE READ');
        const result = await work(runner.manager);
        await runner.commitTransaction();
        return result;
      } finally {
        if (runner.isTransactionActive) await runner.rollbackTransaction().catch(() => undefined);
        await runner.release();
      }
    });
  }

  private async revisionIn(manager: EntityManager, meshName: string): Promise<number> {
    const rows: Array<{ revision: string }> = await manager.query(
      'SELECT revision FROM mesh_revision WHERE mesh_name = $1',
      [meshName],
    );
    return Number(rows[0]?.revision ?? 0);
  }

  private async tracingIn(
    manager: EntityManager,
    meshName: string,
  ): Promise<Record<string, unknown> | undefined> {
    const rows: Array<{ settings: Record<string, unknown> }> = await manager.query(
      'SELECT settings FROM mesh_tracing WHERE mesh_name = $1',
      [meshName],
    );
    return rows[0]?.settings;
  }
}

function resourceRow(row: ResourceRow): MeshResourceRow {
  return { kind: row.kind, parentName: row.parent_name, name: row.name, spec: row.spec };
}
