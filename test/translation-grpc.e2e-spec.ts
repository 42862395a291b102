import { performance } from 'node:perf_hooks';
import {
  CreateMeshCommand,
  CreateRouteCommand,
  CreateVirtualNodeCommand,
  CreateVirtualRouterCommand,
  CreateVirtualServiceCommand,
  UpdateRouteCommand,
  type RouteSpec,
} from '@aws-sdk/client-app-mesh';
import * as grpc from '@grpc/grpc-js';
import {
  helloMany,
  startGreeter as startBackend,
  type Greeter as Backend,
} from './support/greeter';
import * as grpcXds from '@grpc/grpc-js-xds';
import {
  startTestControlPlane,
  uniqueMeshName,
  type TestControlPlane,
} from './support/control-plane';
import { proxiesWhen, sendWrite } from './support/mesh';
import { LISTENER } from '../libs/xds-types/src/resource-types';
import { eventually, SotwAdsClient } from './support/xds';

/**
 * A canary between two gRPC services, set up with the AWS SDK as App Mesh users do, and
 * followed by a proxyless gRPC client (@grpc/grpc-js-xds) that takes its routing from Trellis.
 */

const SERVICE = 'greeter.local';
const ROUTER_PORT = 50051;

function split(blue: number, green: number): RouteSpec {
  return {
    grpcRoute: {
      match: { serviceName: 'trellis.test.Greeter' },
      action: {
        weightedTargets: [
          { virtualNode: 'blue', weight: blue },
          { virtualNode: 'green', weight: green },
        ],
      },
    },
  };
}

describe('a proxyless gRPC client following an App Mesh canary', () => {
  let trellis: TestControlPlane;
  let blue: Backend;
  let green: Backend;
  let client: grpc.Client | undefined;
  const meshName = uniqueMeshName('grpc');

  beforeAll(async () => {
    grpcXds.register();
    [trellis, blue, green] = await Promise.all([
      startTestControlPlane(),
      startBackend('blue'),
      startBackend('green'),
    ]);
    const { appMesh } = trellis;
    await appMesh.send(new CreateMeshCommand({ meshName }));
    for (const backend of [blue, green]) {
      await appMesh.send(
        new CreateVirtualNodeCommand({
          meshName,
          virtualNodeName: backend.name,
          spec: {
            listeners: [{ portMapping: { port: backend.port, protocol: 'grpc' } }],
            // gRPC takes endpoints from EDS only, so the hostname is an IP literal.
            serviceDiscovery: { dns: { hostname: '127.0.0.1' } },
          },
        }),
      );
    }
    await appMesh.send(
      new CreateVirtualRouterCommand({
        meshName,
        virtualRouterName: 'greeter',
        spec: { listeners: [{ portMapping: { port: ROUTER_PORT, protocol: 'grpc' } }] },
      }),
    );
    await appMesh.send(
      new CreateRouteCommand({
        meshName,
        virtualRouterName: 'greeter',
        routeName: 'canary',
        spec: split(80, 20),
      }),
    );
    await appMesh.send(
      new CreateVirtualServiceCommand({
        meshName,
        virtualServiceName: SERVICE,
        spec: { provider: { virtualRouter: { virtualRouterName: 'greeter' } } },
      }),
    );
    await appMesh.send(
      new CreateVirtualNodeCommand({
        meshName,
        virtualNodeName: 'client',
        spec: { backends: [{ virtualService: { virtualServiceName: SERVICE } }] },
      }),
    );
  });

  afterAll(async () => {
    client?.close();
    // With its last watch gone the xDS client ends its ADS stream; a server shut down under an
    // open stream would leave the client trying to reconnect.
    await eventually(() =>
      expect(trellis.xds!.engine.proxyStatuses().filter((p) => p.mesh === meshName)).toEqual([]),
    );
    await trellis.close();
    for (const backend of [blue, green]) backend?.server.forceShutdown();
  });

  it('sends 80% of the calls to blue, and every call to green within 3 seconds of UpdateRoute', async () => {
    const bootstrap = {
      xds_servers: [
        { server_uri: `127.0.0.1:${trellis.xds!.port}`, channel_creds: [{ type: 'insecure' }] },
      ],
      node: {
        id: `mesh/${meshName}/virtualNode/client`,
        locality: { region: 'eu-west-1', zone: 'eu-west-1a' },
      },
    };
    client = new grpc.Client(
      `xds:///${SERVICE}:${ROUTER_PORT}`,
      grpc.credentials.createInsecure(),
      { 'grpc.TEST_ONLY_DO_NOT_USE_IN_PROD.xds_bootstrap_config': JSON.stringify(bootstrap) },
    );

    const replies = await helloMany(client, 2000);
    const toBlue = replies.filter((name) => name === 'blue').length;
    expect(replies.filter((name) => name === 'green')).toHaveLength(2000 - toBlue);
    expect(Math.abs(toBlue / 2000 - 0.8)).toBeLessThanOrEqual(0.04);

    // The client asked for the chain by the names the translation gives it, and accepted it.
    const blueCluster = `cds_proxyless_${meshName}_blue_grpc_${blue.port}`;
    const greenCluster = `cds_proxyless_${meshName}_green_grpc_${green.port}`;
    const [status] = await proxiesWhen(
      trellis.httpUrl,
      meshName,
      ([row]) => row?.state === 'SYNCED',
    );
    expect(status).toMatchObject({
      nodeId: `mesh/${meshName}/virtualNode/client`,
      userAgent: 'gRPC Node Pure JS',
      types: [
        { type: 'CDS', state: 'SYNCED', subscribed: [blueCluster, greenCluster] },
        { type: 'EDS', state: 'SYNCED', subscribed: [blueCluster, greenCluster] },
        { type: 'LDS', state: 'SYNCED', subscribed: [`${SERVICE}:${ROUTER_PORT}`] },
        { type: 'RDS', state: 'SYNCED', subscribed: [`rds_proxyless_${SERVICE}_${ROUTER_PORT}`] },
      ],
    });

    // Promote green: poll until a whole batch of calls lands on green.
    const updatedAt = performance.now();
    const revision = await sendWrite(
      trellis.appMesh,
      new UpdateRouteCommand({
        meshName,
        virtualRouterName: 'greeter',
        routeName: 'canary',
        spec: split(0, 100),
      }),
    );
    let batch: string[];
    do batch = await helloMany(client, 20, 20);
    while (batch.some((name) => name !== 'green') && performance.now() - updatedAt < 3000);
    expect(batch).toEqual(Array(20).fill('green'));
    expect(performance.now() - updatedAt).toBeLessThan(3000);
    expect(await helloMany(client, 200)).toEqual(Array(200).fill('green'));

    await proxiesWhen(trellis.httpUrl, meshName, ([row]) =>
      Boolean(
        row?.state === 'SYNCED' &&
        (row.types.find((t) => t.type === 'RDS')?.ackedRevision ?? 0) >= revision,
      ),
    );
  });

  it('sends a gRPC client nothing after it unsubscribes from its last listener, as it ends its stream then', async () => {
    // What @grpc/grpc-js-xds does when its last channel closes, step by step; an answer would
    // reach a stream the client has closed, and the connection would never close.
    const listener = `${SERVICE}:${ROUTER_PORT}`;
    const grpcClient = new SotwAdsClient(trellis.xds!.port, {
      id: `mesh/${meshName}/virtualNode/client`,
      userAgentName: 'gRPC Node Pure JS',
      userAgentVersionType: { $case: 'userAgentVersion', value: '1.14.1' },
    });
    try {
      grpcClient.subscribe(LISTENER, [listener]);
      expect((await grpcClient.nextAcked()).names).toEqual([listener]);
      grpcClient.subscribe(LISTENER, []);
      // Asking for the listener again must be answered, and nothing may come before that answer.
      grpcClient.subscribe(LISTENER, [listener]);
      expect((await grpcClient.nextAcked()).names).toEqual([listener]);
    } finally {
      grpcClient.close();
    }
  });
});
