import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  CreateMeshCommand,
  DescribeMeshCommand,
  ServiceUnavailableException,
} from '@aws-sdk/client-app-mesh';
import { createDataSource, migrate } from '../libs/persistence/src/data-source';
import { startTestControlPlane, type TestControlPlane } from './support/control-plane';
import { startPostgresProcess, type PostgresProcess } from './support/process';

/** Postgres goes away under a running control plane, then comes back. */
describe('database outage', () => {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'trellis-outage-'));
  let database: PostgresProcess;
  let trellis: TestControlPlane | undefined;
  let port: number;

  beforeAll(async () => {
    database = await startPostgresProcess(dataDir);
    port = Number(new URL(database.url).port);
    const dataSource = createDataSource(database.url, 2);
    await dataSource.initialize();
    await migrate(dataSource);
    await dataSource.destroy();
  });

  afterAll(async () => {
    await trellis?.close().catch(() => undefined);
    await database.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('answers 503 ServiceUnavailableException while Postgres is down and recovers when it returns', async () => {
    const control = await startTestControlPlane({ DATABASE_URL: database.url });
    await control.db.end(); // the helper's own client would die with the database
    trellis = { ...control, close: () => control.close().catch(() => undefined) };
    const { appMesh, httpUrl } = control;
    await appMesh.send(new CreateMeshCommand({ meshName: 'before-outage' }));

    await database.stop();
    const error = await appMesh
      .send(new DescribeMeshCommand({ meshName: 'before-outage' }))
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ServiceUnavailableException);
    expect((error as { $metadata: { httpStatusCode: number } }).$metadata.httpStatusCode).toBe(503);
    const write = await fetch(`${httpUrl}/v20190125/meshes`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ meshName: 'during-outage' }),
    });
    expect(write.status).toBe(503);
    expect(write.headers.get('x-amzn-errortype')).toBe('ServiceUnavailableException');
    expect((await fetch(`${httpUrl}/readyz`)).status).toBe(503);
    expect((await fetch(`${httpUrl}/healthz`)).status).toBe(200);

    database = await startPostgresProcess(dataDir, port);
    const { mesh } = await appMesh.send(new DescribeMeshCommand({ meshName: 'before-outage' }));
    expect(mesh!.meshName).toBe('before-outage');
    expect((await fetch(`${httpUrl}/readyz`)).status).toBe(200);
    await expect(
      appMesh.send(new DescribeMeshCommand({ meshName: 'during-outage' })),
    ).rejects.toThrow('is not present');
  });

  it('answers 500 InternalServerErrorException with a request id and no internals when a query fails', async () => {
    const control = await startTestControlPlane({ DATABASE_URL: database.url });
    try {
      await control.appMesh.send(new CreateMeshCommand({ meshName: 'broken' }));
      // This test owns its database, so it can break the schema under the running server.
      await control.db.query('ALTER TABLE mesh_resource RENAME TO mesh_resource_away');
      const response = await fetch(`${control.httpUrl}/v20190125/meshes/broken`);
      const body = (await response.json()) as { message: string };
      expect(response.status).toBe(500);
      expect(response.headers.get('x-amzn-errortype')).toBe('InternalServerErrorException');
      expect(body.message).toMatch(/^An internal error occurred \(request id [0-9a-f-]{36}\)$/);
      expect(JSON.stringify(body)).not.toContain('mesh_resource');
    } finally {
      await control.db.query('ALTER TABLE IF EXISTS mesh_resource_away RENAME TO mesh_resource');
      await control.close();
    }
  });
});
