import type { DataSource } from 'typeorm';
import { withDatabaseErrors } from './database-errors';

/** One translation problem of a mesh: its kind, the App Mesh resource path, what happened. */
export interface StoredDiagnostic {
  kind: string;
  resource: string;
  message: string;
}

/** What makes two diagnostics the same one (reported by the mesh and by a proxy). */
export function diagnosticKey(diagnostic: StoredDiagnostic): string {
  return JSON.stringify([diagnostic.kind, diagnostic.resource, diagnostic.message]);
}

export interface MeshDiagnosticsRow {
  revision: number;
  computedAt: Date;
  diagnostics: StoredDiagnostic[];
}

/** Revisions kept per mesh: enough for any write's header to stay answerable for a while. */
const KEPT_REVISIONS = 50;

/**
 * Diagnostics per mesh revision: written by xDS replicas where translation happens, read by the
 * admin API (any replica). Every replica computes the same list, so writes are idempotent.
 */
export class MeshDiagnosticsStore {
  constructor(private readonly dataSource: DataSource) {}

  /** Records (or recomputes, after a certificate change) the diagnostics of one revision. */
  record(
    meshName: string,
    revision: number,
    diagnostics: readonly StoredDiagnostic[],
  ): Promise<void> {
    return withDatabaseErrors(() =>
      this.dataSource.transaction(async (manager) => {
        await manager.query(
          `INSERT INTO mesh_diagnostics (mesh_name, revision, diagnostics, computed_at)
           VALUES ($1, $2, $3, now())
           ON CONFLICT (mesh_name, revision) DO UPDATE
             SET diagnostics = EXCLUDED.diagnostics, computed_at = now()`,
          [meshName, revision, JSON.stringify(diagnostics)],
        );
        await manager.query(
          `DELETE FROM mesh_diagnostics WHERE mesh_name = $1 AND revision <= $2::bigint - $3::bigint`,
          [meshName, revision, KEPT_REVISIONS],
        );
      }),
    );
  }

  /**
   * The diagnostics of the first computed revision at or after `revision` (the latest computed
   * when unset). Revisions written in a burst are computed once, for the last of them.
   */
  async find(meshName: string, revision?: number): Promise<MeshDiagnosticsRow | undefined> {
    const [row] = await withDatabaseErrors(() =>
      this.dataSource.query<
        Array<{ revision: string; computedAt: Date; diagnostics: StoredDiagnostic[] }>
      >(
        revision === undefined
          ? `SELECT revision, computed_at AS "computedAt", diagnostics FROM mesh_diagnostics
             WHERE mesh_name = $1 ORDER BY revision DESC LIMIT 1`
          : `SELECT revision, computed_at AS "computedAt", diagnostics FROM mesh_diagnostics
             WHERE mesh_name = $1 AND revision >= $2 ORDER BY revision LIMIT 1`,
        revision === undefined ? [meshName] : [meshName, revision],
      ),
    );
    return row && { ...row, revision: Number(row.revision) };
  }

  /** Existing meshes whose current revision has no diagnostics yet (none computed it). */
  uncomputedMeshes(): Promise<string[]> {
    return withDatabaseErrors(async () => {
      const rows = await this.dataSource.query<Array<{ mesh_name: string }>>(
        `SELECT r.mesh_name FROM mesh_revision r
         JOIN mesh_resource m ON m.mesh_name = r.mesh_name AND m.kind = 'mesh'
         LEFT JOIN mesh_diagnostics d ON d.mesh_name = r.mesh_name AND d.revision = r.revision
         WHERE d.mesh_name IS NULL ORDER BY r.mesh_name`,
      );
      return rows.map((row) => row.mesh_name);
    });
  }

  /** The meshes some of whose resources name one of `texts` (certificate ARNs) in their spec. */
  meshesNaming(texts: readonly string[]): Promise<string[]> {
    return withDatabaseErrors(async () => {
      const rows = await this.dataSource.query<Array<{ mesh_name: string }>>(
        `SELECT DISTINCT mesh_name FROM mesh_resource, unnest($1::text[]) AS t(text)
         WHERE strpos(spec::text, t.text) > 0 ORDER BY mesh_name`,
        [texts.map((text) => JSON.stringify(text).slice(1, -1))],
      );
      return rows.map((row) => row.mesh_name);
    });
  }

  /** The mesh's current revision; undefined when the mesh does not exist. */
  async meshRevision(meshName: string): Promise<number | undefined> {
    const [row] = await withDatabaseErrors(() =>
      this.dataSource.query<Array<{ revision: string }>>(
        `SELECT r.revision FROM mesh_revision r
         WHERE r.mesh_name = $1
           AND EXISTS (SELECT 1 FROM mesh_resource m WHERE m.mesh_name = $1 AND m.kind = 'mesh')`,
        [meshName],
      ),
    );
    return row === undefined ? undefined : Number(row.revision);
  }
}
