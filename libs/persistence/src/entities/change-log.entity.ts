import { Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';
import type { ResourceKind } from '../../../mesh-model/src/resource-kinds';

export type ChangeOperation = 'CREATE' | 'UPDATE' | 'DELETE' | 'TAG' | 'UNTAG' | 'TRACING';

/** One row per successful write: who changed what in which mesh revision. */
@Entity({ name: 'change_log' })
@Index(['meshName', 'revision'], { unique: true })
export class ChangeLogEntity {
  @PrimaryGeneratedColumn({ type: 'bigint' })
  id!: string;

  @Column({ name: 'mesh_name', type: 'text' })
  meshName!: string;

  @Column({ type: 'bigint', transformer: { to: (v: number) => v, from: Number } })
  revision!: number;

  @Column({ type: 'text' })
  kind!: ResourceKind;

  @Column({ name: 'parent_name', type: 'text' })
  parentName!: string;

  @Column({ type: 'text' })
  name!: string;

  @Column({ type: 'text' })
  operation!: ChangeOperation;

  @Column({ type: 'text' })
  actor!: string;

  /** The resource (spec and tags) before the change; null for a create. */
  @Column({ type: 'json', nullable: true })
  before!: unknown;

  /** The resource after the change; null for a delete. */
  @Column({ type: 'json', nullable: true })
  after!: unknown;

  @Column({ name: 'created_at', type: 'timestamptz', precision: 3 })
  createdAt!: Date;

  /** Why the change was made, when the writer said (`revert to revision 7`). */
  @Column({ type: 'text', nullable: true })
  reason!: string | null;

  /** The rollout that made the change, if a rollout did. */
  @Column({ name: 'rollout_id', type: 'text', nullable: true })
  rolloutId!: string | null;
}
