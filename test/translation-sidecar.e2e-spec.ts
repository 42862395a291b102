import {
  CreateVirtualNodeCommand,
  DeleteVirtualNodeCommand,
  UpdateRouteCommand,
} from '@aws-sdk/client-app-mesh';
import { SocketAddress_Protocol } from '../libs/envoy-api/generated/envoy/config/core/v3/address';
import { ROUTE_CONFIGURATION } from '../libs/xds-types/src/resource-types';
import {
  startTestControlPlane,
  uniqueMeshName,
  type TestControlPlane,
} from './support/control-plane';
import {
  createCanaryMesh,
  envoyNode,
  frontNode,
  proxiesWhen,
  routeWeights,
  sendWrite,
  SidecarProxy,
  WEB_SERVICE,
  weightedHttpRoute,
  xrayConfigOf,
  type AdsProtocol,
} from './support/mesh';

/**
 * An Envoy sidecar of an App Mesh virtual node, configured through the AWS SDK and served by
 * Trellis over ADS as Envoy asks for it: clusters and listeners by wildcard, then the route
 * configurations the listeners name.
 */

const EGRESS = 'lds_egress_0.0.0.0_15001';
const INGRESS = 'lds_ingress_0.0.0.0_15000';
const ROUTES = 'rds_egress_http_8080';

describe.each<AdsProtocol>(['sotw', 'delta'])('an Envoy sidecar on %s ADS', (protocol) => {
  let trellis: TestControlPlane;
  const proxies: SidecarProxy[] = [];

  beforeAll(async () => {
    trellis = await startTestControlPlane();
  });
  afterEach(() => {
    for (const proxy of proxies.splice(0)) proxy.close();
  });
  afterAll(() => trellis.close());

  /** A sidecar of `virtualNode` connected to the control plane. */
  function sidecar(meshName: string, virtualNode: string, metadata?: Record<string, unknown>) {
    const proxy = new SidecarProxy(protocol, envoyNode(meshName, virtualNode, metadata));
    proxies.push(proxy);
    return proxy.connect(trellis.xds!.port);
  }

  const setTracing = (meshName: string, tracing: object) =>
    fetch(`${trellis.httpUrl}/v1/meshes/${meshName}/tracing`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(tracing),
    });

  it('receives its virtual node’s configuration, then the new weights of an UpdateRoute, and shows SYNCED at that revision', async () => {
    const meshName = uniqueMeshName('sidecar');
    await createCanaryMesh(trellis.appMesh, meshName, { 'web-v1': 90, 'web-v2': 10 });
    const v1 = `cds_egress_${meshName}_web-v1_http_8080`;
    const v2 = `cds_egress_${meshName}_web-v2_http_8080`;

    const proxy = sidecar(meshName, 'front');
    await proxy.sync();
    expect([...proxy.listeners.keys()].sort()).toEqual([EGRESS, INGRESS]);
    expect([...proxy.clusters.keys()].sort()).toEqual([
      `cds_egress_${meshName}_amazonaws`,
      v1,
      v2,
      `cds_ingress_${meshName}_front_http_8080`,
    ]);
    expect([...proxy.routes.keys()]).toEqual([ROUTES]);
    expect(routeWeights(proxy.routes.get(ROUTES), WEB_SERVICE)).toEqual([{ [v1]: 90, [v2]: 10 }]);

    const revision = await sendWrite(
      trellis.appMesh,
      new UpdateRouteCommand({
        meshName,
        virtualRouterName: 'web',
        routeName: 'canary',
        spec: weightedHttpRoute({ 'web-v1': 0, 'web-v2': 100 }),
      }),
    );
    // Only the route configuration changed, so it is all the proxy receives.
    expect(await proxy.next()).toEqual({ type: 'RDS', names: [ROUTES], removed: [] });
    expect(routeWeights(proxy.routes.get(ROUTES), WEB_SERVICE)).toEqual([{ [v1]: 0, [v2]: 100 }]);

    const nodeId = `mesh/${meshName}/virtualNode/front`;
    const [status] = await proxiesWhen(trellis.httpUrl, meshName, ([row]) =>
      Boolean(
        row?.state === 'SYNCED' &&
        (row.types.find((t) => t.type === 'RDS')?.ackedRevision ?? 0) >= revision,
      ),
    );
    expect(status).toMatchObject({ nodeId, mesh: meshName, protocol, connected: true });
    // The proxy as a whole is at that revision, including the types the write did not change.
    expect(status!.syncedRevision).toBeGreaterThanOrEqual(revision);
    expect(status!.types.map(({ type, state }) => ({ type, state }))).toEqual([
      { type: 'CDS', state: 'SYNCED' },
      { type: 'LDS', state: 'SYNCED' },
      { type: 'RDS', state: 'SYNCED' },
    ]);
    if (protocol === 'sotw') {
      expect(status!.types.find((t) => t.type === 'RDS')!.ackedVersion).toBe(
        proxy.acceptedVersion(ROUTE_CONFIGURATION),
      );
    }
  });

  it('traces every HTTP connection manager to X-Ray as the mesh’s virtual node, except for a proxy whose metadata says ENABLE_ENVOY_XRAY_TRACING=0', async () => {
    const meshName = uniqueMeshName('xray');
    await createCanaryMesh(trellis.appMesh, meshName, { 'web-v1': 100, 'web-v2': 0 });

    const traced = sidecar(meshName, 'front');
    await traced.sync();
    const managers = traced.httpConnectionManagers();
    expect(managers.map(({ listener }) => listener).sort()).toEqual([EGRESS, INGRESS]);
    for (const { manager } of managers) {
      expect(xrayConfigOf(manager)).toMatchObject({
        segmentName: `${meshName}/front`,
        daemonEndpoint: {
          protocol: SocketAddress_Protocol.UDP,
          address: '127.0.0.1',
          portSpecifier: { $case: 'portValue', value: 2000 },
        },
        segmentFields: {
          origin: 'AWS::AppMesh::Proxy',
          aws: { app_mesh: { mesh_name: meshName, virtual_node_name: 'front' } },
        },
      });
      expect(xrayConfigOf(manager)!.samplingRuleManifest).toBeUndefined();
    }

    // Another sidecar of the same virtual node opts out, as App Mesh's Envoy image allowed.
    const untraced = sidecar(meshName, 'front', { ENABLE_ENVOY_XRAY_TRACING: '0' });
    await untraced.sync();
    expect([...untraced.listeners.keys()].sort()).toEqual([EGRESS, INGRESS]);
    expect([...untraced.routes.keys()]).toEqual([ROUTES]);
    expect(untraced.httpConnectionManagers().map(({ manager }) => xrayConfigOf(manager))).toEqual([
      undefined,
      undefined,
    ]);

    // The first sidecar was sent nothing meanwhile: the answer to its probe comes next.
    expect(await traced.probe()).toEqual({ type: 'RDS', names: [ROUTES], removed: [] });
    for (const { manager } of traced.httpConnectionManagers())
      expect(xrayConfigOf(manager)?.segmentName).toBe(`${meshName}/front`);
  });

  it('receives new listeners when its mesh turns tracing off, while a proxy of another mesh receives nothing', async () => {
    const meshName = uniqueMeshName('tracing-off');
    const otherMeshName = uniqueMeshName('tracing-on');
    await createCanaryMesh(trellis.appMesh, meshName, { 'web-v1': 100, 'web-v2': 0 });
    await createCanaryMesh(trellis.appMesh, otherMeshName, { 'web-v1': 100, 'web-v2': 0 });
    const proxy = sidecar(meshName, 'front');
    const bystander = sidecar(otherMeshName, 'front');
    await proxy.sync();
    await bystander.sync();

    const response = await setTracing(meshName, { enabled: false });
    expect(response.status).toBe(200);
    expect(await proxy.next()).toEqual({ type: 'LDS', names: [EGRESS, INGRESS], removed: [] });
    expect(proxy.httpConnectionManagers().map(({ manager }) => xrayConfigOf(manager))).toEqual([
      undefined,
      undefined,
    ]);

    await trellis.xds!.engine.settled(); // every push of the change is out
    expect(await bystander.probe()).toEqual({ type: 'RDS', names: [ROUTES], removed: [] });
    for (const { manager } of bystander.httpConnectionManagers())
      expect(xrayConfigOf(manager)?.segmentName).toBe(`${otherMeshName}/front`);

    // Turning it back on with a sampling rate sends listeners with a sampling manifest.
    expect((await setTracing(meshName, { enabled: true, samplingRate: 0.25 })).status).toBe(200);
    expect(await proxy.next()).toEqual({ type: 'LDS', names: [EGRESS, INGRESS], removed: [] });
    for (const { manager } of proxy.httpConnectionManagers()) {
      const manifest = xrayConfigOf(manager)?.samplingRuleManifest?.specifier;
      expect(manifest?.$case).toBe('inlineString');
      expect(JSON.parse(manifest!.value as string)).toMatchObject({
        version: 2,
        default: { fixed_target: 1, rate: 0.25 },
      });
    }
  });

  it('gets its configuration when its virtual node is created after it connected, and an empty one when the node is deleted', async () => {
    const meshName = uniqueMeshName('late');
    await createCanaryMesh(trellis.appMesh, meshName, { 'web-v1': 100, 'web-v2': 0 });
    const proxy = sidecar(meshName, 'late');

    // No such virtual node yet: empty answers, so that Envoy can finish starting.
    expect(await proxy.sync()).toEqual([
      { type: 'CDS', names: [], removed: [] },
      { type: 'LDS', names: [], removed: [] },
    ]);

    const { spec } = frontNode(meshName);
    await trellis.appMesh.send(
      new CreateVirtualNodeCommand({ meshName, virtualNodeName: 'late', spec }),
    );
    const clusters = [
      `cds_egress_${meshName}_amazonaws`,
      `cds_egress_${meshName}_web-v1_http_8080`,
      `cds_egress_${meshName}_web-v2_http_8080`,
      `cds_ingress_${meshName}_late_http_8080`,
    ];
    // Make before break: clusters, then listeners, then the routes the listeners name.
    expect(await proxy.until(() => proxy.routes.has(ROUTES))).toEqual([
      { type: 'CDS', names: clusters, removed: [] },
      { type: 'LDS', names: [EGRESS, INGRESS], removed: [] },
      { type: 'RDS', names: [ROUTES], removed: [] },
    ]);

    await trellis.appMesh.send(new DeleteVirtualNodeCommand({ meshName, virtualNodeName: 'late' }));
    const emptied = await proxy.until(
      () => proxy.listeners.size === 0 && proxy.clusters.size === 0,
    );
    // Listeners go first; the clusters they used go last.
    expect(emptied).toEqual(
      protocol === 'sotw'
        ? [
            { type: 'LDS', names: [], removed: [] },
            { type: 'CDS', names: [], removed: [] },
          ]
        : [
            { type: 'LDS', names: [], removed: [EGRESS, INGRESS] },
            { type: 'RDS', names: [], removed: [ROUTES] },
            { type: 'CDS', names: [], removed: clusters },
          ],
    );
    expect(proxy.routes.size).toBe(0);
  });
});
