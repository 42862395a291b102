import { Column, Entity, PrimaryColumn } from 'typeorm';

/**
 * The revision counter of a mesh name. It outlives the mesh so that a mesh deleted and
 * created again keeps counting up: "propagated to revision N" never goes backwards.
 */
@Entity({ name: 'mesh_revision' })
export class MeshRevisionEntity {
  @PrimaryColumn({ name: 'mesh_name', type: 'text' })
  meshName!: string;

  @Column({ type: 'bigint', transformer: { to: (v: number) => v, from: Number } })
  revision!: number;
}
