import type { DataSource } from 'typeorm';
import { inTransaction, onPool } from './transaction-scope';

/** One stream's status row. `status` is the xDS engine's ProxyStatus document. */
export interface ProxyStatusRow {
  streamId: number;
  nodeId: string;
  mesh?: string;
  status: unknown;
}

export interface StoredProxyStatus {
  replicaId: string;
  streamId: number;
  connected: boolean;
  status: unknown;
}

/** A mesh's connected proxies, and those behind a revision or with a NACK. */
export interface PropagationRows {
  proxies: number;
  /** Proxies not yet at the revision, and proxies whose status shows a NACK (whole status). */
  behind: Array<{ nodeId: string; state: string; syncedRevision?: number; nackedStatus?: unknown }>;
}

/** Reads and writes the proxy status table (the only SQL for it). */
export class ProxyStatusStore {
  constructor(private readonly dataSource: DataSource) {}

  /**
   * One publish of a replica: heartbeat, changed rows, disconnections, and the cleanup of
   * rows past `graceSeconds` (disconnected proxies and replicas that stopped heartbeating).
   */
  async publish(
    replicaId: string,
    changed: readonly ProxyStatusRow[],
    disconnected: readonly number[],
    graceSeconds: number,
  ): Promise<void> {
    await inTransaction(this.dataSource, async (manager) => {
      await manager.query(
        `INSERT INTO xds_replica (replica_id, heartbeat_at) VALUES ($1, now())
           ON CONFLICT (replica_id) DO UPDATE SET heartbeat_at = now()`,
        [replicaId],
      );
      if (changed.length > 0) {
        await manager.query(
          `INSERT INTO proxy_status (replica_id, stream_id, node_id, mesh, connected, status, updated_at)
             SELECT $1, r.stream_id, r.node_id, r.mesh, true, r.status, now()
             FROM json_to_recordset($2::json) AS r(stream_id bigint, node_id text, mesh text, status json)
             ON CONFLICT (replica_id, stream_id) DO UPDATE
               SET status = EXCLUDED.status, mesh = EXCLUDED.mesh, connected = true, updated_at = now()`,
          [
            replicaId,
            JSON.stringify(
              changed.map((row) => ({
                stream_id: row.streamId,
                node_id: row.nodeId,
                mesh: row.mesh ?? null,
                status: row.status,
              })),
            ),
          ],
        );
      }
      if (disconnected.length > 0) {
        await manager.query(
          `UPDATE proxy_status SET connected = false, updated_at = now()
             WHERE replica_id = $1 AND stream_id = ANY($2::bigint[])`,
          [replicaId, disconnected],
        );
      }
      await manager.query(
        `DELETE FROM proxy_status p WHERE (NOT p.connected AND p.updated_at < now() - make_interval(secs => $1))
             OR NOT EXISTS (SELECT 1 FROM xds_replica r WHERE r.replica_id = p.replica_id
                            AND r.heartbeat_at >= now() - make_interval(secs => $1))`,
        [graceSeconds],
      );
      await manager.query(
        `DELETE FROM xds_replica WHERE heartbeat_at < now() - make_interval(secs => $1)`,
        [graceSeconds],
      );
    });
  }

  /** A replica going away: its rows go with it. */
  async withdraw(replicaId: string): Promise<void> {
    await onPool(async () => {
      await this.dataSource.query('DELETE FROM proxy_status WHERE replica_id = $1', [replicaId]);
      await this.dataSource.query('DELETE FROM xds_replica WHERE replica_id = $1', [replicaId]);
    });
  }

  /**
   * Where a mesh's connected proxies stand against `revision`, counted by Postgres: only the
   * small fields of each status are read, and whole statuses only for proxies with a NACK.
   */
  propagation(meshName: string, revision: number, graceSeconds: number): Promise<PropagationRows> {
    return onPool(async () => {
      const [row] = await this.dataSource.query<
        Array<{ proxies: number; behind: PropagationRows['behind'] }>
      >(
        `WITH live AS (
           SELECT p.node_id, p.replica_id, p.stream_id, p.status,
                  coalesce((p.status->>'syncedRevision')::bigint, -1) AS synced,
                  p.status::text LIKE '%"NACKED"%' AS nacked
             FROM proxy_status p
             JOIN xds_replica r ON r.replica_id = p.replica_id
             WHERE r.heartbeat_at >= now() - make_interval(secs => $1)
               AND p.connected AND p.mesh = $2)
         SELECT count(*)::int AS proxies,
                coalesce(json_agg(json_build_object(
                  'nodeId', node_id,
                  'state', status->>'state',
                  'syncedRevision', (status->>'syncedRevision')::bigint,
                  'nackedStatus', CASE WHEN nacked THEN status END)
                ORDER BY node_id, replica_id, stream_id)
                FILTER (WHERE synced < $3 OR nacked), '[]') AS behind
           FROM live`,
        [graceSeconds, meshName, revision],
      );
      return {
        proxies: row?.proxies ?? 0,
        behind: (row?.behind ?? []).map((entry) => ({
          nodeId: entry.nodeId,
          state: entry.state,
          syncedRevision: entry.syncedRevision ?? undefined,
          nackedStatus: entry.nackedStatus ?? undefined,
        })),
      };
    });
  }

  /** Proxies of live replicas, optionally of one mesh or one node id, connected ones first. */
  list(
    filter: { mesh?: string; nodeId?: string },
    graceSeconds: number,
  ): Promise<StoredProxyStatus[]> {
    return onPool(async () => {
      const rows: Array<{
        replica_id: string;
        stream_id: string;
        connected: boolean;
        status: unknown;
      }> = await this.dataSource.query(
        `SELECT p.replica_id, p.stream_id, p.connected, p.status FROM proxy_status p
           JOIN xds_replica r ON r.replica_id = p.replica_id
           WHERE r.heartbeat_at >= now() - make_interval(secs => $1)
             AND (p.connected OR p.updated_at >= now() - make_interval(secs => $1))
             AND ($2::text IS NULL OR p.mesh = $2) AND ($3::text IS NULL OR p.node_id = $3)
           ORDER BY p.connected DESC, p.node_id, p.replica_id, p.stream_id`,
        [graceSeconds, filter.mesh ?? null, filter.nodeId ?? null],
      );
      return rows.map((row) => ({
        replicaId: row.replica_id,
        streamId: Number(row.stream_id),
        connected: row.connected,
        status: row.status,
      }));
    });
  }
}
