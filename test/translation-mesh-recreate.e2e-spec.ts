import {
  CreateMeshCommand,
  CreateVirtualNodeCommand,
  DeleteMeshCommand,
  DeleteVirtualNodeCommand,
} from '@aws-sdk/client-app-mesh';
import pino from 'pino';
import type { DataSource } from 'typeorm';
import { MeshConfigSource } from '../apps/xds-server/src/mesh-config-source';
import { messageTypeRegistry } from '../libs/envoy-api/generated/typeRegistry';
import '../libs/envoy-api/generated/register-all';
import { typeNameOf } from '../libs/envoy-api/src/any';
import { createDataSource } from '../libs/persistence/src/data-source';
import { MeshReader } from '../libs/persistence/src/mesh-reader';
import type { ConfigSnapshot } from '../libs/xds/src/config-source';
import {
  startTestControlPlane,
  uniqueMeshName,
  type TestControlPlane,
} from './support/control-plane';
import { envoyNode, sendWrite } from './support/mesh';

/**
 * A mesh deleted and created again with the same name, when the xDS source catches up on both
 * writes at once (a resync after missed notifications, or a notification processed after the
 * re-creation committed). Deleting a mesh deletes its tracing settings without a TRACING
 * change-log row of its own; the source must still drop the old mesh's X-Ray settings.
 */

const SERVER_TRACING = { enabled: false, daemonAddress: '127.0.0.1', daemonPort: 2000 };

function asJson(snapshot: ConfigSnapshot | undefined): unknown[] {
  return (snapshot?.resources ?? []).map((resource) => {
    const type = messageTypeRegistry.get(typeNameOf(resource.typeUrl));
    if (!type) throw new Error(`no generated type for ${resource.typeUrl}`);
    return {
      typeUrl: resource.typeUrl,
      name: resource.name,
      message: type.toJSON(resource.message),
    };
  });
}

describe('incremental translation across a mesh deleted and re-created', () => {
  let trellis: TestControlPlane;
  let dataSource: DataSource;
  let reader: MeshReader;
  const logger = pino({ level: 'silent' });

  beforeAll(async () => {
    trellis = await startTestControlPlane({ TRELLIS_ROLES: 'admin' });
    dataSource = createDataSource(process.env.DATABASE_URL!, 2);
    await dataSource.initialize();
    reader = new MeshReader(dataSource);
  });
  afterAll(async () => {
    await dataSource?.destroy();
    await trellis?.close();
  });

  function newSource(): MeshConfigSource {
    // Not started: no notifications, the test drives the resync the xDS role runs periodically.
    return new MeshConfigSource(reader, logger, {
      databaseUrl: process.env.DATABASE_URL!,
      accountId: '111122223333',
      tracing: SERVER_TRACING,
      resyncMs: 3_600_000,
    });
  }

  async function putTracing(meshName: string, body: object): Promise<number> {
    const response = await fetch(`${trellis.httpUrl}/v1/meshes/${meshName}/tracing`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    expect(response.status).toBe(200);
    return Number(response.headers.get('x-trellis-mesh-revision'));
  }

  const NODE_SPEC = {
    listeners: [{ portMapping: { port: 8080, protocol: 'http' as const } }],
    serviceDiscovery: { dns: { hostname: 'front.local' } },
  };

  it('drops the deleted mesh’s tracing settings when it catches up on delete and re-create together', async () => {
    const meshName = uniqueMeshName('recreate');
    const { appMesh } = trellis;
    await sendWrite(appMesh, new CreateMeshCommand({ meshName }));
    await sendWrite(
      appMesh,
      new CreateVirtualNodeCommand({ meshName, virtualNodeName: 'front', spec: NODE_SPEC }),
    );
    await putTracing(meshName, { enabled: true });

    const source = newSource();
    const group = source.groupOf(envoyNode(meshName, 'front'))!;
    const before = await source.load(group);
    expect(JSON.stringify(asJson(before))).toContain('xray'); // traced, from the mesh settings

    // The mesh goes away with its tracing settings, and comes back without any.
    await sendWrite(appMesh, new DeleteVirtualNodeCommand({ meshName, virtualNodeName: 'front' }));
    await sendWrite(appMesh, new DeleteMeshCommand({ meshName }));
    await sendWrite(appMesh, new CreateMeshCommand({ meshName }));
    const revision = await sendWrite(
      appMesh,
      new CreateVirtualNodeCommand({ meshName, virtualNodeName: 'front', spec: NODE_SPEC }),
    );
    const stored = await trellis.db.query('SELECT 1 FROM mesh_tracing WHERE mesh_name = $1', [
      meshName,
    ]);
    expect(stored.rowCount).toBe(0);

    await (source as unknown as { resync(): Promise<void> }).resync();
    const after = await source.load(group);
    expect(after?.revision).toBe(revision);

    const reference = await newSource().load(group);
    expect(JSON.stringify(asJson(reference))).not.toContain('xray');
    expect(asJson(after)).toEqual(asJson(reference));
  });
});
