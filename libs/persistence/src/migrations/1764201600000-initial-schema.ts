import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Resources, their enforced references, mesh revisions, the change log and client tokens. */
export class InitialSchema1764201600000 implements MigrationInterface {
  name = 'InitialSchema1764201600000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE mesh_resource (
        mesh_name text NOT NULL,
        kind text NOT NULL,
        parent_name text NOT NULL DEFAULT '',
        name text NOT NULL,
        arn text NOT NULL,
        uid uuid NOT NULL,
        version bigint NOT NULL,
        spec json NOT NULL,
        tags json NOT NULL DEFAULT '[]',
        resource_owner text NOT NULL,
        created_at timestamptz(3) NOT NULL,
        last_updated_at timestamptz(3) NOT NULL,
        CONSTRAINT mesh_resource_pkey PRIMARY KEY (mesh_name, kind, parent_name, name),
        CONSTRAINT mesh_resource_arn_key UNIQUE (arn)
      )`);
    await queryRunner.query(`
      CREATE TABLE resource_reference (
        mesh_name text NOT NULL,
        from_kind text NOT NULL,
        from_parent text NOT NULL,
        from_name text NOT NULL,
        to_kind text NOT NULL,
        to_name text NOT NULL,
        CONSTRAINT resource_reference_pkey
          PRIMARY KEY (mesh_name, from_kind, from_parent, from_name, to_kind, to_name)
      )`);
    await queryRunner.query(
      `CREATE INDEX resource_reference_target_idx ON resource_reference (mesh_name, to_kind, to_name)`,
    );
    await queryRunner.query(`
      CREATE TABLE mesh_revision (
        mesh_name text PRIMARY KEY,
        revision bigint NOT NULL
      )`);
    await queryRunner.query(`
      CREATE TABLE change_log (
        id bigserial PRIMARY KEY,
        mesh_name text NOT NULL,
        revision bigint NOT NULL,
        kind text NOT NULL,
        parent_name text NOT NULL,
        name text NOT NULL,
        operation text NOT NULL,
        actor text NOT NULL,
        before json,
        after json,
        created_at timestamptz(3) NOT NULL,
        CONSTRAINT change_log_mesh_revision_key UNIQUE (mesh_name, revision)
      )`);
    await queryRunner.query(`
      CREATE TABLE client_token (
        token text PRIMARY KEY,
        request_hash text NOT NULL,
        response json,
        revision bigint,
        created_at timestamptz(3) NOT NULL
      )`);
    await queryRunner.query(
      `CREATE INDEX client_token_created_at_idx ON client_token (created_at)`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE client_token`);
    await queryRunner.query(`DROP TABLE change_log`);
    await queryRunner.query(`DROP TABLE mesh_revision`);
    await queryRunner.query(`DROP TABLE resource_reference`);
    await queryRunner.query(`DROP TABLE mesh_resource`);
  }
}
