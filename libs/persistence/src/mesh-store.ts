import type { DataSource, EntityManager } from 'typeorm';
import { ConflictException } from '../../mesh-model/src/errors';
import type { ResourceId, ResourceKind } from '../../mesh-model/src/resource-kinds';
import { withDatabaseErrors } from './database-errors';
import { ChangeLogEntity, type ChangeOperation } from './entities/change-log.entity';
import { ClientTokenEntity } from './entities/client-token.entity';
import { MeshResourceEntity } from './entities/mesh-resource.entity';
import { ResourceReferenceEntity } from './entities/resource-reference.entity';

export interface Tag {
  key: string;
  value?: string;
}

/** A resource as stored. `spec` and `tags` are exactly what the client sent. */
export interface StoredResource {
  id: ResourceId;
  arn: string;
  uid: string;
  version: number;
  spec: Record<string, unknown>;
  tags: Tag[];
  resourceOwner: string;
  createdAt: Date;
  lastUpdatedAt: Date;
}

/** What the change log keeps of a resource before and after a change. */
export interface ResourceSnapshot {
  spec: Record<string, unknown>;
  tags: Tag[];
  version: number;
}

export function resourceSnapshot(resource: StoredResource): ResourceSnapshot {
  return { spec: resource.spec, tags: resource.tags, version: resource.version };
}

export interface Change {
  id: ResourceId;
  operation: ChangeOperation;
  actor: string;
  before: unknown;
  after: unknown;
  /** Why, in the writer's words; kept in the change log and shown in the mesh history. */
  reason?: string;
  /** The rollout that makes the change. */
  rolloutId?: string;
}

/** Which changes of a mesh's history to list; unset members match everything. */
export interface ChangeFilter {
  kind?: ResourceKind;
  parentName?: string;
  name?: string;
  rolloutId?: string;
}

/** Postgres channel carrying `{"mesh": name, "revision": n}` after every committed write. */
export const MESH_CHANGES_CHANNEL = 'trellis_mesh_changes';

/** Serialises mesh creation so the mesh-count limit holds under concurrency. */
const MESH_CREATION_LOCK_KEY = 7_152_024_002;

/**
 * The only code that reads and writes App Mesh resources in Postgres. Every method
 * translates driver failures (Postgres down → ServiceUnavailableException).
 */
export class MeshStore {
  constructor(private readonly dataSource: DataSource) {}

  /** Runs `work` in one transaction; it commits only if `work` resolves. */
  async write<T>(work: (tx: MeshWriteTransaction) => Promise<T>): Promise<T> {
    return withDatabaseErrors(() =>
      this.dataSource.transaction((manager) => work(new MeshWriteTransaction(manager))),
    );
  }

  get(id: ResourceId): Promise<StoredResource | undefined> {
    return withDatabaseErrors(() => findResource(this.dataSource.manager, id, false));
  }

  findByArn(arn: string): Promise<StoredResource | undefined> {
    return withDatabaseErrors(async () => {
      const row = await this.dataSource.manager.findOneBy(MeshResourceEntity, { arn });
      return row ? toStored(row) : undefined;
    });
  }

  /** One page of a kind's resources in name order, starting after `after`. */
  list(
    kind: ResourceKind,
    meshName: string | undefined,
    parentName: string,
    limit: number,
    after: string | undefined,
  ): Promise<StoredResource[]> {
    return withDatabaseErrors(async () => {
      // Name order with the same collation for ORDER BY and `>`, so pages never overlap.
      const query = this.dataSource.manager
        .createQueryBuilder(MeshResourceEntity, 'r')
        .where('r.kind = :kind AND r.parentName = :parentName', { kind, parentName })
        .orderBy('r.name', 'ASC')
        .take(limit);
      if (meshName !== undefined) query.andWhere('r.meshName = :meshName', { meshName });
      if (after !== undefined) query.andWhere('r.name > :after', { after });
      const rows = await query.getMany();
      return rows.map(toStored);
    });
  }

  async revision(meshName: string): Promise<number> {
    return withDatabaseErrors(async () => {
      const rows: Array<{ revision: string }> = await this.dataSource.query(
        'SELECT revision FROM mesh_revision WHERE mesh_name = $1',
        [meshName],
      );
      return Number(rows[0]?.revision ?? 0);
    });
  }

  /** A mesh's tracing settings from the native API; undefined when none were set. */
  tracing(meshName: string): Promise<Record<string, unknown> | undefined> {
    return withDatabaseErrors(async () => {
      const rows: Array<{ settings: Record<string, unknown> }> = await this.dataSource.query(
        'SELECT settings FROM mesh_tracing WHERE mesh_name = $1',
        [meshName],
      );
      return rows[0]?.settings;
    });
  }

  /** The change log of a mesh, oldest first. */
  changes(meshName: string): Promise<ChangeLogEntity[]> {
    return withDatabaseErrors(() =>
      this.dataSource.manager.find(ChangeLogEntity, {
        where: { meshName },
        order: { revision: 'ASC' },
      }),
    );
  }

  /** One page of a mesh's change log, newest first, from just below `beforeRevision`. */
  history(
    meshName: string,
    filter: ChangeFilter,
    limit: number,
    beforeRevision: number | undefined,
  ): Promise<ChangeLogEntity[]> {
    return withDatabaseErrors(() => {
      const query = this.dataSource.manager
        .createQueryBuilder(ChangeLogEntity, 'c')
        .where('c.meshName = :meshName', { meshName })
        .orderBy('c.revision', 'DESC')
        .take(limit);
      if (filter.kind !== undefined) query.andWhere('c.kind = :kind', { kind: filter.kind });
      if (filter.parentName !== undefined)
        query.andWhere('c.parentName = :parentName', { parentName: filter.parentName });
      if (filter.name !== undefined) query.andWhere('c.name = :name', { name: filter.name });
      if (filter.rolloutId !== undefined)
        query.andWhere('c.rolloutId = :rolloutId', { rolloutId: filter.rolloutId });
      if (beforeRevision !== undefined)
        query.andWhere('c.revision < :beforeRevision', { beforeRevision });
      return query.getMany();
    });
  }

  /** Forgets client tokens recorded before `cutoff`; returns how many. */
  purgeClientTokens(cutoff: Date): Promise<number> {
    return withDatabaseErrors(async () => {
      const result = await this.dataSource.manager
        .createQueryBuilder()
        .delete()
        .from(ClientTokenEntity)
        .where('created_at < :cutoff', { cutoff })
        .execute();
      return result.affected ?? 0;
    });
  }
}

/**
 * The operations of one write transaction. Writers lock the mesh row first
 * ({@link lockMesh}), which serialises all writes within a mesh: reference checks,
 * limit counts and the revision counter are then consistent without retries.
 */
export class MeshWriteTransaction {
  constructor(private readonly manager: EntityManager) {}

  /**
   * Records a client token for this request. Returns the stored outcome when the same
   * request was already completed with it; throws ConflictException when the token was
   * used for a different request. A concurrent request holding the token is awaited.
   */
  async claimClientToken(
    token: string,
    requestHash: string,
  ): Promise<{ response: unknown; revision: number | null } | undefined> {
    const inserted: unknown[] = await this.manager.query(
      `INSERT INTO client_token (token, request_hash, created_at) VALUES ($1, $2, now())
       ON CONFLICT (token) DO NOTHING RETURNING token`,
      [token, requestHash],
    );
    if (inserted.length > 0) return undefined;
    const previous = await this.manager.findOneByOrFail(ClientTokenEntity, { token });
    if (previous.requestHash !== requestHash) {
      throw new ConflictException(
        'The request contains a client token that was used for a previous update resource call with different specifications',
      );
    }
    return { response: previous.response, revision: previous.revision };
  }

  async completeClientToken(token: string, response: unknown, revision: number): Promise<void> {
    await this.manager.query(
      'UPDATE client_token SET response = $2::json, revision = $3 WHERE token = $1',
      [token, JSON.stringify(response), revision],
    );
  }

  async lockMeshCreation(): Promise<void> {
    await this.manager.query('SELECT pg_advisory_xact_lock($1)', [MESH_CREATION_LOCK_KEY]);
  }

  /** Locks the mesh row for the rest of the transaction; undefined if there is no such mesh. */
  lockMesh(meshName: string): Promise<StoredResource | undefined> {
    return findResource(
      this.manager,
      { meshName, kind: 'mesh', parentName: '', name: meshName },
      true,
    );
  }

  get(id: ResourceId): Promise<StoredResource | undefined> {
    return findResource(this.manager, id, true);
  }

  /** Every resource of a mesh, the mesh included; consistent while the mesh is locked. */
  async resources(meshName: string): Promise<StoredResource[]> {
    const rows = await this.manager.find(MeshResourceEntity, {
      where: { meshName },
      order: { kind: 'ASC', parentName: 'ASC', name: 'ASC' },
    });
    return rows.map(toStored);
  }

  /** The mesh's current revision (0 before its first write). */
  async revision(meshName: string): Promise<number> {
    const rows: Array<{ revision: string }> = await this.manager.query(
      'SELECT revision FROM mesh_revision WHERE mesh_name = $1',
      [meshName],
    );
    return Number(rows[0]?.revision ?? 0);
  }

  /** The change log of a mesh after `revision`, oldest first. */
  changesAfter(meshName: string, revision: number): Promise<ChangeLogEntity[]> {
    return this.manager
      .createQueryBuilder(ChangeLogEntity, 'c')
      .where('c.meshName = :meshName AND c.revision > :revision', { meshName, revision })
      .orderBy('c.revision', 'ASC')
      .getMany();
  }

  /** A mesh's tracing settings from the native API; undefined when none were set. */
  async tracing(meshName: string): Promise<Record<string, unknown> | undefined> {
    const rows: Array<{ settings: Record<string, unknown> }> = await this.manager.query(
      'SELECT settings FROM mesh_tracing WHERE mesh_name = $1',
      [meshName],
    );
    return rows[0]?.settings;
  }

  /** Replaces a mesh's tracing settings; returns the previous ones. */
  async replaceTracing(
    meshName: string,
    settings: object,
  ): Promise<Record<string, unknown> | undefined> {
    const previous: Array<{ settings: Record<string, unknown> }> = await this.manager.query(
      'SELECT settings FROM mesh_tracing WHERE mesh_name = $1',
      [meshName],
    );
    await this.manager.query(
      `INSERT INTO mesh_tracing (mesh_name, settings, updated_at) VALUES ($1, $2::json, now())
       ON CONFLICT (mesh_name) DO UPDATE SET settings = EXCLUDED.settings, updated_at = now()`,
      [meshName, JSON.stringify(settings)],
    );
    return previous[0]?.settings;
  }

  /** Resources of a kind in a mesh (all meshes for kind `mesh`), optionally under a parent. */
  async count(kind: ResourceKind, meshName?: string, parentName?: string): Promise<number> {
    const query = this.manager
      .createQueryBuilder(MeshResourceEntity, 'r')
      .where('r.kind = :kind', { kind });
    if (meshName !== undefined) query.andWhere('r.meshName = :meshName', { meshName });
    if (parentName !== undefined) query.andWhere('r.parentName = :parentName', { parentName });
    return query.getCount();
  }

  /** Resources other than the mesh itself, by kind. */
  async childrenOfMesh(meshName: string): Promise<Array<{ kind: ResourceKind; count: number }>> {
    const rows: Array<{ kind: ResourceKind; count: string }> = await this.manager.query(
      `SELECT kind, count(*) AS count FROM mesh_resource
       WHERE mesh_name = $1 AND kind <> 'mesh' GROUP BY kind ORDER BY kind`,
      [meshName],
    );
    return rows.map((row) => ({ kind: row.kind, count: Number(row.count) }));
  }

  /** Of the given names of a kind in a mesh, those that do not exist. */
  async missing(meshName: string, kind: ResourceKind, names: string[]): Promise<string[]> {
    if (names.length === 0) return [];
    const rows: Array<{ name: string }> = await this.manager.query(
      `SELECT name FROM mesh_resource WHERE mesh_name = $1 AND kind = $2 AND parent_name = '' AND name = ANY($3)`,
      [meshName, kind, names],
    );
    const present = new Set(rows.map((row) => row.name));
    return names.filter((name) => !present.has(name));
  }

  async insert(resource: StoredResource): Promise<void> {
    await this.manager.query(
      `INSERT INTO mesh_resource (mesh_name, kind, parent_name, name, arn, uid, version, spec, tags,
         resource_owner, created_at, last_updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8::json, $9::json, $10, $11, $12)`,
      [
        resource.id.meshName,
        resource.id.kind,
        resource.id.parentName,
        resource.id.name,
        resource.arn,
        resource.uid,
        resource.version,
        JSON.stringify(resource.spec),
        JSON.stringify(resource.tags),
        resource.resourceOwner,
        resource.createdAt,
        resource.lastUpdatedAt,
      ],
    );
  }

  async update(resource: StoredResource): Promise<void> {
    const { meshName, kind, parentName, name } = resource.id;
    await this.manager.query(
      `UPDATE mesh_resource SET version = $5, spec = $6::json, tags = $7::json, last_updated_at = $8
       WHERE mesh_name = $1 AND kind = $2 AND parent_name = $3 AND name = $4`,
      [
        meshName,
        kind,
        parentName,
        name,
        resource.version,
        JSON.stringify(resource.spec),
        JSON.stringify(resource.tags),
        resource.lastUpdatedAt,
      ],
    );
  }

  async delete(id: ResourceId): Promise<void> {
    const { meshName, kind, parentName, name } = id;
    await this.manager.delete(MeshResourceEntity, { meshName, kind, parentName, name });
    await this.replaceReferences(id, []);
    if (kind === 'mesh')
      await this.manager.query('DELETE FROM mesh_tracing WHERE mesh_name = $1', [meshName]);
  }

  /** Replaces what `from` references with `targets`. */
  async replaceReferences(
    from: ResourceId,
    targets: Array<{ kind: ResourceKind; name: string }>,
  ): Promise<void> {
    await this.manager.delete(ResourceReferenceEntity, {
      meshName: from.meshName,
      fromKind: from.kind,
      fromParent: from.parentName,
      fromName: from.name,
    });
    const unique = new Map(targets.map((t) => [`${t.kind}/${t.name}`, t]));
    if (unique.size === 0) return;
    await this.manager.insert(
      ResourceReferenceEntity,
      [...unique.values()].map((target) => ({
        meshName: from.meshName,
        fromKind: from.kind,
        fromParent: from.parentName,
        fromName: from.name,
        toKind: target.kind,
        toName: target.name,
      })),
    );
  }

  /** Resources whose specs reference `to`, in a stable order. */
  async referrers(to: ResourceId): Promise<ResourceId[]> {
    const rows = await this.manager.find(ResourceReferenceEntity, {
      where: { meshName: to.meshName, toKind: to.kind, toName: to.name },
      order: { fromKind: 'ASC', fromParent: 'ASC', fromName: 'ASC' },
    });
    return rows.map((row) => ({
      meshName: row.meshName,
      kind: row.fromKind,
      parentName: row.fromParent,
      name: row.fromName,
    }));
  }

  /**
   * Increments the mesh revision, appends the change-log row and queues a NOTIFY that
   * Postgres delivers when (and only if) the transaction commits. Returns the revision.
   */
  async recordChange(change: Change): Promise<number> {
    const rows: Array<{ revision: string }> = await this.manager.query(
      `INSERT INTO mesh_revision (mesh_name, revision) VALUES ($1, 1)
       ON CONFLICT (mesh_name) DO UPDATE SET revision = mesh_revision.revision + 1
       RETURNING revision`,
      [change.id.meshName],
    );
    const revision = Number(rows[0]?.revision);
    await this.manager.query(
      `INSERT INTO change_log (mesh_name, revision, kind, parent_name, name, operation, actor,
         before, after, created_at, reason, rollout_id)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8::json, $9::json, now(), $10, $11)`,
      [
        change.id.meshName,
        revision,
        change.id.kind,
        change.id.parentName,
        change.id.name,
        change.operation,
        change.actor,
        change.before === null ? null : JSON.stringify(change.before),
        change.after === null ? null : JSON.stringify(change.after),
        change.reason ?? null,
        change.rolloutId ?? null,
      ],
    );
    await this.manager.query('SELECT pg_notify($1, $2)', [
      MESH_CHANGES_CHANNEL,
      JSON.stringify({ mesh: change.id.meshName, revision }),
    ]);
    return revision;
  }
}

async function findResource(
  manager: EntityManager,
  id: ResourceId,
  forUpdate: boolean,
): Promise<StoredResource | undefined> {
  const row = await manager.findOne(MeshResourceEntity, {
    where: { meshName: id.meshName, kind: id.kind, parentName: id.parentName, name: id.name },
    lock: forUpdate ? { mode: 'pessimistic_write' } : undefined,
  });
  return row ? toStored(row) : undefined;
}

function toStored(row: MeshResourceEntity): StoredResource {
  return {
    id: { meshName: row.meshName, kind: row.kind, parentName: row.parentName, name: row.name },
    arn: row.arn,
    uid: row.uid,
    version: row.version,
    spec: row.spec,
    tags: row.tags,
    resourceOwner: row.resourceOwner,
    createdAt: row.createdAt,
    lastUpdatedAt: row.lastUpdatedAt,
  };
}
