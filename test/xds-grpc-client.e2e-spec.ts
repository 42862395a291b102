import * as grpc from '@grpc/grpc-js';
import {
  hello,
  helloUntil,
  startGreeter as startBackend,
  type Greeter as Backend,
} from './support/greeter';
import * as grpcXds from '@grpc/grpc-js-xds';
import {
  apiListener,
  edsCluster,
  eventually,
  loadAssignment,
  routeConfiguration,
  startXdsServer,
  TestConfigSource,
  typeVersion,
  type EnvoyConfig,
  type TestXdsServer,
  type WeightedClusters,
} from './support/xds';
import { ROUTE_CONFIGURATION } from '../libs/xds-types/src/resource-types';

/**
 * A proxyless gRPC client (@grpc/grpc-js-xds, the client gRFC A27 describes) takes its whole
 * configuration from Trellis: listener → routes → weighted clusters → endpoints, and sends
 * RPCs where they say.
 */

async function helloTimes(client: grpc.Client, times: number): Promise<string[]> {
  const replies = [];
  for (let i = 0; i < times; i++) replies.push(await hello(client));
  return replies;
}

const NODE_ID = 'mesh/test/virtualNode/greeter-client';
const GROUP = 'greeter-client';

/** What Trellis serves the client: `xds:///greeter` split between two clusters by weight. */
function greeterConfig(weights: WeightedClusters, ports: Record<string, number>): EnvoyConfig {
  const clusters = Object.keys(weights);
  return {
    listeners: [apiListener('greeter', 'rds_greeter')],
    routes: [routeConfiguration('rds_greeter', weights, ['greeter'])],
    clusters: clusters.map((name) => edsCluster(name)),
    endpoints: clusters.map((name) =>
      loadAssignment(name, [{ address: '127.0.0.1', port: ports[name]! }]),
    ),
  };
}

describe('a proxyless gRPC client configured by Trellis', () => {
  const source = new TestConfigSource();
  let xds: TestXdsServer;
  let v1: Backend;
  let v2: Backend;
  let v2Moved: Backend;
  let client: grpc.Client;

  beforeAll(async () => {
    grpcXds.register();
    xds = await startXdsServer(source);
    [v1, v2, v2Moved] = await Promise.all([
      startBackend('v1'),
      startBackend('v2'),
      startBackend('v2-moved'),
    ]);
  });

  afterAll(async () => {
    client?.close();
    // With its last watch gone the xDS client ends its ADS stream; a server shut down under an
    // open stream would leave the client trying to reconnect.
    await eventually(() => expect(xds.engine.proxyStatuses()).toEqual([]));
    await xds.close();
    for (const backend of [v1, v2, v2Moved]) backend?.server.forceShutdown();
  });

  it('resolves xds:///greeter through Trellis, follows weight shifts and endpoint moves', async () => {
    const ports = { cds_greeter_v1: v1.port, cds_greeter_v2: v2.port };
    source.publish(GROUP, greeterConfig({ cds_greeter_v1: 100, cds_greeter_v2: 0 }, ports));
    const bootstrap = {
      xds_servers: [{ server_uri: `127.0.0.1:${xds.port}`, channel_creds: [{ type: 'insecure' }] }],
      node: { id: NODE_ID, cluster: GROUP, locality: { region: 'test-region' } },
    };
    client = new grpc.Client('xds:///greeter', grpc.credentials.createInsecure(), {
      'grpc.TEST_ONLY_DO_NOT_USE_IN_PROD.xds_bootstrap_config': JSON.stringify(bootstrap),
    });

    expect(await helloTimes(client, 10)).toEqual(Array(10).fill('v1'));

    // The client subscribed by name to each resource of the chain and accepted them all.
    await eventually(() =>
      expect(xds.engine.proxyStatuses()).toMatchObject([
        {
          nodeId: NODE_ID,
          cluster: GROUP,
          userAgent: 'gRPC Node Pure JS',
          protocol: 'sotw',
          state: 'SYNCED',
          types: [
            { type: 'CDS', subscribed: ['cds_greeter_v1', 'cds_greeter_v2'], state: 'SYNCED' },
            { type: 'EDS', subscribed: ['cds_greeter_v1', 'cds_greeter_v2'], state: 'SYNCED' },
            { type: 'LDS', subscribed: ['greeter'], state: 'SYNCED' },
            { type: 'RDS', subscribed: ['rds_greeter'], state: 'SYNCED' },
          ],
          rejectedResources: [],
        },
      ]),
    );

    // Canary promotion: all traffic moves to v2.
    const promoted = greeterConfig({ cds_greeter_v1: 0, cds_greeter_v2: 100 }, ports);
    source.publish(GROUP, promoted);
    await helloUntil(client, 'v2'); // the client has the new routes
    expect(await helloTimes(client, 10)).toEqual(Array(10).fill('v2'));
    await eventually(() =>
      expect(xds.engine.proxyStatuses()[0]!.types).toContainEqual(
        expect.objectContaining({
          type: 'RDS',
          state: 'SYNCED',
          ackedVersion: typeVersion(ROUTE_CONFIGURATION, promoted),
        }),
      ),
    );

    // v2 moves to another port: an endpoints-only change.
    source.publish(
      GROUP,
      greeterConfig(
        { cds_greeter_v1: 0, cds_greeter_v2: 100 },
        { ...ports, cds_greeter_v2: v2Moved.port },
      ),
    );
    await helloUntil(client, 'v2-moved');
    expect(await helloTimes(client, 10)).toEqual(Array(10).fill('v2-moved'));
    await eventually(() => expect(xds.engine.proxyStatuses()[0]!.state).toBe('SYNCED'));
  });

  it('reports routes the client rejects, while the client keeps using the last good ones', async () => {
    const ports = { cds_greeter_v1: v1.port, cds_greeter_v2: v2.port };
    const good = greeterConfig({ cds_greeter_v1: 100, cds_greeter_v2: 0 }, ports);
    source.publish(GROUP, good);
    await helloUntil(client, 'v1');

    // Envoy's validation rules allow weights that add up to 0; gRPC does not (gRFC A28).
    source.publish(GROUP, greeterConfig({ cds_greeter_v1: 0, cds_greeter_v2: 0 }, ports));
    await eventually(() =>
      expect(xds.engine.proxyStatuses()[0]).toMatchObject({
        state: 'NACKED',
        types: expect.arrayContaining([
          expect.objectContaining({
            type: 'RDS',
            state: 'NACKED',
            ackedVersion: typeVersion(ROUTE_CONFIGURATION, good),
            lastNack: expect.objectContaining({
              message: expect.stringContaining('sum of weights is 0'),
            }),
          }),
        ]),
      }),
    );
    expect(await helloTimes(client, 5)).toEqual(Array(5).fill('v1'));

    source.publish(GROUP, greeterConfig({ cds_greeter_v1: 0, cds_greeter_v2: 100 }, ports));
    await helloUntil(client, 'v2');
    await eventually(() => expect(xds.engine.proxyStatuses()[0]!.state).toBe('SYNCED'));
  });
});
