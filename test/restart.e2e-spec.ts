import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  CreateMeshCommand,
  CreateVirtualNodeCommand,
  DescribeMeshCommand,
  DescribeVirtualNodeCommand,
  UpdateMeshCommand,
} from '@aws-sdk/client-app-mesh';
import { appMeshClient } from './support/control-plane';
import { SERVER_MAIN, startServerProcess, type ServerProcess } from './support/process';

/**
 * `npm start` on the embedded Postgres, stopped with SIGTERM and started again on the same
 * data directory: what was acknowledged before is served after.
 */
describe('restarting the control plane on its embedded Postgres', () => {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'trellis-restart-'));
  let server: ServerProcess | undefined;

  afterAll(async () => {
    if (server && server.child.exitCode === null) {
      server.child.kill('SIGTERM');
      await server.exited;
    }
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('is what `npm start` runs', () => {
    const { scripts } = JSON.parse(
      readFileSync(path.join(__dirname, '../package.json'), 'utf8'),
    ) as {
      scripts: Record<string, string>;
    };
    expect(scripts.start).toMatch(
      new RegExp(`node ${path.relative(path.join(__dirname, '..'), SERVER_MAIN)}$`),
    );
  });

  it('serves after a restart everything acknowledged before it, including writes in flight at SIGTERM', async () => {
    server = await startServerProcess({ TRELLIS_DATA_DIR: dataDir });
    expect(server.logs.find((entry) => typeof entry.http === 'string')).toMatchObject({
      http: server.httpUrl,
      database: expect.stringContaining('embedded postgres'),
    });
    let appMesh = appMeshClient(server.httpUrl);
    await appMesh.send(new CreateMeshCommand({ meshName: 'durable' }));
    await appMesh.send(
      new CreateVirtualNodeCommand({
        meshName: 'durable',
        virtualNodeName: 'api',
        spec: { serviceDiscovery: { dns: { hostname: 'api.internal' } } },
      }),
    );

    // Updates in flight while SIGTERM arrives: each one answered 200 must survive.
    const updates = Array.from({ length: 20 }, () =>
      appMesh.send(new UpdateMeshCommand({ meshName: 'durable', spec: {} })).then(
        () => true,
        () => false,
      ),
    );
    await new Promise((resolve) => setTimeout(resolve, 5));
    server.child.kill('SIGTERM');
    const acknowledged = (await Promise.all(updates)).filter(Boolean).length;
    expect(await server.exited).toBe(0);
    expect(server.logs.some((entry) => entry.msg === 'Trellis stopped')).toBe(true);
    appMesh.destroy();

    server = await startServerProcess({ TRELLIS_DATA_DIR: dataDir });
    appMesh = appMeshClient(server.httpUrl);
    const { mesh } = await appMesh.send(new DescribeMeshCommand({ meshName: 'durable' }));
    expect(mesh!.metadata!.version).toBe(1 + acknowledged);
    const { virtualNode } = await appMesh.send(
      new DescribeVirtualNodeCommand({ meshName: 'durable', virtualNodeName: 'api' }),
    );
    expect(virtualNode!.spec).toEqual({ serviceDiscovery: { dns: { hostname: 'api.internal' } } });
    appMesh.destroy();

    server.child.kill('SIGINT');
    expect(await server.exited).toBe(0);
  });
});
