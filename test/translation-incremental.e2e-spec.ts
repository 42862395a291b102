import {
  CreateRouteCommand,
  CreateVirtualNodeCommand,
  CreateVirtualRouterCommand,
  CreateVirtualServiceCommand,
  DeleteRouteCommand,
  DeleteVirtualServiceCommand,
  TagResourceCommand,
  UpdateMeshCommand,
  UpdateRouteCommand,
  UpdateVirtualNodeCommand,
  UpdateVirtualRouterCommand,
  type AppMeshClient,
} from '@aws-sdk/client-app-mesh';
import pino from 'pino';
import type { DataSource } from 'typeorm';
import { MeshConfigSource } from '../apps/xds-server/src/mesh-config-source';
import type { Node } from '../libs/envoy-api/generated/envoy/config/core/v3/base';
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
import { createCanaryMesh, envoyNode, sendWrite, weightedHttpRoute } from './support/mesh';

/**
 * A change to a mesh re-translates only the proxy groups whose translation read something that
 * changed, and every group ends up with exactly what a full translation of the new revision
 * gives. The mesh is written through the App Mesh API; the source under test listens to
 * Postgres as the xDS role does, and the test loads groups as the engine would.
 */

const TRACING = { enabled: true, daemonAddress: '127.0.0.1', daemonPort: 2000 };

/** The proxies of the story, by the name the expectations use. */
function proxies(meshName: string): Record<string, Node> {
  return {
    front: envoyNode(meshName, 'front'),
    'front traced at 50%': {
      ...envoyNode(meshName, 'front'),
      metadata: { XRAY_SAMPLING_RATE: '0.5' },
    },
    back: envoyNode(meshName, 'back'),
    'web-v1': envoyNode(meshName, 'web-v1'),
    'grpc-client': { ...envoyNode(meshName, 'grpc-client'), userAgentName: 'grpc-node-js' },
    late: envoyNode(meshName, 'late'),
  };
}

const EVERY_GROUP = ['back', 'front', 'front traced at 50%', 'grpc-client', 'late', 'web-v1'];

/** A group's resources as proto3 JSON, comparable across translations. */
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

describe('incremental translation of mesh changes', () => {
  let trellis: TestControlPlane;
  let dataSource: DataSource;
  let reader: MeshReader;
  let source: MeshConfigSource;
  const logger = pino({ level: 'silent' });

  beforeAll(async () => {
    // The admin API alone: the source under test is the only xDS side.
    trellis = await startTestControlPlane({ TRELLIS_ROLES: 'admin' });
    dataSource = createDataSource(process.env.DATABASE_URL!, 2);
    await dataSource.initialize();
    reader = new MeshReader(dataSource);
  });
  afterAll(async () => {
    await source?.stop();
    await dataSource?.destroy();
    await trellis?.close();
  });

  /** A source that has never seen the mesh: a full translation of the current revision. */
  function fullTranslation(): MeshConfigSource {
    return new MeshConfigSource(reader, logger, {
      databaseUrl: process.env.DATABASE_URL!,
      accountId: '111122223333',
      tracing: TRACING,
      resyncMs: 3_600_000,
    });
  }

  it('re-translates only the groups a change reaches, with the same result as a full translation', async () => {
    const meshName = uniqueMeshName('incremental');
    const { appMesh } = trellis;
    await createStoryMesh(appMesh, meshName);

    source = fullTranslation();
    await source.start();
    const announcements: Array<() => void> = [];
    source.onChange(() => announcements.splice(0).forEach((resolve) => resolve()));
    const groups = new Map(
      Object.entries(proxies(meshName)).map(([name, node]) => [name, source.groupOf(node)!]),
    );
    const loaded = new Map<string, ConfigSnapshot | undefined>();
    for (const [name, group] of groups) loaded.set(name, await source.load(group));

    /** Writes, waits until the source announced the write's revision, and checks every group. */
    async function change(write: () => Promise<number>, retranslated: string[]): Promise<void> {
      const translationsBefore = source.translations;
      const revision = await write();
      for (;;) {
        const announced = new Promise<void>((resolve) => announcements.push(resolve));
        const front = await source.load(groups.get('front')!);
        if ((front?.revision ?? 0) >= revision) break;
        await announced;
      }
      const reference = fullTranslation();
      const changed: string[] = [];
      for (const [name, group] of groups) {
        const now = await source.load(group);
        if (now?.resources !== loaded.get(name)?.resources) changed.push(name);
        loaded.set(name, now);
        expect({ name, revision: now?.revision }).toEqual({ name, revision });
        expect({ name, resources: asJson(now) }).toEqual({
          name,
          resources: asJson(await reference.load(group)),
        });
      }
      expect(changed.sort()).toEqual([...retranslated].sort());
      expect(source.translations - translationsBefore).toBe(retranslated.length);
    }

    // Route writes reach the sidecars that call the router's service, and the proxyless client,
    // which may call every service.
    await change(
      () =>
        sendWrite(
          appMesh,
          new UpdateRouteCommand({
            meshName,
            virtualRouterName: 'web',
            routeName: 'canary',
            spec: weightedHttpRoute({ 'web-v1': 50, 'web-v2': 50 }),
          }),
        ),
      ['front', 'front traced at 50%', 'grpc-client'],
    );
    await change(
      () =>
        sendWrite(
          appMesh,
          new CreateRouteCommand({
            meshName,
            virtualRouterName: 'web',
            routeName: 'beta',
            spec: {
              httpRoute: {
                match: { prefix: '/beta' },
                action: { weightedTargets: [{ virtualNode: 'web-v2', weight: 1 }] },
              },
            },
          }),
        ),
      ['front', 'front traced at 50%', 'grpc-client'],
    );
    await change(
      () =>
        sendWrite(
          appMesh,
          new DeleteRouteCommand({ meshName, virtualRouterName: 'web', routeName: 'beta' }),
        ),
      ['front', 'front traced at 50%', 'grpc-client'],
    );

    // A write that changes no spec re-translates nothing; every group moves to its revision.
    await change(
      () =>
        sendWrite(
          appMesh,
          new UpdateVirtualRouterCommand({
            meshName,
            virtualRouterName: 'api',
            spec: { listeners: [{ portMapping: { port: 8080, protocol: 'http' } }] },
          }),
        ),
      [],
    );
    await change(
      () =>
        sendWrite(
          appMesh,
          new UpdateVirtualRouterCommand({
            meshName,
            virtualRouterName: 'api',
            spec: { listeners: [{ portMapping: { port: 9090, protocol: 'http' } }] },
          }),
        ),
      ['back', 'grpc-client'],
    );

    // A new virtual service: only the client that iterates every service reads it...
    await change(
      () =>
        sendWrite(
          appMesh,
          new CreateVirtualServiceCommand({
            meshName,
            virtualServiceName: 'extra.local',
            spec: { provider: { virtualNode: { virtualNodeName: 'web-v1' } } },
          }),
        ),
      ['grpc-client'],
    );
    // ...until a node names it as a backend.
    await change(
      () =>
        sendWrite(
          appMesh,
          new UpdateVirtualNodeCommand({
            meshName,
            virtualNodeName: 'front',
            spec: {
              ...nodeSpec(meshName, 'front'),
              backends: [
                { virtualService: { virtualServiceName: 'web.local' } },
                { virtualService: { virtualServiceName: 'extra.local' } },
              ],
            },
          }),
        ),
      ['front', 'front traced at 50%'],
    );
    // A route target's node changes the clusters of everyone who routes to it.
    await change(
      () =>
        sendWrite(
          appMesh,
          new UpdateVirtualNodeCommand({
            meshName,
            virtualNodeName: 'web-v2',
            spec: {
              ...nodeSpec(meshName, 'web-v2'),
              serviceDiscovery: { dns: { hostname: 'web-v2.moved.local' } },
            },
          }),
        ),
      ['front', 'front traced at 50%', 'grpc-client'],
    );
    // A proxy that connected before its virtual node existed gets it once it is created.
    await change(
      () =>
        sendWrite(
          appMesh,
          new CreateVirtualNodeCommand({
            meshName,
            virtualNodeName: 'late',
            spec: nodeSpec(meshName, 'late'),
          }),
        ),
      ['late'],
    );
    await change(
      () =>
        sendWrite(
          appMesh,
          new DeleteVirtualServiceCommand({ meshName, virtualServiceName: 'extra.local' }),
        ),
      ['front', 'front traced at 50%', 'grpc-client'],
    );

    // Tags are not translated.
    const back = await trellis.db.query<{ arn: string }>(
      `SELECT arn FROM mesh_resource WHERE mesh_name = $1 AND kind = 'virtualNode' AND name = 'back'`,
      [meshName],
    );
    await change(
      () =>
        sendWrite(
          appMesh,
          new TagResourceCommand({
            resourceArn: back.rows[0]!.arn,
            tags: [{ key: 'team', value: 'payments' }],
          }),
        ),
      [],
    );

    // The mesh spec and the mesh's tracing settings reach every proxy.
    await change(
      () =>
        sendWrite(
          appMesh,
          new UpdateMeshCommand({ meshName, spec: { egressFilter: { type: 'ALLOW_ALL' } } }),
        ),
      EVERY_GROUP,
    );
    await change(async () => {
      const response = await fetch(`${trellis.httpUrl}/v1/meshes/${meshName}/tracing`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ samplingRate: 0.25 }),
      });
      expect(response.status).toBe(200);
      return Number(response.headers.get('x-trellis-mesh-revision'));
    }, EVERY_GROUP);
  });

  it('reads only the rows the change log names since a revision', async () => {
    const meshName = uniqueMeshName('changes-since');
    const { appMesh } = trellis;
    await createCanaryMesh(appMesh, meshName, { 'web-v1': 90, 'web-v2': 10 });
    const since = (await reader.load(meshName))!.revision;

    expect(await reader.changesSince(meshName, since)).toEqual({
      meshName,
      revision: since,
      resources: [],
      removed: [],
    });
    await sendWrite(
      appMesh,
      new UpdateRouteCommand({
        meshName,
        virtualRouterName: 'web',
        routeName: 'canary',
        spec: weightedHttpRoute({ 'web-v1': 0, 'web-v2': 100 }),
      }),
    );
    const revision = await sendWrite(
      appMesh,
      new DeleteRouteCommand({ meshName, virtualRouterName: 'web', routeName: 'canary' }),
    );
    expect(await reader.changesSince(meshName, since)).toEqual({
      meshName,
      revision,
      resources: [],
      removed: [{ kind: 'route', parentName: 'web', name: 'canary' }],
    });
    expect(await reader.changesSince(meshName, since + 1)).toEqual({
      meshName,
      revision,
      resources: [],
      removed: [{ kind: 'route', parentName: 'web', name: 'canary' }],
    });
    // A revision the mesh has not reached: the log cannot tell, so the caller reads it all.
    expect(await reader.changesSince(meshName, revision + 1)).toBeUndefined();
  });
});

function nodeSpec(meshName: string, name: string) {
  return {
    listeners: [{ portMapping: { port: 8080, protocol: 'http' as const } }],
    serviceDiscovery: { dns: { hostname: `${name}.${meshName}.local` } },
  };
}

/**
 * The canary mesh (`front` → `web.local` → router `web` → `web-v1`/`web-v2`), plus `back` →
 * `api.local` → router `api` → `api-v1`, and `grpc-client`, a proxyless client without
 * backends (it may call every service).
 */
async function createStoryMesh(appMesh: AppMeshClient, meshName: string): Promise<void> {
  await createCanaryMesh(appMesh, meshName, { 'web-v1': 90, 'web-v2': 10 });
  await appMesh.send(
    new CreateVirtualNodeCommand({
      meshName,
      virtualNodeName: 'api-v1',
      spec: nodeSpec(meshName, 'api-v1'),
    }),
  );
  await appMesh.send(
    new CreateVirtualRouterCommand({
      meshName,
      virtualRouterName: 'api',
      spec: { listeners: [{ portMapping: { port: 8080, protocol: 'http' } }] },
    }),
  );
  await appMesh.send(
    new CreateRouteCommand({
      meshName,
      virtualRouterName: 'api',
      routeName: 'main',
      spec: weightedHttpRoute({ 'api-v1': 1 }),
    }),
  );
  await appMesh.send(
    new CreateVirtualServiceCommand({
      meshName,
      virtualServiceName: 'api.local',
      spec: { provider: { virtualRouter: { virtualRouterName: 'api' } } },
    }),
  );
  await appMesh.send(
    new CreateVirtualNodeCommand({
      meshName,
      virtualNodeName: 'back',
      spec: {
        ...nodeSpec(meshName, 'back'),
        backends: [{ virtualService: { virtualServiceName: 'api.local' } }],
      },
    }),
  );
  await appMesh.send(
    new CreateVirtualNodeCommand({
      meshName,
      virtualNodeName: 'grpc-client',
      spec: {
        listeners: [{ portMapping: { port: 50051, protocol: 'grpc' } }],
        serviceDiscovery: { dns: { hostname: '10.0.0.9' } },
      },
    }),
  );
}
