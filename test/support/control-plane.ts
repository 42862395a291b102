import { randomUUID } from 'node:crypto';
import { AppMeshClient } from '@aws-sdk/client-app-mesh';
import { Client } from 'pg';
import pino from 'pino';
import { loadConfig } from '../../apps/control-plane/src/config';
import { startControlPlane, type ControlPlane } from '../../apps/control-plane/src/control-plane';

export const TEST_ACCOUNT_ID = '111122223333';
export const TEST_REGION = 'eu-west-1';

export interface TestControlPlane extends ControlPlane {
  appMesh: AppMeshClient;
  /** Direct SQL for assertions about what is stored. */
  db: Client;
}

/** The control plane in-process on a free port, against the test run's Postgres. */
export async function startTestControlPlane(
  env: Record<string, string> = {},
): Promise<TestControlPlane> {
  const config = loadConfig({
    DATABASE_URL: process.env.DATABASE_URL,
    TRELLIS_HTTP_PORT: '0',
    TRELLIS_XDS_PORT: '0',
    TRELLIS_PROXY_STATUS_INTERVAL_MS: '50',
    // Tests close control planes under their proxies; a drain would only slow them down.
    TRELLIS_XDS_DRAIN_SECONDS: '0',
    TRELLIS_ACCOUNT_ID: TEST_ACCOUNT_ID,
    TRELLIS_REGION: TEST_REGION,
    ...env,
  });
  const controlPlane = await startControlPlane(
    config,
    pino({ level: process.env.TRELLIS_TEST_LOG_LEVEL ?? 'silent' }),
  );
  const db = new Client({ connectionString: config.databaseUrl });
  await db.connect();
  const appMesh = appMeshClient(controlPlane.httpUrl);
  return {
    ...controlPlane,
    appMesh,
    db,
    close: async () => {
      appMesh.destroy();
      await db.end();
      await controlPlane.close();
    },
  };
}

export function appMeshClient(endpoint: string, accessKeyId = 'AKIDTESTACTOR'): AppMeshClient {
  return new AppMeshClient({
    region: TEST_REGION,
    endpoint,
    credentials: { accessKeyId, secretAccessKey: 'not-checked' },
    maxAttempts: 1,
  });
}

/** A mesh name no other test uses. */
export function uniqueMeshName(prefix = 'mesh'): string {
  return `${prefix}-${randomUUID().slice(0, 8)}`;
}

export async function meshRevision(db: Client, meshName: string): Promise<number> {
  const result = await db.query<{ revision: string }>(
    'SELECT revision FROM mesh_revision WHERE mesh_name = $1',
    [meshName],
  );
  return Number(result.rows[0]?.revision ?? 0);
}

/** Everything stored for a mesh, to assert that a rejected request changed nothing. */
export async function meshContents(db: Client, meshName: string): Promise<unknown> {
  const resources = await db.query(
    `SELECT kind, parent_name, name, version, spec::text, tags::text, last_updated_at
     FROM mesh_resource WHERE mesh_name = $1 ORDER BY kind, parent_name, name`,
    [meshName],
  );
  const changes = await db.query('SELECT count(*)::int AS n FROM change_log WHERE mesh_name = $1', [
    meshName,
  ]);
  return {
    resources: resources.rows,
    changes: changes.rows[0],
    revision: await meshRevision(db, meshName),
  };
}

/**
 * Everything stored for every mesh, in one round trip: for a test that owns its database and
 * asserts that a rejected request changed nothing anywhere.
 */
export async function everyMeshContents(db: Client): Promise<unknown> {
  const result = await db.query<{ contents: unknown }>(
    `SELECT json_build_object(
       'resources', (SELECT coalesce(json_agg(r ORDER BY mesh_name, kind, parent_name, name), '[]')
         FROM (SELECT mesh_name, kind, parent_name, name, version, spec::text, tags::text, last_updated_at
               FROM mesh_resource) r),
       'references', (SELECT count(*) FROM resource_reference),
       'revisions', (SELECT coalesce(json_agg(v ORDER BY mesh_name), '[]')
         FROM (SELECT mesh_name, revision FROM mesh_revision) v),
       'changes', (SELECT count(*) FROM change_log),
       'tracing', (SELECT coalesce(json_agg(t ORDER BY mesh_name), '[]')
         FROM (SELECT mesh_name, settings::text FROM mesh_tracing) t),
       'rollouts', (SELECT coalesce(json_agg(o ORDER BY id), '[]')
         FROM (SELECT id, state, seq FROM rollout) o),
       'rolloutEvents', (SELECT count(*) FROM rollout_event)
     ) AS contents`,
  );
  return result.rows[0]?.contents;
}

/** A database of the test run's Postgres for one test file alone, dropped by `drop()`. */
export interface OwnDatabase {
  url: string;
  /** A connection to it, for assertions. */
  db: Client;
  drop(): Promise<void>;
}

/**
 * Creates a database for one test file, so that "every mesh" (everyMeshContents) means the
 * meshes the file made and no other test writes there.
 */
export async function ownDatabase(prefix: string): Promise<OwnDatabase> {
  const name = `${prefix}_${randomUUID().slice(0, 8)}`;
  const admin = new Client({ connectionString: process.env.DATABASE_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  const url = new URL(process.env.DATABASE_URL!);
  url.pathname = `/${name}`;
  const db = new Client({ connectionString: url.toString() });
  await db.connect();
  return {
    url: url.toString(),
    db,
    drop: async () => {
      await db.end();
      await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await admin.end();
    },
  };
}
