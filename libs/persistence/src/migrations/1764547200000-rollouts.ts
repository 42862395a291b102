import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Progressive rollouts and their events. A rollout row holds everything the scheduler needs
 * to continue after a restart (state, step, phase, deadlines); at most one unfinished rollout
 * per route, enforced by a partial unique index.
 */
export class Rollouts1764547200000 implements MigrationInterface {
  name = 'Rollouts1764547200000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE rollout (
        id uuid PRIMARY KEY,
        mesh_name text NOT NULL,
        virtual_router text NOT NULL,
        route_name text NOT NULL,
        from_node text NOT NULL,
        to_node text NOT NULL,
        plan json NOT NULL,
        original_targets json NOT NULL,
        state text NOT NULL,
        phase text,
        step_index integer NOT NULL,
        written_step integer,
        weights json NOT NULL,
        revision bigint,
        phase_started_at timestamptz(3) NOT NULL,
        wait_until timestamptz(3),
        paused_at timestamptz(3),
        paused_from text,
        abort json,
        seq bigint NOT NULL DEFAULT 0,
        created_by text NOT NULL,
        created_at timestamptz(3) NOT NULL,
        updated_at timestamptz(3) NOT NULL,
        finished_at timestamptz(3)
      )`);
    await queryRunner.query(
      `CREATE UNIQUE INDEX rollout_active_route_key ON rollout (mesh_name, virtual_router, route_name)
       WHERE state NOT IN ('Succeeded', 'Aborted', 'Failed')`,
    );
    await queryRunner.query(`CREATE INDEX rollout_mesh_idx ON rollout (mesh_name, created_at)`);
    await queryRunner.query(`
      CREATE TABLE rollout_event (
        id bigserial PRIMARY KEY,
        rollout_id uuid NOT NULL REFERENCES rollout (id) ON DELETE CASCADE,
        at timestamptz(3) NOT NULL,
        type text NOT NULL,
        message text NOT NULL,
        step_index integer,
        weights json,
        revision bigint,
        actor text
      )`);
    await queryRunner.query(
      `CREATE INDEX rollout_event_rollout_idx ON rollout_event (rollout_id, id)`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE rollout_event`);
    await queryRunner.query(`DROP TABLE rollout`);
  }
}
