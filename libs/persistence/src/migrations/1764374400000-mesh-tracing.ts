import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Per-mesh X-Ray tracing settings of the native API (`/v1/meshes/{mesh}/tracing`). */
export class MeshTracing1764374400000 implements MigrationInterface {
  name = 'MeshTracing1764374400000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE mesh_tracing (
        mesh_name text PRIMARY KEY,
        settings json NOT NULL,
        updated_at timestamptz(3) NOT NULL
      )`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE mesh_tracing`);
  }
}
