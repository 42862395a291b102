import { Column, Entity, PrimaryColumn } from 'typeorm';
import type { ResourceKind } from '../../../mesh-model/src/resource-kinds';

/**
 * Every App Mesh resource — meshes included — is one row. The spec and tags are `json`,
 * not `jsonb`, because App Mesh clients compare what they read with what they wrote and
 * `jsonb` would reorder keys.
 */
@Entity({ name: 'mesh_resource' })
export class MeshResourceEntity {
  @PrimaryColumn({ name: 'mesh_name', type: 'text' })
  meshName!: string;

  @PrimaryColumn({ type: 'text' })
  kind!: ResourceKind;

  /** The virtual router of a route; '' for every other kind. */
  @PrimaryColumn({ name: 'parent_name', type: 'text' })
  parentName!: string;

  @PrimaryColumn({ type: 'text' })
  name!: string;

  @Column({ type: 'text', unique: true })
  arn!: string;

  @Column({ type: 'uuid' })
  uid!: string;

  @Column({ type: 'bigint', transformer: { to: (v: number) => v, from: Number } })
  version!: number;

  @Column({ type: 'json' })
  spec!: Record<string, unknown>;

  @Column({ type: 'json' })
  tags!: Array<{ key: string; value?: string }>;

  @Column({ name: 'resource_owner', type: 'text' })
  resourceOwner!: string;

  @Column({ name: 'created_at', type: 'timestamptz', precision: 3 })
  createdAt!: Date;

  @Column({ name: 'last_updated_at', type: 'timestamptz', precision: 3 })
  lastUpdatedAt!: Date;
}
