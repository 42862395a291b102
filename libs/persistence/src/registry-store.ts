import type { DataSource, EntityManager } from 'typeorm';
import { claimClientToken, completeClientToken, type ClaimedToken } from './client-tokens';
import { withDatabaseErrors } from './database-errors';

/** Postgres channel carrying `{"namespace", "service", "serviceId", "revision"}` after every registry change that can move endpoints. */
export const REGISTRY_CHANGES_CHANNEL = 'trellis_registry_changes';

export interface RegistryTag {
  Key: string;
  Value: string;
}

export interface RegistryNamespace {
  id: string;
  name: string;
  type: string;
  arn: string;
  description?: string;
  /** As Cloud Map returns it: DnsProperties and/or HttpProperties. */
  properties: Record<string, unknown>;
  creatorRequestId?: string;
  tags: RegistryTag[];
  createdAt: Date;
  updatedAt: Date;
  serviceCount: number;
}

export interface RegistryService {
  id: string;
  namespaceId: string;
  namespaceName: string;
  name: string;
  arn: string;
  type: string;
  description?: string;
  dnsConfig?: Record<string, unknown>;
  healthCheckConfig?: object;
  healthCheckCustomConfig?: object;
  creatorRequestId?: string;
  tags: RegistryTag[];
  /** Trellis' instance leases: instances not renewed within this many seconds stop counting as healthy. */
  leaseTtlSeconds?: number;
  revision: number;
  createdAt: Date;
  updatedAt: Date;
  instanceCount: number;
}

export type CustomHealth = 'HEALTHY' | 'UNHEALTHY';

export interface RegistryInstance {
  serviceId: string;
  id: string;
  attributes: Record<string, string>;
  creatorRequestId?: string;
  /** Set for services with HealthCheckCustomConfig. */
  customHealth?: CustomHealth;
  /** Set for services with a lease TTL. */
  leaseExpiresAt?: Date;
  createdAt: Date;
  updatedAt: Date;
}

export interface RegistryOperation {
  id: string;
  type: string;
  status: string;
  targets: Record<string, string>;
  namespaceId?: string;
  serviceId?: string;
  createdAt: Date;
  updatedAt: Date;
}

export interface OperationFilter {
  namespaceId?: string;
  serviceId?: string;
  statuses?: string[];
  types?: string[];
  updatedBetween?: [Date, Date];
}

export interface NamespaceFilter {
  types?: string[];
  /** EQ on the name or a prefix (BEGINS_WITH). */
  name?: { value: string; prefix: boolean };
}

/** A change to a service's instances (or the service itself), as the change log keeps it. */
export interface RegistryChange {
  service: Pick<RegistryService, 'id' | 'namespaceName' | 'name'>;
  instanceId?: string;
  operation: string;
  actor: string;
  before: unknown;
  after: unknown;
}

/** What an instance write changes besides the revision and change log (see recordChange). */
export interface InstanceWrites {
  instance?: { put: RegistryInstance } | { remove: string };
  /** The operation the write answers with, already complete. */
  operation?: RegistryOperation;
}

/** A service's identity and revision, for replicas comparing what they loaded. */
export interface ServiceRevision {
  serviceId: string;
  namespaceName: string;
  serviceName: string;
  revision: number;
}

/** A service with all its instances, as xDS servers and DiscoverInstances read it. */
export interface ServiceInstances {
  service: RegistryService;
  instances: RegistryInstance[];
}

/** Rows one purge statement deletes at most. */
const PURGE_BATCH = 10_000;

/**
 * The only code that reads and writes the service registry in Postgres. Kept apart from
 * MeshStore: registry writes serialise per service (its row lock), not per mesh.
 */
export class RegistryStore {
  constructor(private readonly dataSource: DataSource) {}

  /** Runs `work` in one transaction; it commits only if `work` resolves. */
  write<T>(work: (tx: RegistryWriteTransaction) => Promise<T>): Promise<T> {
    return withDatabaseErrors(() =>
      this.dataSource.transaction((manager) => work(new RegistryWriteTransaction(manager))),
    );
  }

  /**
   * Deletes operations last updated, and change-log rows written, before `cutoff`, in batches
   * so that no statement holds locks for long. Returns how many of each went.
   */
  purgeHistory(cutoff: Date): Promise<{ operations: number; changes: number }> {
    return withDatabaseErrors(async () => {
      const purge = async (table: string, column: string): Promise<number> => {
        let total = 0;
        for (;;) {
          const [, deleted]: [unknown, number] = await this.dataSource.query(
            `DELETE FROM ${table} WHERE ctid = ANY(ARRAY(
               SELECT ctid FROM ${table} WHERE ${column} < $1 LIMIT ${PURGE_BATCH}))`,
            [cutoff],
          );
          total += deleted;
          if (deleted < PURGE_BATCH) return total;
        }
      };
      return {
        operations: await purge('registry_operation', 'updated_at'),
        changes: await purge('registry_change', 'created_at'),
      };
    });
  }

  namespace(id: string): Promise<RegistryNamespace | undefined> {
    return withDatabaseErrors(async () => {
      const rows: NamespaceRow[] = await this.dataSource.query(
        `${NAMESPACE_SELECT} WHERE n.id = $1`,
        [id],
      );
      return rows[0] && toNamespace(rows[0]);
    });
  }

  namespaceByName(name: string): Promise<RegistryNamespace | undefined> {
    return withDatabaseErrors(async () => {
      const rows: NamespaceRow[] = await this.dataSource.query(
        `${NAMESPACE_SELECT} WHERE n.name = $1`,
        [name],
      );
      return rows[0] && toNamespace(rows[0]);
    });
  }

  /** One page of namespaces in id order, after `after`. */
  namespaces(filter: NamespaceFilter, limit: number, after?: string): Promise<RegistryNamespace[]> {
    return withDatabaseErrors(async () => {
      const parameters: unknown[] = [limit];
      const where = ['true'];
      if (after !== undefined) where.push(`n.id > $${parameters.push(after)}`);
      if (filter.types) where.push(`n.type = ANY($${parameters.push(filter.types)})`);
      if (filter.name) {
        where.push(
          filter.name.prefix
            ? `starts_with(n.name, $${parameters.push(filter.name.value)})`
            : `n.name = $${parameters.push(filter.name.value)}`,
        );
      }
      const rows: NamespaceRow[] = await this.dataSource.query(
        `${NAMESPACE_SELECT} WHERE ${where.join(' AND ')} ORDER BY n.id LIMIT $1`,
        parameters,
      );
      return rows.map(toNamespace);
    });
  }

  service(id: string): Promise<RegistryService | undefined> {
    return withDatabaseErrors(async () => {
      const rows: ServiceRow[] = await this.dataSource.query(`${SERVICE_SELECT} WHERE s.id = $1`, [
        id,
      ]);
      return rows[0] && toService(rows[0]);
    });
  }

  /** One page of services in id order, after `after`, optionally of one namespace. */
  services(
    namespaceId: string | undefined,
    limit: number,
    after?: string,
  ): Promise<RegistryService[]> {
    return withDatabaseErrors(async () => {
      const parameters: unknown[] = [limit];
      const where = ['true'];
      if (after !== undefined) where.push(`s.id > $${parameters.push(after)}`);
      if (namespaceId !== undefined)
        where.push(`s.namespace_id = $${parameters.push(namespaceId)}`);
      const rows: ServiceRow[] = await this.dataSource.query(
        `${SERVICE_SELECT} WHERE ${where.join(' AND ')} ORDER BY s.id LIMIT $1`,
        parameters,
      );
      return rows.map(toService);
    });
  }

  /** A service by namespace and service name, with every instance; undefined when either does not exist. */
  serviceInstances(
    namespaceName: string,
    serviceName: string,
  ): Promise<ServiceInstances | undefined> {
    return withDatabaseErrors(async () => {
      const services: ServiceRow[] = await this.dataSource.query(
        `${SERVICE_SELECT} WHERE n.name = $1 AND s.name = $2`,
        [namespaceName, serviceName],
      );
      const service = services[0] && toService(services[0]);
      if (!service) return undefined;
      const rows: InstanceRow[] = await this.dataSource.query(
        `${INSTANCE_SELECT} WHERE service_id = $1 ORDER BY id`,
        [service.id],
      );
      return { service, instances: rows.map(toInstance) };
    });
  }

  /** Every service with its instances, for an xDS server's first load. */
  allServiceInstances(): Promise<ServiceInstances[]> {
    return withDatabaseErrors(async () => {
      const services: ServiceRow[] = await this.dataSource.query(`${SERVICE_SELECT} ORDER BY s.id`);
      const rows: InstanceRow[] = await this.dataSource.query(
        `${INSTANCE_SELECT} ORDER BY service_id, id`,
      );
      const byService = new Map<string, RegistryInstance[]>();
      for (const row of rows) {
        let list = byService.get(row.service_id);
        if (!list) byService.set(row.service_id, (list = []));
        list.push(toInstance(row));
      }
      return services.map((row) => ({
        service: toService(row),
        instances: byService.get(row.id) ?? [],
      }));
    });
  }

  /** Every service's revision: what a replica compares to repair missed notifications. */
  revisions(): Promise<ServiceRevision[]> {
    return withDatabaseErrors(async () => {
      const rows: Array<{ id: string; namespace_name: string; name: string; revision: string }> =
        await this.dataSource.query(
          `SELECT s.id, n.name AS namespace_name, s.name, s.revision
           FROM registry_service s JOIN registry_namespace n ON n.id = s.namespace_id`,
        );
      return rows.map((row) => ({
        serviceId: row.id,
        namespaceName: row.namespace_name,
        serviceName: row.name,
        revision: Number(row.revision),
      }));
    });
  }

  instance(serviceId: string, id: string): Promise<RegistryInstance | undefined> {
    return withDatabaseErrors(async () => {
      const rows: InstanceRow[] = await this.dataSource.query(
        `${INSTANCE_SELECT} WHERE service_id = $1 AND id = $2`,
        [serviceId, id],
      );
      return rows[0] && toInstance(rows[0]);
    });
  }

  /** One page of a service's instances in id order, after `after`. */
  instances(serviceId: string, limit: number, after?: string): Promise<RegistryInstance[]> {
    return withDatabaseErrors(async () => {
      const parameters: unknown[] = [serviceId, limit];
      const where = ['service_id = $1'];
      if (after !== undefined) where.push(`id > $${parameters.push(after)}`);
      const rows: InstanceRow[] = await this.dataSource.query(
        `${INSTANCE_SELECT} WHERE ${where.join(' AND ')} ORDER BY id LIMIT $2`,
        parameters,
      );
      return rows.map(toInstance);
    });
  }

  operation(id: string): Promise<RegistryOperation | undefined> {
    return withDatabaseErrors(async () => {
      const rows: OperationRow[] = await this.dataSource.query(
        `SELECT ${OPERATION_COLUMNS} FROM registry_operation WHERE id = $1`,
        [id],
      );
      return rows[0] && toOperation(rows[0]);
    });
  }

  /** One page of operations in id order, after `after`. */
  operations(filter: OperationFilter, limit: number, after?: string): Promise<RegistryOperation[]> {
    return withDatabaseErrors(async () => {
      const parameters: unknown[] = [limit];
      const where = ['true'];
      if (after !== undefined) where.push(`id > $${parameters.push(after)}`);
      if (filter.namespaceId !== undefined)
        where.push(`namespace_id = $${parameters.push(filter.namespaceId)}`);
      if (filter.serviceId !== undefined)
        where.push(`service_id = $${parameters.push(filter.serviceId)}`);
      if (filter.statuses) where.push(`status = ANY($${parameters.push(filter.statuses)})`);
      if (filter.types) where.push(`type = ANY($${parameters.push(filter.types)})`);
      if (filter.updatedBetween) {
        where.push(
          `updated_at BETWEEN $${parameters.push(filter.updatedBetween[0])} AND $${parameters.push(filter.updatedBetween[1])}`,
        );
      }
      const rows: OperationRow[] = await this.dataSource.query(
        `SELECT ${OPERATION_COLUMNS} FROM registry_operation WHERE ${where.join(' AND ')}
         ORDER BY id LIMIT $1`,
        parameters,
      );
      return rows.map(toOperation);
    });
  }

  /** The tags of the namespace or service with this ARN; undefined when there is none. */
  tags(arn: string): Promise<RegistryTag[] | undefined> {
    return withDatabaseErrors(async () => {
      const rows: Array<{ tags: RegistryTag[] }> = await this.dataSource.query(
        `SELECT tags FROM registry_namespace WHERE arn = $1
         UNION ALL SELECT tags FROM registry_service WHERE arn = $1`,
        [arn],
      );
      return rows[0]?.tags;
    });
  }
}

/**
 * The operations of one registry write. Writers of instances lock their service row first
 * ({@link lockService}), so the instance count limit and the service revision are consistent.
 */
export class RegistryWriteTransaction {
  constructor(private readonly manager: EntityManager) {}

  claimRequest(
    token: string,
    requestHash: string,
    reused: (previous: ClaimedToken) => Error,
  ): Promise<ClaimedToken | undefined> {
    return claimClientToken(this.manager, token, requestHash, reused);
  }

  completeRequest(token: string, response: unknown): Promise<void> {
    return completeClientToken(this.manager, token, response, null);
  }

  async lockNamespace(id: string): Promise<RegistryNamespace | undefined> {
    const rows: NamespaceRow[] = await this.manager.query(
      `${NAMESPACE_SELECT} WHERE n.id = $1 FOR UPDATE OF n`,
      [id],
    );
    return rows[0] && toNamespace(rows[0]);
  }

  async lockService(id: string): Promise<RegistryService | undefined> {
    const rows: ServiceRow[] = await this.manager.query(
      `${SERVICE_SELECT} WHERE s.id = $1 FOR UPDATE OF s`,
      [id],
    );
    return rows[0] && toService(rows[0]);
  }

  /**
   * {@link lockService}, one of its instances (by id) and the database's clock, in one round
   * trip: what every instance write reads before it writes.
   */
  async lockServiceInstance(
    serviceId: string,
    instanceId: string,
  ): Promise<{ service: RegistryService; instance?: RegistryInstance; now: Date } | undefined> {
    const rows: Array<ServiceRow & { db_now: Date; instance: InstanceJson | null }> =
      await this.manager.query(
        `SELECT ${SERVICE_COLUMNS}, now() AS db_now,
           (SELECT to_json(i) FROM registry_instance i
            WHERE i.service_id = s.id AND i.id = $2) AS instance
         FROM ${SERVICE_FROM} WHERE s.id = $1 FOR UPDATE OF s`,
        [serviceId, instanceId],
      );
    const row = rows[0];
    if (!row) return undefined;
    return {
      service: toService(row),
      instance: row.instance ? toInstance(fromJson(row.instance)) : undefined,
      now: row.db_now,
    };
  }

  async namespaceIdByName(name: string): Promise<string | undefined> {
    const rows: Array<{ id: string }> = await this.manager.query(
      'SELECT id FROM registry_namespace WHERE name = $1',
      [name],
    );
    return rows[0]?.id;
  }

  async serviceIdByName(namespaceId: string, name: string): Promise<string | undefined> {
    const rows: Array<{ id: string }> = await this.manager.query(
      'SELECT id FROM registry_service WHERE namespace_id = $1 AND name = $2',
      [namespaceId, name],
    );
    return rows[0]?.id;
  }

  async countNamespaces(): Promise<number> {
    const rows: Array<{ n: number }> = await this.manager.query(
      'SELECT count(*)::int AS n FROM registry_namespace',
    );
    return rows[0]?.n ?? 0;
  }

  async insertNamespace(namespace: Omit<RegistryNamespace, 'serviceCount'>): Promise<void> {
    await this.manager.query(
      `INSERT INTO registry_namespace (id, name, type, arn, description, properties,
         creator_request_id, tags, created_at, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6::json, $7, $8::json, $9, $10)`,
      [
        namespace.id,
        namespace.name,
        namespace.type,
        namespace.arn,
        namespace.description ?? null,
        JSON.stringify(namespace.properties),
        namespace.creatorRequestId ?? null,
        JSON.stringify(namespace.tags),
        namespace.createdAt,
        namespace.updatedAt,
      ],
    );
  }

  async updateNamespace(namespace: RegistryNamespace): Promise<void> {
    await this.manager.query(
      `UPDATE registry_namespace SET description = $2, properties = $3::json, updated_at = $4
       WHERE id = $1`,
      [
        namespace.id,
        namespace.description ?? null,
        JSON.stringify(namespace.properties),
        namespace.updatedAt,
      ],
    );
  }

  async deleteNamespace(id: string): Promise<void> {
    await this.manager.query('DELETE FROM registry_namespace WHERE id = $1', [id]);
  }

  async insertService(
    service: Omit<RegistryService, 'instanceCount' | 'namespaceName'>,
  ): Promise<void> {
    await this.manager.query(
      `INSERT INTO registry_service (id, namespace_id, name, arn, type, description, dns_config,
         health_check_config, health_check_custom_config, creator_request_id, tags,
         lease_ttl_seconds, revision, created_at, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7::json, $8::json, $9::json, $10, $11::json, $12, $13, $14, $15)`,
      [
        service.id,
        service.namespaceId,
        service.name,
        service.arn,
        service.type,
        service.description ?? null,
        jsonOrNull(service.dnsConfig),
        jsonOrNull(service.healthCheckConfig),
        jsonOrNull(service.healthCheckCustomConfig),
        service.creatorRequestId ?? null,
        JSON.stringify(service.tags),
        service.leaseTtlSeconds ?? null,
        service.revision,
        service.createdAt,
        service.updatedAt,
      ],
    );
  }

  async updateService(service: RegistryService): Promise<void> {
    await this.manager.query(
      `UPDATE registry_service SET description = $2, dns_config = $3::json,
         health_check_config = $4::json, lease_ttl_seconds = $5, updated_at = $6
       WHERE id = $1`,
      [
        service.id,
        service.description ?? null,
        jsonOrNull(service.dnsConfig),
        jsonOrNull(service.healthCheckConfig),
        service.leaseTtlSeconds ?? null,
        service.updatedAt,
      ],
    );
  }

  async deleteService(id: string): Promise<void> {
    await this.manager.query('DELETE FROM registry_service WHERE id = $1', [id]);
  }

  /** Replaces the tags of the namespace or service with this ARN; false when there is none. */
  async replaceTags(arn: string, tags: RegistryTag[]): Promise<boolean> {
    const json = JSON.stringify(tags);
    // Updates run inside a WITH, so the driver answers rows (not TypeORM's [rows, count] of an UPDATE).
    const rows: unknown[] = await this.manager.query(
      `WITH namespaces AS (
         UPDATE registry_namespace SET tags = $2::json WHERE arn = $1 RETURNING id
       ), services AS (
         UPDATE registry_service SET tags = $2::json WHERE arn = $1 RETURNING id
       ) SELECT id FROM namespaces UNION ALL SELECT id FROM services`,
      [arn, json],
    );
    return rows.length > 0;
  }

  /** Locks the namespace or service with this ARN and returns its tags. */
  async lockTags(arn: string): Promise<RegistryTag[] | undefined> {
    const rows: Array<{ tags: RegistryTag[] }> = await this.manager.query(
      `SELECT tags FROM registry_namespace WHERE arn = $1 FOR UPDATE`,
      [arn],
    );
    if (rows[0]) return rows[0].tags;
    const services: Array<{ tags: RegistryTag[] }> = await this.manager.query(
      `SELECT tags FROM registry_service WHERE arn = $1 FOR UPDATE`,
      [arn],
    );
    return services[0]?.tags;
  }

  async setCustomHealth(serviceId: string, id: string, health: CustomHealth): Promise<void> {
    await this.manager.query(
      `UPDATE registry_instance SET custom_health = $3, updated_at = now()
       WHERE service_id = $1 AND id = $2`,
      [serviceId, id, health],
    );
  }

  /** Moves the leases of a service's instances (all, or one) to now + `ttlSeconds` (null: no lease). */
  async renewLeases(
    serviceId: string,
    ttlSeconds: number | null,
    instanceId?: string,
  ): Promise<Date | undefined> {
    const rows: Array<{ lease_expires_at: Date | null }> = await this.manager.query(
      `WITH renewed AS (
         UPDATE registry_instance
         SET lease_expires_at = CASE WHEN $2::int IS NULL THEN NULL
           ELSE now() + make_interval(secs => $2::int) END
         WHERE service_id = $1 AND ($3::text IS NULL OR id = $3)
         RETURNING lease_expires_at
       ) SELECT lease_expires_at FROM renewed`,
      [serviceId, ttlSeconds, instanceId ?? null],
    );
    return rows[0]?.lease_expires_at ?? undefined;
  }

  async countInstances(serviceId: string): Promise<number> {
    const rows: Array<{ n: number }> = await this.manager.query(
      'SELECT count(*)::int AS n FROM registry_instance WHERE service_id = $1',
      [serviceId],
    );
    return rows[0]?.n ?? 0;
  }

  async countServices(namespaceId: string): Promise<number> {
    const rows: Array<{ n: number }> = await this.manager.query(
      'SELECT count(*)::int AS n FROM registry_service WHERE namespace_id = $1',
      [namespaceId],
    );
    return rows[0]?.n ?? 0;
  }

  async insertOperation(operation: RegistryOperation): Promise<void> {
    await this.manager.query(
      `INSERT INTO registry_operation (id, type, status, targets, namespace_id, service_id,
         created_at, updated_at)
       VALUES ($1, $2, $3, $4::json, $5, $6, $7, $8)`,
      [
        operation.id,
        operation.type,
        operation.status,
        JSON.stringify(operation.targets),
        operation.namespaceId ?? null,
        operation.serviceId ?? null,
        operation.createdAt,
        operation.updatedAt,
      ],
    );
  }

  /**
   * Increments the service's revision, appends the change-log row and queues a NOTIFY that
   * Postgres delivers when (and only if) the transaction commits; with `writes`, also puts or
   * deletes the instance and records the operation, all in the same statement (one round trip
   * while the service is locked). Call it before deleting the service. Returns the revision.
   */
  async recordChange(change: RegistryChange, writes: InstanceWrites = {}): Promise<number> {
    const parameters: unknown[] = [
      change.service.id,
      change.service.namespaceName,
      change.service.name,
      change.instanceId ?? null,
      change.operation,
      change.actor,
      jsonOrNull(change.before),
      jsonOrNull(change.after),
      REGISTRY_CHANGES_CHANNEL,
    ];
    const at = (value: unknown): string => `$${parameters.push(value)}`;
    const ctes = [
      `next AS (
         UPDATE registry_service SET revision = revision + 1 WHERE id = $1 RETURNING revision
       )`,
      `logged AS (
         INSERT INTO registry_change (service_id, revision, namespace_name, service_name,
           instance_id, operation, actor, before, after, created_at)
         SELECT $1, revision, $2, $3, $4, $5, $6, $7::json, $8::json, now() FROM next
       )`,
    ];
    const { instance, operation } = writes;
    if (instance && 'put' in instance) {
      const put = instance.put;
      ctes.push(`put AS (
         INSERT INTO registry_instance (service_id, id, attributes, creator_request_id,
           custom_health, lease_expires_at, created_at, updated_at)
         VALUES (${at(put.serviceId)}, ${at(put.id)}, ${at(JSON.stringify(put.attributes))}::json,
           ${at(put.creatorRequestId ?? null)}, ${at(put.customHealth ?? null)},
           ${at(put.leaseExpiresAt ?? null)}::timestamptz, ${at(put.createdAt)}::timestamptz,
           ${at(put.updatedAt)}::timestamptz)
         ON CONFLICT (service_id, id) DO UPDATE SET attributes = EXCLUDED.attributes,
           creator_request_id = EXCLUDED.creator_request_id,
           custom_health = EXCLUDED.custom_health, lease_expires_at = EXCLUDED.lease_expires_at,
           updated_at = EXCLUDED.updated_at
       )`);
    } else if (instance) {
      ctes.push(`removed AS (
         DELETE FROM registry_instance WHERE service_id = $1 AND id = ${at(instance.remove)}
       )`);
    }
    if (operation) {
      ctes.push(`operation AS (
         INSERT INTO registry_operation (id, type, status, targets, namespace_id, service_id,
           created_at, updated_at)
         VALUES (${at(operation.id)}, ${at(operation.type)}, ${at(operation.status)},
           ${at(JSON.stringify(operation.targets))}::json, ${at(operation.namespaceId ?? null)},
           ${at(operation.serviceId ?? null)}, ${at(operation.createdAt)}::timestamptz,
           ${at(operation.updatedAt)}::timestamptz)
       )`);
    }
    const rows: Array<{ revision: string }> = await this.manager.query(
      `WITH ${ctes.join(', ')}
       SELECT revision, pg_notify($9, json_build_object('namespace', $2::text,
         'service', $3::text, 'serviceId', $1::text, 'revision', revision)::text)
       FROM next`,
      parameters,
    );
    return Number(rows[0]?.revision);
  }
}

function jsonOrNull(value: unknown): string | null {
  return value === undefined || value === null ? null : JSON.stringify(value);
}

const NAMESPACE_SELECT = `SELECT n.id, n.name, n.type, n.arn, n.description, n.properties,
    n.creator_request_id, n.tags, n.created_at, n.updated_at,
    (SELECT count(*)::int FROM registry_service s WHERE s.namespace_id = n.id) AS service_count
  FROM registry_namespace n`;

interface NamespaceRow {
  id: string;
  name: string;
  type: string;
  arn: string;
  description: string | null;
  properties: Record<string, unknown>;
  creator_request_id: string | null;
  tags: RegistryTag[];
  created_at: Date;
  updated_at: Date;
  service_count: number;
}

function toNamespace(row: NamespaceRow): RegistryNamespace {
  return {
    id: row.id,
    name: row.name,
    type: row.type,
    arn: row.arn,
    description: row.description ?? undefined,
    properties: row.properties,
    creatorRequestId: row.creator_request_id ?? undefined,
    tags: row.tags,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    serviceCount: row.service_count,
  };
}

const SERVICE_COLUMNS = `s.id, s.namespace_id, n.name AS namespace_name, s.name, s.arn, s.type,
    s.description, s.dns_config, s.health_check_config, s.health_check_custom_config,
    s.creator_request_id, s.tags, s.lease_ttl_seconds, s.revision, s.created_at, s.updated_at,
    (SELECT count(*)::int FROM registry_instance i WHERE i.service_id = s.id) AS instance_count`;
const SERVICE_FROM = `registry_service s JOIN registry_namespace n ON n.id = s.namespace_id`;
const SERVICE_SELECT = `SELECT ${SERVICE_COLUMNS} FROM ${SERVICE_FROM}`;

interface ServiceRow {
  id: string;
  namespace_id: string;
  namespace_name: string;
  name: string;
  arn: string;
  type: string;
  description: string | null;
  dns_config: Record<string, unknown> | null;
  health_check_config: Record<string, unknown> | null;
  health_check_custom_config: Record<string, unknown> | null;
  creator_request_id: string | null;
  tags: RegistryTag[];
  lease_ttl_seconds: number | null;
  revision: string;
  created_at: Date;
  updated_at: Date;
  instance_count: number;
}

function toService(row: ServiceRow): RegistryService {
  return {
    id: row.id,
    namespaceId: row.namespace_id,
    namespaceName: row.namespace_name,
    name: row.name,
    arn: row.arn,
    type: row.type,
    description: row.description ?? undefined,
    dnsConfig: row.dns_config ?? undefined,
    healthCheckConfig: row.health_check_config ?? undefined,
    healthCheckCustomConfig: row.health_check_custom_config ?? undefined,
    creatorRequestId: row.creator_request_id ?? undefined,
    tags: row.tags,
    leaseTtlSeconds: row.lease_ttl_seconds ?? undefined,
    revision: Number(row.revision),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    instanceCount: row.instance_count,
  };
}

const INSTANCE_SELECT = `SELECT service_id, id, attributes, creator_request_id, custom_health,
    lease_expires_at, created_at, updated_at FROM registry_instance`;

interface InstanceRow {
  service_id: string;
  id: string;
  attributes: Record<string, string>;
  creator_request_id: string | null;
  custom_health: CustomHealth | null;
  lease_expires_at: Date | null;
  created_at: Date;
  updated_at: Date;
}

/** An instance row as `to_json` gives it: timestamps are strings. */
type InstanceJson = Omit<InstanceRow, 'lease_expires_at' | 'created_at' | 'updated_at'> & {
  lease_expires_at: string | null;
  created_at: string;
  updated_at: string;
};

function fromJson(json: InstanceJson): InstanceRow {
  return {
    ...json,
    lease_expires_at: json.lease_expires_at === null ? null : new Date(json.lease_expires_at),
    created_at: new Date(json.created_at),
    updated_at: new Date(json.updated_at),
  };
}

function toInstance(row: InstanceRow): RegistryInstance {
  return {
    serviceId: row.service_id,
    id: row.id,
    attributes: row.attributes,
    creatorRequestId: row.creator_request_id ?? undefined,
    customHealth: row.custom_health ?? undefined,
    leaseExpiresAt: row.lease_expires_at ?? undefined,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

const OPERATION_COLUMNS = `id, type, status, targets, namespace_id, service_id, created_at, updated_at`;

interface OperationRow {
  id: string;
  type: string;
  status: string;
  targets: Record<string, string>;
  namespace_id: string | null;
  service_id: string | null;
  created_at: Date;
  updated_at: Date;
}

function toOperation(row: OperationRow): RegistryOperation {
  return {
    id: row.id,
    type: row.type,
    status: row.status,
    targets: row.targets,
    namespaceId: row.namespace_id ?? undefined,
    serviceId: row.service_id ?? undefined,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}
