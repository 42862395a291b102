import type { DataSource } from 'typeorm';
import type { ResourceKind } from '../../mesh-model/src/resource-kinds';
import { withDatabaseErrors } from './database-errors';

/** Everything stored for one mesh at one revision. */
export interface MeshContents {
  meshName: string;
  revision: number;
  resources: Array<{
    kind: ResourceKind;
    parentName: string;
    name: string;
    spec: Record<string, unknown>;
  }>;
  /** The mesh's tracing settings from the native API, if any were set. */
  tracing?: Record<string, unknown>;
}

/** Reads meshes for the xDS role: whole meshes at a consistent revision, and revision counters. */
export class MeshReader {
  constructor(private readonly dataSource: DataSource) {}

  /** The mesh as one consistent snapshot; undefined when the mesh does not exist. */
  load(meshName: string): Promise<MeshContents | undefined> {
    return withDatabaseErrors(async () => {
      const runner = this.dataSource.createQueryRunner();
      await runner.connect();
      try {
        // One snapshot of the database for the rows and the revision they belong to.
        await runner.startTransaction('REPEATABLE READ');
        const rows: Array<{
          kind: ResourceKind;
          parent_name: string;
          name: string;
          spec: Record<string, unknown>;
        }> = await runner.manager.query(
          `SELECT kind, parent_name, name, spec FROM mesh_resource WHERE mesh_name = $1
             ORDER BY kind, parent_name, name`,
          [meshName],
        );
        const revision: Array<{ revision: string }> = await runner.manager.query(
          'SELECT revision FROM mesh_revision WHERE mesh_name = $1',
          [meshName],
        );
        const tracing: Array<{ settings: Record<string, unknown> }> = await runner.manager.query(
          'SELECT settings FROM mesh_tracing WHERE mesh_name = $1',
          [meshName],
        );
        await runner.commitTransaction();
        if (!rows.some((row) => row.kind === 'mesh')) return undefined;
        return {
          meshName,
          revision: Number(revision[0]?.revision ?? 0),
          resources: rows.map((row) => ({
            kind: row.kind,
            parentName: row.parent_name,
            name: row.name,
            spec: row.spec,
          })),
          tracing: tracing[0]?.settings,
        };
      } finally {
        if (runner.isTransactionActive) await runner.rollbackTransaction().catch(() => undefined);
        await runner.release();
      }
    });
  }

  /** Every mesh name's current revision, for the periodic resync. */
  revisions(): Promise<Map<string, number>> {
    return withDatabaseErrors(async () => {
      const rows: Array<{ mesh_name: string; revision: string }> = await this.dataSource.query(
        'SELECT mesh_name, revision FROM mesh_revision',
      );
      return new Map(rows.map((row) => [row.mesh_name, Number(row.revision)]));
    });
  }
}
