import { Column, Entity, PrimaryColumn } from 'typeorm';

/**
 * The outcome of a Create/Update call made with a `clientToken`, so a retry with the same
 * token and request returns the same answer without writing again.
 */
@Entity({ name: 'client_token' })
export class ClientTokenEntity {
  @PrimaryColumn({ type: 'text' })
  token!: string;

  /** sha256 of the operation, its path and its body (without the token). */
  @Column({ name: 'request_hash', type: 'text' })
  requestHash!: string;

  @Column({ type: 'json', nullable: true })
  response!: unknown;

  @Column({
    type: 'bigint',
    nullable: true,
    transformer: {
      to: (v: number) => v,
      from: (v: string | null) => (v === null ? null : Number(v)),
    },
  })
  revision!: number | null;

  @Column({ name: 'created_at', type: 'timestamptz', precision: 3 })
  createdAt!: Date;
}
