import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Access keys: a named principal with an IAM-style policy, and its credentials (access key
 * id + secret, the secret sealed with the master key). Two credentials may be active at
 * once while a rotation rolls out; the older one stops working at its `expires_at`.
 */
export class AccessKeys1765200000000 implements MigrationInterface {
  name = 'AccessKeys1765200000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE access_key (
        name text PRIMARY KEY,
        description text NOT NULL DEFAULT '',
        policy json NOT NULL,
        requests_per_second integer,
        created_by text NOT NULL,
        created_at timestamptz(3) NOT NULL,
        expires_at timestamptz(3),
        revoked_at timestamptz(3),
        revoked_by text
      )`);
    await queryRunner.query(`
      CREATE TABLE access_key_credential (
        access_key_id text PRIMARY KEY,
        key_name text NOT NULL REFERENCES access_key (name) ON DELETE CASCADE,
        sealed_secret text NOT NULL,
        created_at timestamptz(3) NOT NULL,
        expires_at timestamptz(3)
      )`);
    await queryRunner.query(
      `CREATE INDEX access_key_credential_key_idx ON access_key_credential (key_name, created_at)`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP TABLE access_key_credential');
    await queryRunner.query('DROP TABLE access_key');
  }
}
