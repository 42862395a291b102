import { Client, type ClientConfig } from 'pg';
import { DataSource } from 'typeorm';
import { ChangeLogEntity } from './entities/change-log.entity';
import { ClientTokenEntity } from './entities/client-token.entity';
import { MeshResourceEntity } from './entities/mesh-resource.entity';
import { MeshRevisionEntity } from './entities/mesh-revision.entity';
import { ResourceReferenceEntity } from './entities/resource-reference.entity';
import { InitialSchema1764201600000 } from './migrations/1764201600000-initial-schema';
import { ProxyStatus1764288000000 } from './migrations/1764288000000-proxy-status';
import { MeshTracing1764374400000 } from './migrations/1764374400000-mesh-tracing';
import { ChangeReason1764460800000 } from './migrations/1764460800000-change-reason';
import { Rollouts1764547200000 } from './migrations/1764547200000-rollouts';
import { AccessKeys1765200000000 } from './migrations/1765200000000-access-keys';
import { CertificatesAndDiagnostics1765400000000 } from './migrations/1765400000000-certificates-and-diagnostics';
import { ServiceRegistry1765300000000 } from './migrations/1765300000000-service-registry';
import { RegistryHistoryIndex1766300000000 } from './migrations/1766300000000-registry-history-index';

export interface PoolOptions {
  poolSize?: number;
  /** Statement, idle-in-transaction and client read timeout; connection timeout up to 5 s. */
  statementTimeoutMs?: number;
}

/** `pool`: options, or just the pool size. */
export function createDataSource(url: string, pool: PoolOptions | number = {}): DataSource {
  const { poolSize = 10, statementTimeoutMs = 10_000 } =
    typeof pool === 'number' ? { poolSize: pool } : pool;
  return new DataSource({
    type: 'postgres',
    url,
    entities: [
      MeshResourceEntity,
      ResourceReferenceEntity,
      MeshRevisionEntity,
      ChangeLogEntity,
      ClientTokenEntity,
    ],
    migrations: [
      InitialSchema1764201600000,
      ProxyStatus1764288000000,
      MeshTracing1764374400000,
      ChangeReason1764460800000,
      Rollouts1764547200000,
      AccessKeys1765200000000,
      CertificatesAndDiagnostics1765400000000,
      ServiceRegistry1765300000000,
      RegistryHistoryIndex1766300000000,
    ],
    synchronize: false,
    migrationsRun: false,
    // Fail fast instead of queueing forever when Postgres is gone or hung: the API answers 503.
    // statement_timeout and idle_in_transaction_session_timeout are enforced by Postgres;
    // query_timeout by the driver, for a server that no longer answers at all.
    extra: {
      max: poolSize,
      connectionTimeoutMillis: Math.min(5000, statementTimeoutMs),
      statement_timeout: statementTimeoutMs,
      idle_in_transaction_session_timeout: statementTimeoutMs,
      query_timeout: statementTimeoutMs,
      Client: HangUpOnReadTimeout,
    },
  });
}

/**
 * A pg client that drops its connection when a query gets no answer within `query_timeout`: the
 * driver would otherwise keep the connection, and every later query on it (a transaction's
 * ROLLBACK, the next request's) would queue behind the unanswered one and wait its own timeout.
 * Dropped, they fail at once and the pool opens a fresh connection when Postgres answers again.
 */
class HangUpOnReadTimeout extends Client {
  constructor(config?: ClientConfig) {
    super(config);
    const query = this.query.bind(this) as (...args: unknown[]) => unknown;
    this.query = ((...args: unknown[]) => {
      const result = query(...args);
      if (result instanceof Promise) {
        result.catch((error: unknown) => {
          if (error instanceof Error && error.message === 'Query read timeout') this.hangUp();
        });
      }
      return result;
    }) as Client['query'];
  }

  private hangUp(): void {
    const { connection } = this as unknown as { connection?: { stream?: { destroy(): void } } };
    connection?.stream?.destroy();
  }
}

/** Any fixed number; it only has to be the same in every Trellis process. */
const MIGRATION_LOCK_KEY = 7_152_024_001;

/**
 * Applies pending migrations under an advisory lock, so replicas (or parallel test
 * workers) starting together do not race each other. Needs two pool connections: the
 * lock holder and the one TypeORM migrates with.
 */
export async function migrate(dataSource: DataSource): Promise<void> {
  const runner = dataSource.createQueryRunner();
  await runner.connect();
  try {
    await runner.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
    await dataSource.runMigrations({ transaction: 'each' });
  } finally {
    await runner
      .query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY])
      .catch(() => undefined);
    await runner.release();
  }
}

/** Readiness: the database answers and no migration is pending. */
export async function databaseReady(dataSource: DataSource): Promise<boolean> {
  try {
    return !(await dataSource.showMigrations());
  } catch {
    return false;
  }
}
