import { UpdateRouteCommand } from '@aws-sdk/client-app-mesh';
import {
  CLUSTER,
  LISTENER,
  ROUTE_CONFIGURATION,
  type TypeUrl,
} from '../libs/xds-types/src/resource-types';
import {
  startTestControlPlane,
  uniqueMeshName,
  type TestControlPlane,
} from './support/control-plane';
import {
  createCanaryMesh,
  envoyNode,
  proxiesWhen,
  routeWeights,
  sendWrite,
  SidecarProxy,
  stopServerProcess,
  WEB_SERVICE,
  weightedHttpRoute,
  xdsPortOf,
  type AdsProtocol,
} from './support/mesh';
import { startServerProcess, type ServerProcess } from './support/process';

/**
 * Two xDS replicas (`npm start` with TRELLIS_ROLES=xds, as separate processes) on one Postgres,
 * written to through an admin API in a third place: a sidecar moves from one replica to the
 * other and keeps what it has, and writes reach it wherever it is connected.
 */

const ROUTES = 'rds_egress_http_8080';

function startXdsReplica(): Promise<ServerProcess> {
  return startServerProcess({
    TRELLIS_ROLES: 'xds',
    DATABASE_URL: process.env.DATABASE_URL!,
    TRELLIS_PROXY_STATUS_INTERVAL_MS: '50',
    // No periodic resync within the test: a write can only arrive by LISTEN/NOTIFY.
    TRELLIS_XDS_RESYNC_SECONDS: '3600',
    TRELLIS_LOG_LEVEL: 'info',
  });
}

describe('xDS replicas on one Postgres', () => {
  let admin: TestControlPlane;
  let first: ServerProcess;
  let second: ServerProcess;
  const proxies: SidecarProxy[] = [];

  beforeAll(async () => {
    [admin, first, second] = await Promise.all([
      startTestControlPlane({ TRELLIS_ROLES: 'admin' }),
      startXdsReplica(),
      startXdsReplica(),
    ]);
  });
  afterEach(() => {
    for (const proxy of proxies.splice(0)) proxy.close();
  });
  afterAll(async () => {
    await Promise.all([stopServerProcess(first), stopServerProcess(second)]);
    await admin?.close();
  });

  it.each<AdsProtocol>(['sotw', 'delta'])(
    'sends a %s sidecar that moves to another replica nothing it already has, and writes reach it there',
    async (protocol) => {
      const meshName = uniqueMeshName('replicas');
      await createCanaryMesh(admin.appMesh, meshName, { 'web-v1': 90, 'web-v2': 10 });
      const v1 = `cds_egress_${meshName}_web-v1_http_8080`;
      const v2 = `cds_egress_${meshName}_web-v2_http_8080`;
      const proxy = new SidecarProxy(protocol, envoyNode(meshName, 'front'));
      proxies.push(proxy);

      proxy.connect(xdsPortOf(first));
      await proxy.sync();
      // What the proxy holds: SotW the version of each type, delta the version of each resource.
      const types: TypeUrl[] = [CLUSTER, LISTENER, ROUTE_CONFIGURATION];
      const held = () =>
        types.map((type) =>
          protocol === 'sotw' ? proxy.acceptedVersion(type) : proxy.resourceVersions(type),
        );
      const fromFirst = held();
      if (protocol === 'sotw') {
        for (const version of fromFirst) expect(version).toMatch(/.+/);
      } else {
        expect(fromFirst.map((versions) => Object.keys(versions ?? {}).sort())).toEqual([
          // Under DROP_ALL, App Mesh's sidecar still reaches AWS APIs (docs/translation.md).
          [`cds_egress_${meshName}_amazonaws`, v1, v2, `cds_ingress_${meshName}_front_http_8080`],
          ['lds_egress_0.0.0.0_15001', 'lds_ingress_0.0.0.0_15000'],
          [ROUTES],
        ]);
      }

      const [onFirst] = await proxiesWhen(
        admin.httpUrl,
        meshName,
        ([row]) => row?.connected === true && row.state === 'SYNCED',
      );

      // The proxy moves, reporting what it has (SotW: the versions it accepted; delta:
      // initial_resource_versions). Re-requesting its routes must be answered, and answered
      // first: nothing was sent before it.
      proxy.reconnect(xdsPortOf(second));
      expect(await proxy.probe()).toEqual({ type: 'RDS', names: [ROUTES], removed: [] });
      expect(held()).toEqual(fromFirst); // the routes came back in the version it had

      // The second replica shows the proxy in sync with what it reported; the first, gone.
      const rows = await proxiesWhen(
        admin.httpUrl,
        meshName,
        (rows) =>
          rows.some((row) => row.replicaId === onFirst!.replicaId && !row.connected) &&
          rows.some((row) => row.connected && row.state === 'SYNCED'),
      );
      const onSecond = rows.filter((row) => row.connected);
      expect(onSecond).toHaveLength(1);
      expect(onSecond[0]!.replicaId).not.toBe(onFirst!.replicaId);
      expect(onSecond[0]).toMatchObject({ protocol, nodeId: `mesh/${meshName}/virtualNode/front` });
      if (protocol === 'sotw') {
        expect(onSecond[0]!.types.map(({ type, ackedVersion }) => [type, ackedVersion])).toEqual([
          ['CDS', proxy.acceptedVersion(CLUSTER)],
          ['LDS', proxy.acceptedVersion(LISTENER)],
          ['RDS', proxy.acceptedVersion(ROUTE_CONFIGURATION)],
        ]);
      }

      // A write through the admin API reaches the proxy on the second replica.
      const revision = await sendWrite(
        admin.appMesh,
        new UpdateRouteCommand({
          meshName,
          virtualRouterName: 'web',
          routeName: 'canary',
          spec: weightedHttpRoute({ 'web-v1': 0, 'web-v2': 100 }),
        }),
      );
      expect(await proxy.next()).toEqual({ type: 'RDS', names: [ROUTES], removed: [] });
      expect(routeWeights(proxy.routes.get(ROUTES), WEB_SERVICE)).toEqual([{ [v1]: 0, [v2]: 100 }]);
      await proxiesWhen(admin.httpUrl, meshName, (rows) =>
        rows.some(
          (row) =>
            row.connected &&
            row.state === 'SYNCED' &&
            (row.types.find((t) => t.type === 'RDS')?.ackedRevision ?? 0) >= revision,
        ),
      );
    },
  );
});
