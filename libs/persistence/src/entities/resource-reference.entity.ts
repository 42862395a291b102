import { Entity, Index, PrimaryColumn } from 'typeorm';
import type { ResourceKind } from '../../../mesh-model/src/resource-kinds';

/**
 * A reference from one resource's spec to another that App Mesh enforces: a virtual
 * service's provider, a route's weighted targets. Kept beside the spec so that
 * "is this in use?" is an indexed lookup instead of a scan of every spec in the mesh.
 */
@Entity({ name: 'resource_reference' })
@Index(['meshName', 'toKind', 'toName'])
export class ResourceReferenceEntity {
  @PrimaryColumn({ name: 'mesh_name', type: 'text' })
  meshName!: string;

  @PrimaryColumn({ name: 'from_kind', type: 'text' })
  fromKind!: ResourceKind;

  @PrimaryColumn({ name: 'from_parent', type: 'text' })
  fromParent!: string;

  @PrimaryColumn({ name: 'from_name', type: 'text' })
  fromName!: string;

  @PrimaryColumn({ name: 'to_kind', type: 'text' })
  toKind!: ResourceKind;

  @PrimaryColumn({ name: 'to_name', type: 'text' })
  toName!: string;
}
