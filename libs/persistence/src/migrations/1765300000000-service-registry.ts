import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The service registry (Cloud Map's namespaces, services, instances and operations). Every
 * write that can move endpoints bumps its service's revision and appends a registry_change row
 * in the same transaction, then NOTIFYs; xDS servers reload the service named and resync by
 * comparing revisions. Creator request ids live in client_token under a `servicediscovery/` prefix.
 */
export class ServiceRegistry1765300000000 implements MigrationInterface {
  name = 'ServiceRegistry1765300000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE registry_namespace (
        id text PRIMARY KEY,
        name text NOT NULL,
        type text NOT NULL,
        arn text NOT NULL UNIQUE,
        description text,
        properties json NOT NULL,
        creator_request_id text,
        tags json NOT NULL,
        created_at timestamptz(3) NOT NULL,
        updated_at timestamptz(3) NOT NULL
      )`);
    await queryRunner.query(
      `CREATE UNIQUE INDEX registry_namespace_name_key ON registry_namespace (name)`,
    );
    await queryRunner.query(`
      CREATE TABLE registry_service (
        id text PRIMARY KEY,
        namespace_id text NOT NULL REFERENCES registry_namespace (id),
        name text NOT NULL,
        arn text NOT NULL UNIQUE,
        type text NOT NULL,
        description text,
        dns_config json,
        health_check_config json,
        health_check_custom_config json,
        creator_request_id text,
        tags json NOT NULL,
        lease_ttl_seconds integer,
        revision bigint NOT NULL,
        created_at timestamptz(3) NOT NULL,
        updated_at timestamptz(3) NOT NULL
      )`);
    await queryRunner.query(
      `CREATE UNIQUE INDEX registry_service_name_key ON registry_service (namespace_id, name)`,
    );
    await queryRunner.query(`
      CREATE TABLE registry_instance (
        service_id text NOT NULL REFERENCES registry_service (id) ON DELETE CASCADE,
        id text NOT NULL,
        attributes json NOT NULL,
        creator_request_id text,
        custom_health text,
        lease_expires_at timestamptz(3),
        created_at timestamptz(3) NOT NULL,
        updated_at timestamptz(3) NOT NULL,
        PRIMARY KEY (service_id, id)
      )`);
    await queryRunner.query(`
      CREATE TABLE registry_operation (
        id text PRIMARY KEY,
        type text NOT NULL,
        status text NOT NULL,
        targets json NOT NULL,
        namespace_id text,
        service_id text,
        created_at timestamptz(3) NOT NULL,
        updated_at timestamptz(3) NOT NULL
      )`);
    await queryRunner.query(
      `CREATE INDEX registry_operation_updated_idx ON registry_operation (updated_at)`,
    );
    await queryRunner.query(`
      CREATE TABLE registry_change (
        service_id text NOT NULL,
        revision bigint NOT NULL,
        namespace_name text NOT NULL,
        service_name text NOT NULL,
        instance_id text,
        operation text NOT NULL,
        actor text NOT NULL,
        before json,
        after json,
        created_at timestamptz(3) NOT NULL,
        PRIMARY KEY (service_id, revision)
      )`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE registry_change`);
    await queryRunner.query(`DROP TABLE registry_operation`);
    await queryRunner.query(`DROP TABLE registry_instance`);
    await queryRunner.query(`DROP TABLE registry_service`);
    await queryRunner.query(`DROP TABLE registry_namespace`);
  }
}
