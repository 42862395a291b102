import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Why a change was made: a free-text reason (a revert writes `revert to revision <n>`) and the
 * rollout that made it, both optional. Plus the indexes that mesh history filters read: one
 * resource's changes newest first, and one rollout's changes.
 */
export class ChangeReason1764460800000 implements MigrationInterface {
  name = 'ChangeReason1764460800000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE change_log ADD COLUMN reason text`);
    await queryRunner.query(`ALTER TABLE change_log ADD COLUMN rollout_id text`);
    await queryRunner.query(
      `CREATE INDEX change_log_resource_idx ON change_log (mesh_name, kind, parent_name, name, revision)`,
    );
    await queryRunner.query(
      `CREATE INDEX change_log_rollout_idx ON change_log (mesh_name, rollout_id, revision)
       WHERE rollout_id IS NOT NULL`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX change_log_rollout_idx`);
    await queryRunner.query(`DROP INDEX change_log_resource_idx`);
    await queryRunner.query(`ALTER TABLE change_log DROP COLUMN rollout_id`);
    await queryRunner.query(`ALTER TABLE change_log DROP COLUMN reason`);
  }
}
