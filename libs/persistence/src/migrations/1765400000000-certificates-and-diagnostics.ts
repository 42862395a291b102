import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The certificate store (certificates and CA bundles imported under ACM and ACM Private CA ARNs,
 * private keys sealed with the master key) and the diagnostics of each mesh revision, computed
 * by the xDS role and read by the admin API.
 */
export class CertificatesAndDiagnostics1765400000000 implements MigrationInterface {
  name = 'CertificatesAndDiagnostics1765400000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    // seq moves on every import, so (max(seq), count(*)) changes on every write: xDS replicas
    // compare it on resync to repair a missed notification.
    await queryRunner.query(`CREATE SEQUENCE certificate_seq`);
    await queryRunner.query(`
      CREATE TABLE certificate (
        arn text PRIMARY KEY,
        kind text NOT NULL CHECK (kind IN ('certificate', 'authority')),
        certificate_chain text NOT NULL,
        private_key_sealed text,
        subject text NOT NULL,
        not_before timestamptz(3) NOT NULL,
        not_after timestamptz(3) NOT NULL,
        seq bigint NOT NULL DEFAULT nextval('certificate_seq'),
        created_at timestamptz(3) NOT NULL DEFAULT now(),
        updated_at timestamptz(3) NOT NULL DEFAULT now(),
        CHECK ((kind = 'certificate') = (private_key_sealed IS NOT NULL))
      )`);
    await queryRunner.query(`
      CREATE TABLE mesh_diagnostics (
        mesh_name text NOT NULL,
        revision bigint NOT NULL,
        diagnostics json NOT NULL,
        computed_at timestamptz(3) NOT NULL DEFAULT now(),
        CONSTRAINT mesh_diagnostics_pkey PRIMARY KEY (mesh_name, revision)
      )`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE mesh_diagnostics`);
    await queryRunner.query(`DROP TABLE certificate`);
    await queryRunner.query(`DROP SEQUENCE certificate_seq`);
  }
}
