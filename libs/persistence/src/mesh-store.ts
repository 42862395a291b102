import type { DataSource, EntityManager } from 'typeorm';
import { ConflictException } from '../../mesh-model/src/errors';
import {
  enforcedReferences,
  meshId,
  type ResourceId,
  type ResourceKind,
} from '../../mesh-model/src/resource-kinds';
import { inMeshTransaction, onPool } from './transaction-scope';
import { claimClientToken, completeClientToken } from './client-tokens';
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

/** Who writes a resource, how and why: the change log row of a resource write, minus its states. */
export type ResourceChange = Omit<Change, 'id' | 'before' | 'after'> & {
  operation: 'CREATE' | 'UPDATE' | 'DELETE' | 'TAG' | 'UNTAG';
};

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

  /**
   * Runs `work` in one transaction that writes mesh `meshName`; it commits only if `work`
   * resolves. Inside, every read goes through `tx`: this store's own reads refuse to run there.
   */
  async write<T>(meshName: string, work: (tx: MeshWriteTransaction) => Promise<T>): Promise<T> {
    return inMeshTransaction(this.dataSource, meshName, (manager) =>
      work(new MeshWriteTransaction(manager)),
    );
  }

  get(id: ResourceId): Promise<StoredResource | undefined> {
    return onPool(() => findResource(this.dataSource.manager, id, false));
  }

  findByArn(arn: string): Promise<StoredResource | undefined> {
    return onPool(async () => {
      const rows: ResourceRow[] = await this.dataSource.query(
        `SELECT ${RESOURCE_COLUMNS} FROM mesh_resource WHERE arn = $1`,
        [arn],
      );
      return rows[0] ? toStored(rows[0]) : undefined;
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
    return onPool(async () => {
      // Name order with the same collation for ORDER BY and `>`, so pages never overlap.
      // Within a mesh this is a range scan of the primary key (mesh, kind, parent, name).
      const parameters: unknown[] = [kind, parentName, limit];
      const where = ['kind = $1', 'parent_name = $2'];
      if (meshName !== undefined) where.push(`mesh_name = $${parameters.push(meshName)}`);
      if (after !== undefined) where.push(`name > $${parameters.push(after)}`);
      const rows: ResourceRow[] = await this.dataSource.query(
        `SELECT ${RESOURCE_COLUMNS} FROM mesh_resource WHERE ${where.join(' AND ')}
         ORDER BY name LIMIT $3`,
        parameters,
      );
      return rows.map(toStored);
    });
  }

  async revision(meshName: string): Promise<number> {
    return onPool(async () => {
      const rows: Array<{ revision: string }> = await this.dataSource.query(
        'SELECT revision FROM mesh_revision WHERE mesh_name = $1',
        [meshName],
      );
      return Number(rows[0]?.revision ?? 0);
    });
  }

  /** A mesh's tracing settings from the native API; undefined when none were set. */
  tracing(meshName: string): Promise<Record<string, unknown> | undefined> {
    return onPool(async () => {
      const rows: Array<{ settings: Record<string, unknown> }> = await this.dataSource.query(
        'SELECT settings FROM mesh_tracing WHERE mesh_name = $1',
        [meshName],
      );
      return rows[0]?.settings;
    });
  }

  /** The change log of a mesh, oldest first. */
  changes(meshName: string): Promise<ChangeLogEntity[]> {
    return onPool(() =>
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
    return onPool(() => {
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
    return onPool(async () => {
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
  claimClientToken(
    token: string,
    requestHash: string,
  ): Promise<{ response: unknown; revision: number | null } | undefined> {
    return claimClientToken(
      this.manager,
      token,
      requestHash,
      () =>
        new ConflictException(
          'The request contains a client token that was used for a previous update resource call with different specifications',
        ),
    );
  }

  completeClientToken(token: string, response: unknown, revision: number): Promise<void> {
    return completeClientToken(this.manager, token, response, revision);
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

  /** The resource with this ARN, not locked: lock its mesh before relying on it. */
  async findByArn(arn: string): Promise<StoredResource | undefined> {
    const rows: ResourceRow[] = await this.manager.query(
      `SELECT ${RESOURCE_COLUMNS} FROM mesh_resource WHERE arn = $1`,
      [arn],
    );
    return rows[0] ? toStored(rows[0]) : undefined;
  }

  /**
   * The resources of one mesh that exist among `ids`, in one round trip, keyed by
   * {@link resourceKey}. Rows are not locked: call it after {@link lockMesh}, which keeps
   * every other writer of the mesh out until this transaction ends.
   */
  async getMany(
    meshName: string,
    ids: readonly ResourceId[],
  ): Promise<Map<string, StoredResource>> {
    const rows: ResourceRow[] = await this.manager.query(
      `SELECT ${RESOURCE_COLUMNS} FROM mesh_resource
       WHERE mesh_name = $1
         AND (kind, parent_name, name) IN (SELECT * FROM unnest($2::text[], $3::text[], $4::text[]))`,
      [
        meshName,
        ids.map((id) => id.kind),
        ids.map((id) => id.parentName),
        ids.map((id) => id.name),
      ],
    );
    return byKey(rows);
  }

  /**
   * {@link lockMesh} and {@link getMany} in one round trip, for writes that need the
   * resources they read to exist (an update); the mesh is in the map when it exists.
   *
   * Every row read is locked, the mesh row first (`ORDER BY` before `FOR UPDATE`, the order
   * every writer takes). A row locked after waiting is read again at its newest version, so
   * what a successful write builds on is current. Only rows created while this statement
   * waited for the mesh are missed; a write that finds something missing writes nothing,
   * which is as if it had run before them.
   */
  async lockMeshAndGet(
    meshName: string,
    ids: readonly ResourceId[],
  ): Promise<Map<string, StoredResource>> {
    const all = [meshId(meshName), ...ids];
    const rows: ResourceRow[] = await this.manager.query(
      `SELECT ${RESOURCE_COLUMNS} FROM mesh_resource
       WHERE mesh_name = $1
         AND (kind, parent_name, name) IN (SELECT * FROM unnest($2::text[], $3::text[], $4::text[]))
       ORDER BY kind = 'mesh' DESC
       FOR UPDATE`,
      [
        meshName,
        all.map((id) => id.kind),
        all.map((id) => id.parentName),
        all.map((id) => id.name),
      ],
    );
    return byKey(rows);
  }

  /** Every resource of a mesh, the mesh included; consistent while the mesh is locked. */
  async resources(meshName: string): Promise<StoredResource[]> {
    const rows: ResourceRow[] = await this.manager.query(
      `SELECT ${RESOURCE_COLUMNS} FROM mesh_resource WHERE mesh_name = $1
       ORDER BY kind, parent_name, name`,
      [meshName],
    );
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
    const parameters: unknown[] = [kind];
    const where = ['kind = $1'];
    if (meshName !== undefined) where.push(`mesh_name = $${parameters.push(meshName)}`);
    if (parentName !== undefined) where.push(`parent_name = $${parameters.push(parentName)}`);
    const rows: Array<{ count: string }> = await this.manager.query(
      `SELECT count(*) AS count FROM mesh_resource WHERE ${where.join(' AND ')}`,
      parameters,
    );
    return Number(rows[0]?.count ?? 0);
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

  /**
   * Creates a resource: its row, its reference rows, the revision, the change-log row and the
   * NOTIFY. The caller has locked the mesh and checked App Mesh's rules.
   */
  async createResource(resource: StoredResource, change: ResourceChange): Promise<number> {
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
    await this.replaceReferences(
      resource.id,
      enforcedReferences(resource.id.kind, resource.spec),
      [],
    );
    return this.recordChange({
      ...change,
      id: resource.id,
      before: null,
      after: resourceSnapshot(resource),
    });
  }

  /**
   * Writes `updated` over `current` (its spec, tags, version): the reference rows when the
   * references change, then the row, the revision, the change-log row and the NOTIFY in one
   * statement. Writers hold the mesh lock until they commit, so every round trip here holds up
   * the mesh's other writers. The caller has locked the mesh and checked App Mesh's rules.
   */
  async updateResource(
    current: StoredResource,
    updated: StoredResource,
    change: ResourceChange,
  ): Promise<number> {
    const { id } = current;
    await this.replaceReferences(
      id,
      enforcedReferences(id.kind, updated.spec),
      enforcedReferences(id.kind, current.spec),
    );
    // $1…$4 of the change parameters are the resource's key.
    const rows: Array<{ revision: string }> = await this.manager.query(
      `WITH updated AS (
         UPDATE mesh_resource
         SET version = $12, spec = $13::json, tags = $14::json, last_updated_at = $15
         WHERE mesh_name = $1 AND kind = $2 AND parent_name = $3 AND name = $4
       ), ${RECORD_CHANGE_CTES} ${RECORD_CHANGE_SELECT}`,
      [
        ...changeParameters({
          ...change,
          id,
          before: resourceSnapshot(current),
          after: resourceSnapshot(updated),
        }),
        updated.version,
        JSON.stringify(updated.spec),
        JSON.stringify(updated.tags),
        updated.lastUpdatedAt,
      ],
    );
    return Number(rows[0]?.revision);
  }

  /** Deletes a resource with its reference rows (a mesh with its tracing settings) and logs it. */
  async deleteResource(current: StoredResource, change: ResourceChange): Promise<number> {
    const { meshName, kind, parentName, name } = current.id;
    await this.manager.delete(MeshResourceEntity, { meshName, kind, parentName, name });
    await this.replaceReferences(current.id, []);
    if (kind === 'mesh')
      await this.manager.query('DELETE FROM mesh_tracing WHERE mesh_name = $1', [meshName]);
    return this.recordChange({
      ...change,
      id: current.id,
      before: resourceSnapshot(current),
      after: null,
    });
  }

  /**
   * Replaces what `from` references with `targets`. `stored`, what the resource's stored
   * spec references, lets a write that keeps its references (a weight change) skip the
   * rewrite: the reference rows always match the stored spec.
   */
  private async replaceReferences(
    from: ResourceId,
    targets: readonly ReferenceTarget[],
    stored?: readonly ReferenceTarget[],
  ): Promise<void> {
    const unique = uniqueTargets(targets);
    const before = stored && uniqueTargets(stored);
    if (before && before.size === unique.size && [...unique.keys()].every((k) => before.has(k))) {
      return;
    }
    const key = [from.meshName, from.kind, from.parentName, from.name];
    if (before === undefined || before.size > 0) {
      await this.manager.query(
        `DELETE FROM resource_reference
         WHERE mesh_name = $1 AND from_kind = $2 AND from_parent = $3 AND from_name = $4`,
        key,
      );
    }
    if (unique.size === 0) return;
    const values = [...unique.values()];
    await this.manager.query(
      `INSERT INTO resource_reference (mesh_name, from_kind, from_parent, from_name, to_kind, to_name)
       SELECT $1, $2, $3, $4, to_kind, to_name FROM unnest($5::text[], $6::text[]) AS t (to_kind, to_name)`,
      [...key, values.map((t) => t.kind), values.map((t) => t.name)],
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
      `WITH ${RECORD_CHANGE_CTES} ${RECORD_CHANGE_SELECT}`,
      changeParameters(change),
    );
    return Number(rows[0]?.revision);
  }
}

/**
 * The next revision, its change-log row and the NOTIFY, with {@link changeParameters} as
 * $1…$11. The NOTIFY is delivered when (and only if) the transaction commits.
 */
const RECORD_CHANGE_CTES = `next AS (
    INSERT INTO mesh_revision (mesh_name, revision) VALUES ($1, 1)
    ON CONFLICT (mesh_name) DO UPDATE SET revision = mesh_revision.revision + 1
    RETURNING revision
  ), logged AS (
    INSERT INTO change_log (mesh_name, revision, kind, parent_name, name, operation, actor,
      before, after, created_at, reason, rollout_id)
    SELECT $1, revision, $2, $3, $4, $5, $6, $7::json, $8::json, now(), $9, $10 FROM next
  )`;
const RECORD_CHANGE_SELECT = `SELECT revision,
    pg_notify($11, json_build_object('mesh', $1::text, 'revision', revision)::text)
  FROM next`;
function changeParameters(change: Change): unknown[] {
  return [
    change.id.meshName,
    change.id.kind,
    change.id.parentName,
    change.id.name,
    change.operation,
    change.actor,
    change.before === null ? null : JSON.stringify(change.before),
    change.after === null ? null : JSON.stringify(change.after),
    change.reason ?? null,
    change.rolloutId ?? null,
    MESH_CHANGES_CHANNEL,
  ];
}

/** The columns of `mesh_resource` as {@link toStored} reads them. */
const RESOURCE_COLUMNS = `mesh_name, kind, parent_name, name, arn, uid, version, spec, tags,
  resource_owner, created_at, last_updated_at`;

interface ResourceRow {
  mesh_name: string;
  kind: ResourceKind;
  parent_name: string;
  name: string;
  arn: string;
  uid: string;
  /** bigint arrives as a string. */
  version: string;
  spec: Record<string, unknown>;
  tags: Tag[];
  resource_owner: string;
  created_at: Date;
  last_updated_at: Date;
}

/** What a resource's spec references, as {@link MeshWriteTransaction.replaceReferences} takes it. */
export interface ReferenceTarget {
  kind: ResourceKind;
  name: string;
}

/** A resource's identity as one string, the key of {@link MeshWriteTransaction.getMany}'s map. */
export function resourceKey(id: ResourceId): string {
  return `${id.kind}/${id.parentName}/${id.name}`;
}

function byKey(rows: readonly ResourceRow[]): Map<string, StoredResource> {
  return new Map(
    rows.map((row) => {
      const resource = toStored(row);
      return [resourceKey(resource.id), resource];
    }),
  );
}

function uniqueTargets(targets: readonly ReferenceTarget[]): Map<string, ReferenceTarget> {
  return new Map(targets.map((t) => [`${t.kind}/${t.name}`, t]));
}

// Raw SQL rather than the query builder: these reads run on every request, and building
// the query cost more CPU than running it.
async function findResource(
  manager: EntityManager,
  id: ResourceId,
  forUpdate: boolean,
): Promise<StoredResource | undefined> {
  const rows: ResourceRow[] = await manager.query(
    `SELECT ${RESOURCE_COLUMNS} FROM mesh_resource
     WHERE mesh_name = $1 AND kind = $2 AND parent_name = $3 AND name = $4
     ${forUpdate ? 'FOR UPDATE' : ''}`,
    [id.meshName, id.kind, id.parentName, id.name],
  );
  return rows[0] ? toStored(rows[0]) : undefined;
}

function toStored(row: ResourceRow): StoredResource {
  return {
    id: { meshName: row.mesh_name, kind: row.kind, parentName: row.parent_name, name: row.name },
    arn: row.arn,
    uid: row.uid,
    version: Number(row.version),
    spec: row.spec,
    tags: row.tags,
    resourceOwner: row.resource_owner,
    createdAt: row.created_at,
    lastUpdatedAt: row.last_updated_at,
  };
}
