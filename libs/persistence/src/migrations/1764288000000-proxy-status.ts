import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Proxy sync status, written by xDS replicas and read by the admin API, so both can run
 * as separate processes. A replica's rows count only while its heartbeat is fresh.
 */
export class ProxyStatus1764288000000 implements MigrationInterface {
  name = 'ProxyStatus1764288000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE xds_replica (
        replica_id text PRIMARY KEY,
        heartbeat_at timestamptz(3) NOT NULL
      )`);
    await queryRunner.query(`
      CREATE TABLE proxy_status (
        replica_id text NOT NULL,
        stream_id bigint NOT NULL,
        node_id text NOT NULL,
        mesh text,
        connected boolean NOT NULL,
        status json NOT NULL,
        updated_at timestamptz(3) NOT NULL,
        CONSTRAINT proxy_status_pkey PRIMARY KEY (replica_id, stream_id)
      )`);
    await queryRunner.query(`CREATE INDEX proxy_status_node_idx ON proxy_status (node_id)`);
    await queryRunner.query(`CREATE INDEX proxy_status_mesh_idx ON proxy_status (mesh)`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE proxy_status`);
    await queryRunner.query(`DROP TABLE xds_replica`);
  }
}
