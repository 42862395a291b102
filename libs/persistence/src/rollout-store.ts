import type { DataSource, EntityManager } from 'typeorm';
import type {
  RolloutAbort,
  RolloutEvent,
  RolloutPhase,
  RolloutGate,
  RolloutPlan,
  RolloutState,
  WebhookGate,
  Weights,
} from '../../mesh-model/src/rollout';
import type { Rollout } from '../../mesh-model/src/rollout-state';
import type { WeightedTarget } from '../../mesh-model/src/validation';
import { inMeshTransaction, onPool } from './transaction-scope';
import { MeshWriteTransaction } from './mesh-store';

/** A rollout as stored. */
export interface StoredRollout extends Rollout {
  /** +1 on every save: work done without the row lock applies only if nothing changed since. */
  seq: number;
}

const FINAL = `('Succeeded', 'Aborted', 'Failed')`;

/** The only SQL for rollouts and their events. */
export class RolloutStore {
  constructor(private readonly dataSource: DataSource) {}

  /**
   * Runs `work` in one transaction that can also write the resources of mesh `meshName`, so a
   * step's weights and the rollout's new state commit together or not at all.
   */
  write<T>(meshName: string, work: (tx: RolloutTransaction) => Promise<T>): Promise<T> {
    return inMeshTransaction(this.dataSource, meshName, (manager) =>
      work(new RolloutTransaction(manager)),
    );
  }

  get(id: string): Promise<StoredRollout | undefined> {
    return onPool(async () => {
      const rows: RolloutRow[] = await this.dataSource.query(
        'SELECT * FROM rollout WHERE id = $1',
        [id],
      );
      return rows[0] && toStored(rows[0]);
    });
  }

  /** A mesh's rollouts, newest first, optionally in one state. */
  list(meshName: string, state: RolloutState | undefined, limit: number): Promise<StoredRollout[]> {
    return onPool(async () => {
      const rows: RolloutRow[] = await this.dataSource.query(
        `SELECT * FROM rollout WHERE mesh_name = $1 AND ($2::text IS NULL OR state = $2)
         ORDER BY created_at DESC, id LIMIT $3`,
        [meshName, state ?? null, limit],
      );
      return rows.map(toStored);
    });
  }

  /** Rollouts the scheduler has work for, oldest first. */
  runnable(): Promise<string[]> {
    return onPool(async () => {
      const rows: Array<{ id: string }> = await this.dataSource.query(
        `SELECT id FROM rollout WHERE state IN ('Pending', 'Progressing', 'Aborting')
         ORDER BY created_at, id`,
      );
      return rows.map((row) => row.id);
    });
  }

  events(id: string): Promise<RolloutEvent[]> {
    return onPool(async () => {
      const rows: EventRow[] = await this.dataSource.query(
        'SELECT * FROM rollout_event WHERE rollout_id = $1 ORDER BY id',
        [id],
      );
      return rows.map((row) => ({
        at: row.at,
        type: row.type as RolloutEvent['type'],
        message: row.message,
        ...(row.step_index !== null && { stepIndex: row.step_index }),
        ...(row.weights !== null && { weights: row.weights }),
        ...(row.revision !== null && { revision: Number(row.revision) }),
        ...(row.actor !== null && { actor: row.actor }),
      }));
    });
  }
}

/** The rollout operations of one transaction, with the mesh writes of the same transaction. */
export class RolloutTransaction {
  readonly mesh: MeshWriteTransaction;

  constructor(private readonly manager: EntityManager) {
    this.mesh = new MeshWriteTransaction(manager);
  }

  /** The rollout, locked until the transaction ends. */
  async lock(id: string): Promise<StoredRollout | undefined> {
    const rows: RolloutRow[] = await this.manager.query(
      'SELECT * FROM rollout WHERE id = $1 FOR UPDATE',
      [id],
    );
    return rows[0] && toStored(rows[0]);
  }

  async unfinishedOnRoute(
    meshName: string,
    virtualRouter: string,
    route: string,
  ): Promise<StoredRollout | undefined> {
    const rows: RolloutRow[] = await this.manager.query(
      `SELECT * FROM rollout WHERE mesh_name = $1 AND virtual_router = $2 AND route_name = $3
         AND state NOT IN ${FINAL}`,
      [meshName, virtualRouter, route],
    );
    return rows[0] && toStored(rows[0]);
  }

  async insert(rollout: StoredRollout): Promise<void> {
    await this.manager.query(
      `INSERT INTO rollout (id, mesh_name, virtual_router, route_name, from_node, to_node, plan,
         original_targets, state, phase, step_index, written_step, weights, revision,
         phase_started_at, wait_until, paused_at, paused_from, abort, seq, created_by, created_at,
         updated_at, finished_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7::json, $8::json, $9, $10, $11, $12, $13::json, $14, $15,
         $16, $17, $18, $19::json, $20, $21, $22, $23, $24)`,
      [
        rollout.id,
        rollout.meshName,
        rollout.virtualRouter,
        rollout.route,
        rollout.from,
        rollout.to,
        JSON.stringify(rollout.plan),
        JSON.stringify(rollout.originalTargets),
        ...mutableColumns(rollout),
        rollout.seq,
        rollout.createdBy,
        rollout.createdAt,
        rollout.updatedAt,
        rollout.finishedAt,
      ],
    );
  }

  /** Writes the rollout's progress and returns it with its new `seq`. */
  async save(rollout: StoredRollout): Promise<StoredRollout> {
    const updatedAt = new Date();
    await this.manager.query(
      `UPDATE rollout SET state = $2, phase = $3, step_index = $4, written_step = $5,
         weights = $6::json, revision = $7, phase_started_at = $8, wait_until = $9,
         paused_at = $10, paused_from = $11, abort = $12::json, seq = seq + 1, updated_at = $13,
         finished_at = $14
       WHERE id = $1`,
      [rollout.id, ...mutableColumns(rollout), updatedAt, rollout.finishedAt],
    );
    return { ...rollout, seq: rollout.seq + 1, updatedAt };
  }

  async addEvent(id: string, event: RolloutEvent): Promise<void> {
    await this.manager.query(
      `INSERT INTO rollout_event (rollout_id, at, type, message, step_index, weights, revision, actor)
       VALUES ($1, $2, $3, $4, $5, $6::json, $7, $8)`,
      [
        id,
        event.at,
        event.type,
        event.message,
        event.stepIndex ?? null,
        event.weights === undefined ? null : JSON.stringify(event.weights),
        event.revision ?? null,
        event.actor ?? null,
      ],
    );
  }
}

function mutableColumns(rollout: StoredRollout): unknown[] {
  return [
    rollout.state,
    rollout.phase,
    rollout.stepIndex,
    rollout.writtenStep,
    JSON.stringify(rollout.weights),
    rollout.revision,
    rollout.phaseStartedAt,
    rollout.waitUntil,
    rollout.pausedAt,
    rollout.pausedFrom,
    rollout.abort === null ? null : JSON.stringify(rollout.abort),
  ];
}

interface RolloutRow {
  id: string;
  mesh_name: string;
  virtual_router: string;
  route_name: string;
  from_node: string;
  to_node: string;
  plan: RolloutPlan;
  original_targets: WeightedTarget[];
  state: RolloutState;
  phase: RolloutPhase | null;
  step_index: number;
  written_step: number | null;
  weights: Weights;
  revision: string | null;
  phase_started_at: Date;
  wait_until: Date | null;
  paused_at: Date | null;
  paused_from: RolloutState | null;
  abort: RolloutAbort | null;
  seq: string;
  created_by: string;
  created_at: Date;
  updated_at: Date;
  finished_at: Date | null;
}

interface EventRow {
  at: Date;
  type: string;
  message: string;
  step_index: number | null;
  weights: Weights | null;
  revision: string | null;
  actor: string | null;
}

function toStored(row: RolloutRow): StoredRollout {
  return {
    id: row.id,
    meshName: row.mesh_name,
    virtualRouter: row.virtual_router,
    route: row.route_name,
    from: row.from_node,
    to: row.to_node,
    // Plans stored before gates had kinds hold webhooks only.
    plan: {
      ...row.plan,
      gates: (row.plan.gates as Array<RolloutGate | Omit<WebhookGate, 'kind'>>).map((gate) =>
        'kind' in gate ? gate : { kind: 'webhook', ...gate },
      ),
    },
    originalTargets: row.original_targets,
    state: row.state,
    phase: row.phase,
    stepIndex: row.step_index,
    writtenStep: row.written_step,
    weights: row.weights,
    revision: row.revision === null ? null : Number(row.revision),
    phaseStartedAt: row.phase_started_at,
    waitUntil: row.wait_until,
    pausedAt: row.paused_at,
    pausedFrom: row.paused_from,
    abort: row.abort,
    seq: Number(row.seq),
    createdBy: row.created_by,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    finishedAt: row.finished_at,
  };
}
