import type { MigrationInterface, QueryRunner } from 'typeorm';

/** The registry's change log is purged by age (RetentionJanitor): an index to find old rows. */
export class RegistryHistoryIndex1766300000000 implements MigrationInterface {
  name = 'RegistryHistoryIndex1766300000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE INDEX registry_change_created_idx ON registry_change (created_at)`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX registry_change_created_idx`);
  }
}
