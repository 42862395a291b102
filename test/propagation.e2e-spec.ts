import {
  CreateMeshCommand,
  CreateRouteCommand,
  CreateVirtualNodeCommand,
  CreateVirtualRouterCommand,
  CreateVirtualServiceCommand,
  type RouteSpec,
  type VirtualNodeSpec,
} from '@aws-sdk/client-app-mesh';
import { CLUSTER, LISTENER, ROUTE_CONFIGURATION } from '../libs/xds-types/src/resource-types';
import {
  startTestControlPlane,
  uniqueMeshName,
  type TestControlPlane,
} from './support/control-plane';
import { eventually, SotwAdsClient } from './support/xds';

const node = (hostname: string, backend?: string): VirtualNodeSpec => ({
  listeners: [{ portMapping: { port: 8080, protocol: 'http' } }],
  serviceDiscovery: { dns: { hostname } },
  ...(backend ? { backends: [{ virtualService: { virtualServiceName: backend } }] } : {}),
});
const weights = (blue: number): RouteSpec => ({
  httpRoute: {
    match: { prefix: '/' },
    action: {
      weightedTargets: [
        { virtualNode: 'blue', weight: blue },
        { virtualNode: 'green', weight: 100 - blue },
      ],
    },
  },
});

interface Propagation {
  revision: number;
  proxies: number;
  acked: number;
  pending: Array<{ node: string }>;
  nacked: Array<{ node: string; type: string; message: string }>;
}

/** "Propagated": every connected proxy of the mesh acknowledged config of that revision or later. */
describe('propagation of a mesh revision', () => {
  let trellis: TestControlPlane;
  const clients: SotwAdsClient[] = [];
  beforeAll(async () => {
    trellis = await startTestControlPlane();
  });
  afterAll(async () => {
    for (const client of clients) client.close();
    await trellis.close();
  });

  /** A sidecar that subscribes like Envoy and acknowledges everything it gets until told not to. */
  async function sidecar(
    meshName: string,
    virtualNode: string,
    routeNames: string[],
  ): Promise<SotwAdsClient> {
    const nodeId = `mesh/${meshName}/virtualNode/${virtualNode}`;
    const client = new SotwAdsClient(trellis.xds!.port, {
      id: nodeId,
      cluster: nodeId,
      userAgentName: 'envoy',
    });
    clients.push(client);
    client.subscribe(CLUSTER, []);
    client.ack(await client.next());
    client.subscribe(LISTENER, []);
    client.ack(await client.next());
    if (routeNames.length > 0) {
      client.subscribe(ROUTE_CONFIGURATION, routeNames);
      client.ack(await client.next());
    }
    return client;
  }

  async function propagation(meshName: string, revision?: number): Promise<Propagation> {
    const query = revision === undefined ? '' : `?revision=${revision}`;
    return (await (
      await fetch(`${trellis.httpUrl}/v1/meshes/${meshName}/propagation${query}`)
    ).json()) as Propagation;
  }

  it('counts a proxy as acked once it acknowledged the revision, also when its config did not change', async () => {
    const meshName = uniqueMeshName('propagation');
    const { appMesh } = trellis;
    await appMesh.send(new CreateMeshCommand({ meshName }));
    await appMesh.send(
      new CreateVirtualNodeCommand({ meshName, virtualNodeName: 'blue', spec: node('10.0.0.1') }),
    );
    await appMesh.send(
      new CreateVirtualNodeCommand({ meshName, virtualNodeName: 'green', spec: node('10.0.0.2') }),
    );
    await appMesh.send(
      new CreateVirtualNodeCommand({
        meshName,
        virtualNodeName: 'web',
        spec: node('10.0.0.3', 'api.internal'),
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
        routeName: 'canary',
        spec: weights(100),
      }),
    );
    await appMesh.send(
      new CreateVirtualServiceCommand({
        meshName,
        virtualServiceName: 'api.internal',
        spec: { provider: { virtualRouter: { virtualRouterName: 'api' } } },
      }),
    );

    const web = await sidecar(meshName, 'web', ['rds_egress_http_8080']);
    const lagging = await sidecar(meshName, 'web', ['rds_egress_http_8080']);
    await sidecar(meshName, 'blue', []);
    const setup = await propagation(meshName);
    await eventually(
      async () => expect(await propagation(meshName)).toMatchObject({ proxies: 3, acked: 3 }),
      5000,
    );

    const response = await fetch(
      `${trellis.httpUrl}/v20190125/meshes/${meshName}/virtualRouter/api/routes/canary`,
      {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ spec: weights(80) }),
      },
    );
    const revision = Number(response.headers.get('x-trellis-mesh-revision'));
    expect(revision).toBeGreaterThan(setup.revision);

    // Both web sidecars get the new route configuration; one acknowledges it, one never does.
    const update = await web.next();
    expect(update.typeUrl).toBe(ROUTE_CONFIGURATION);
    web.ack(update);
    expect((await lagging.next()).typeUrl).toBe(ROUTE_CONFIGURATION);

    await eventually(async () => {
      expect(await propagation(meshName, revision)).toEqual({
        revision,
        proxies: 3,
        acked: 2, // web, and blue, whose configuration did not change
        pending: [expect.objectContaining({ node: `mesh/${meshName}/virtualNode/web` })],
        nacked: [],
      });
    }, 5000);
  });

  it('lists a proxy that rejected the configuration with its message', async () => {
    const meshName = uniqueMeshName('propagation');
    await trellis.appMesh.send(new CreateMeshCommand({ meshName }));
    await trellis.appMesh.send(
      new CreateVirtualNodeCommand({ meshName, virtualNodeName: 'solo', spec: node('10.0.0.9') }),
    );
    const nodeId = `mesh/${meshName}/virtualNode/solo`;
    const client = new SotwAdsClient(trellis.xds!.port, {
      id: nodeId,
      cluster: nodeId,
      userAgentName: 'envoy',
    });
    clients.push(client);
    client.subscribe(CLUSTER, []);
    client.nack(await client.next(), 'unknown cluster field');
    await eventually(async () => {
      expect(await propagation(meshName)).toMatchObject({
        proxies: 1,
        acked: 0,
        nacked: [{ node: nodeId, type: 'CDS', message: 'unknown cluster field' }],
      });
    }, 5000);
  });

  it('answers NotFoundException for a mesh that does not exist and BadRequest for a bad revision', async () => {
    const missing = await fetch(`${trellis.httpUrl}/v1/meshes/no-such-mesh/propagation`);
    expect([missing.status, missing.headers.get('x-amzn-errortype')]).toEqual([
      404,
      'NotFoundException',
    ]);
    const meshName = uniqueMeshName('propagation');
    await trellis.appMesh.send(new CreateMeshCommand({ meshName }));
    const bad = await fetch(`${trellis.httpUrl}/v1/meshes/${meshName}/propagation?revision=abc`);
    expect([bad.status, bad.headers.get('x-amzn-errortype')]).toEqual([400, 'BadRequestException']);
  });
});
