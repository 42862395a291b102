import http2 from 'node:http2';
import * as grpc from '@grpc/grpc-js';
import type { ClusterLoadAssignment } from '../libs/envoy-api/generated/envoy/config/endpoint/v3/endpoint';
import {
  CLUSTER,
  CLUSTER_LOAD_ASSIGNMENT,
  LISTENER,
  ROUTE_CONFIGURATION,
  type TypeUrl,
} from '../libs/xds-types/src/resource-types';
import {
  apiListener,
  DeltaAdsClient,
  edsCluster,
  eventually,
  loadAssignment,
  resourceVersion,
  routeConfiguration,
  shortType,
  SotwAdsClient,
  sotwSummary,
  startXdsServer,
  TestConfigSource,
  testNode,
  typeVersion,
  type EnvoyConfig,
  type TestXdsServer,
  type WeightedClusters,
} from './support/xds';

/**
 * The xDS protocol as a proxy sees it, over real sockets: what Trellis sends on an ADS stream,
 * state of the world and delta, and what it keeps to itself. Rules from
 * https://www.envoyproxy.io/docs/envoy/latest/api-docs/xds_protocol.
 */

// The configuration of one group of proxies ("web"): a listener whose routes split traffic
// between clusters by weight, each cluster with its endpoints.
function endpointsOf(cluster: string, port = 8080): ClusterLoadAssignment {
  return loadAssignment(cluster, [{ address: '10.0.0.1', port }]);
}

function webConfig(weights: WeightedClusters = { cds_a: 90, cds_b: 10 }): EnvoyConfig {
  const clusters = Object.keys(weights);
  return {
    listeners: [apiListener('lds_web', 'rds_web')],
    routes: [routeConfiguration('rds_web', weights)],
    clusters: clusters.map((name) => edsCluster(name)),
    endpoints: clusters.map((name) => endpointsOf(name)),
  };
}

function versionOf(typeUrl: TypeUrl, config: EnvoyConfig): string {
  return typeVersion(typeUrl, config);
}

/** A delta resource's version: the hash of its encoding. */
function v(typeUrl: TypeUrl, message: object): string {
  return resourceVersion(typeUrl, message);
}

let source: TestConfigSource;
let server: TestXdsServer;
const closeAfterTest: Array<{ close(): unknown }> = [];

beforeEach(async () => {
  source = new TestConfigSource();
  server = await startXdsServer(source);
  closeAfterTest.push(server);
});

afterEach(async () => {
  for (const item of closeAfterTest.splice(0).reverse()) await item.close();
});

function sotwClient(id = 'web-1', group = 'web', on: TestXdsServer = server): SotwAdsClient {
  const client = new SotwAdsClient(on.port, testNode(id, group));
  closeAfterTest.push(client);
  return client;
}

function deltaClient(id = 'web-1', group = 'web', on: TestXdsServer = server): DeltaAdsClient {
  const client = new DeltaAdsClient(on.port, testNode(id, group));
  closeAfterTest.push(client);
  return client;
}

/** Publishes and waits until the engine has pushed the change to every stream. */
async function publish(group: string, config: EnvoyConfig, ...servers: TestXdsServer[]) {
  source.publish(group, config);
  for (const each of servers.length > 0 ? servers : [server]) await each.engine.settled();
}

/** Subscribes as Envoy does (wildcard clusters and listeners, named endpoints and routes), accepting every answer. */
async function syncSotw(
  client: SotwAdsClient,
  clusters = ['cds_a', 'cds_b'],
  routes = ['rds_web'],
) {
  client.subscribe(CLUSTER, []);
  await client.nextAcked();
  client.subscribe(CLUSTER_LOAD_ASSIGNMENT, clusters);
  await client.nextAcked();
  client.subscribe(LISTENER, []);
  await client.nextAcked();
  client.subscribe(ROUTE_CONFIGURATION, routes);
  await client.nextAcked();
}

let probes = 0;

/**
 * Proves that nothing is on its way to a state-of-the-world client without sleeping: a request
 * for one more (non-existent) listener is answered at once with the unchanged listener set, so
 * that answer must be the next response.
 */
async function expectNothingPending(client: SotwAdsClient): Promise<void> {
  const listeners = client.state.get(LISTENER);
  if (!listeners) throw new Error('the client has not subscribed to listeners');
  const names = listeners.names.length === 0 ? ['*'] : listeners.names;
  client.subscribe(LISTENER, [...names, `probe-${++probes}`]);
  const response = await client.next();
  expect({ type: shortType(response.typeUrl), version: response.versionInfo }).toEqual({
    type: 'LDS',
    version: listeners.version,
  });
  client.ack(response);
}

/** The same for a delta client: a subscription to a name that does not exist is answered with its removal. */
async function expectNothingPendingDelta(client: DeltaAdsClient): Promise<void> {
  const probe = `probe-${++probes}`;
  client.subscribe(CLUSTER_LOAD_ASSIGNMENT, [probe]);
  expect(await client.nextAcked()).toMatchObject({
    type: 'EDS',
    resources: {},
    removed: [probe],
  });
}

/** The newest stream of a node (an older one may still be closing after a reconnect). */
function statusOf(nodeId: string, on: TestXdsServer = server) {
  const status = on.engine
    .proxyStatuses()
    .filter((s) => s.nodeId === nodeId)
    .pop();
  if (!status) throw new Error(`no stream for ${nodeId}`);
  return status;
}

function typeStatus(nodeId: string, type: string, on: TestXdsServer = server) {
  const status = statusOf(nodeId, on).types.find((t) => t.type === type);
  if (!status) throw new Error(`${nodeId} has no ${type} subscription`);
  return status;
}

describe('state of the world ADS', () => {
  it('answers the first request of each type: clusters and listeners by wildcard, endpoints and routes by name', async () => {
    const config = webConfig();
    await publish('web', config);
    const proxy = sotwClient();

    proxy.subscribe(CLUSTER, []); // an empty first request is the legacy wildcard
    expect(await proxy.nextSummary()).toEqual({
      type: 'CDS',
      version: versionOf(CLUSTER, config),
      nonce: '1',
      names: ['cds_a', 'cds_b'],
    });

    proxy.subscribe(CLUSTER_LOAD_ASSIGNMENT, ['cds_a']);
    expect(await proxy.nextSummary()).toEqual({
      type: 'EDS',
      version: versionOf(CLUSTER_LOAD_ASSIGNMENT, { endpoints: [endpointsOf('cds_a')] }),
      nonce: '2',
      names: ['cds_a'],
    });

    proxy.subscribe(LISTENER, ['*']);
    expect(await proxy.nextSummary()).toEqual({
      type: 'LDS',
      version: versionOf(LISTENER, config),
      nonce: '3',
      names: ['lds_web'],
    });

    proxy.subscribe(ROUTE_CONFIGURATION, ['rds_web']);
    expect(await proxy.nextSummary()).toEqual({
      type: 'RDS',
      version: versionOf(ROUTE_CONFIGURATION, config),
      nonce: '4',
      names: ['rds_web'],
    });
  });

  it('sends nothing in answer to an ACK', async () => {
    await publish('web', webConfig());
    const proxy = sotwClient();
    proxy.subscribe(LISTENER, []);
    const listeners = await proxy.next();

    proxy.ack(listeners);

    // The probe is answered with nonce 2: nothing was sent for the ACK.
    await expectNothingPending(proxy);
    await eventually(() =>
      expect(typeStatus('web-1', 'LDS')).toMatchObject({ sentNonce: '2', state: 'SYNCED' }),
    );
  });

  it('keeps a NACKed version out of the proxy: not resent, reported, replaced by the next version', async () => {
    const good = webConfig();
    await publish('web', good);
    const proxy = sotwClient();
    await syncSotw(proxy);

    const bad = webConfig();
    bad.clusters = [edsCluster('cds_a', 5), edsCluster('cds_b')];
    await publish('web', bad);
    const rejected = await proxy.next();
    expect(rejected).toMatchObject({ typeUrl: CLUSTER, versionInfo: versionOf(CLUSTER, bad) });
    proxy.nack(rejected, 'cds_a: connect_timeout too long');

    await eventually(() =>
      expect(typeStatus('web-1', 'CDS')).toMatchObject({
        state: 'NACKED',
        sentVersion: versionOf(CLUSTER, bad),
        ackedVersion: versionOf(CLUSTER, good),
        lastNack: {
          message: 'cds_a: connect_timeout too long',
          version: versionOf(CLUSTER, bad),
        },
      }),
    );
    expect(statusOf('web-1').state).toBe('NACKED');

    // The same content again (the source publishes once more, or the proxy re-requests): not resent.
    await publish('web', bad);
    proxy.subscribe(CLUSTER, []);
    await expectNothingPending(proxy);

    const fixed = webConfig();
    fixed.clusters = [edsCluster('cds_a', 2), edsCluster('cds_b')];
    await publish('web', fixed);
    expect(await proxy.nextAcked()).toEqual({
      type: 'CDS',
      version: versionOf(CLUSTER, fixed),
      nonce: expect.any(String),
      names: ['cds_a', 'cds_b'],
    });
    await expectNothingPending(proxy);
    await eventually(() =>
      expect(statusOf('web-1')).toMatchObject({
        state: 'SYNCED',
        types: expect.arrayContaining([
          expect.objectContaining({ type: 'CDS', ackedVersion: versionOf(CLUSTER, fixed) }),
        ]),
      }),
    );
  });

  it('ignores a request that carries a stale nonce', async () => {
    await publish('web', webConfig({ cds_a: 1, cds_b: 1, cds_c: 1 }));
    const proxy = sotwClient();
    proxy.subscribe(LISTENER, []);
    await proxy.nextAcked();
    proxy.subscribe(CLUSTER_LOAD_ASSIGNMENT, ['cds_a']);
    const first = await proxy.next();
    expect(first.nonce).toBe('2');

    // Endpoints of cds_a change before the proxy answered nonce 2.
    const changed = webConfig({ cds_a: 1, cds_b: 1, cds_c: 1 });
    changed.endpoints = [endpointsOf('cds_a', 9090), endpointsOf('cds_b'), endpointsOf('cds_c')];
    await publish('web', changed);
    const second = await proxy.next();
    expect({ nonce: second.nonce, typeUrl: second.typeUrl }).toEqual({
      nonce: '3',
      typeUrl: CLUSTER_LOAD_ASSIGNMENT,
    });

    // A request answering nonce 2 is stale: even its new subscription to cds_b is ignored...
    proxy.send({
      typeUrl: CLUSTER_LOAD_ASSIGNMENT,
      resourceNames: ['cds_a', 'cds_b'],
      versionInfo: first.versionInfo,
      responseNonce: '2',
    });
    // ...so the next response answers the current request, and carries cds_c alone.
    proxy.subscribe(CLUSTER_LOAD_ASSIGNMENT, ['cds_a', 'cds_c'], second.versionInfo);
    expect(await proxy.nextSummary()).toEqual({
      type: 'EDS',
      version: versionOf(CLUSTER_LOAD_ASSIGNMENT, {
        endpoints: [endpointsOf('cds_a', 9090), endpointsOf('cds_c')],
      }),
      nonce: '4',
      names: ['cds_c'],
    });
  });

  it('sends a client that names its listeners (as gRPC does) only those', async () => {
    const config = webConfig();
    config.listeners!.push(apiListener('lds_other', 'rds_web'));
    await publish('web', config);
    const grpcClient = sotwClient();

    grpcClient.subscribe(LISTENER, ['lds_other']);
    expect(await grpcClient.nextAcked()).toEqual({
      type: 'LDS',
      version: versionOf(LISTENER, { listeners: [apiListener('lds_other', 'rds_web')] }),
      nonce: '1',
      names: ['lds_other'],
    });

    // A change to a listener it did not ask for is none of its business.
    const changed = webConfig();
    changed.listeners = [
      apiListener('lds_web', 'rds_elsewhere'),
      apiListener('lds_other', 'rds_web'),
    ];
    await publish('web', changed);
    await expectNothingPending(grpcClient);
  });

  it('answers a newly subscribed name though nothing changed, and again after an unsubscribe', async () => {
    const config = webConfig();
    await publish('web', config);
    const proxy = sotwClient();
    await syncSotw(proxy, ['cds_a']);

    proxy.subscribe(CLUSTER_LOAD_ASSIGNMENT, ['cds_a', 'cds_b']);
    expect(await proxy.nextAcked()).toEqual({
      type: 'EDS',
      version: versionOf(CLUSTER_LOAD_ASSIGNMENT, config),
      nonce: '5',
      names: ['cds_b'],
    });

    proxy.subscribe(CLUSTER_LOAD_ASSIGNMENT, ['cds_a']);
    await expectNothingPending(proxy);

    // Subscribing again means the proxy dropped cds_b: it must get it again.
    proxy.subscribe(CLUSTER_LOAD_ASSIGNMENT, ['cds_a', 'cds_b']);
    expect(await proxy.nextAcked()).toEqual({
      type: 'EDS',
      version: versionOf(CLUSTER_LOAD_ASSIGNMENT, config),
      nonce: '7',
      names: ['cds_b'],
    });
  });

  it('sends nothing about an unsubscribed name, and only the changed endpoints and routes', async () => {
    const config = webConfig({ cds_a: 1, cds_b: 1, cds_c: 1 });
    await publish('web', config);
    const proxy = sotwClient();
    await syncSotw(proxy, ['cds_a', 'cds_b', 'cds_c']);
    proxy.subscribe(CLUSTER_LOAD_ASSIGNMENT, ['cds_a', 'cds_b']);
    await expectNothingPending(proxy);

    const cMoved = {
      ...config,
      endpoints: [endpointsOf('cds_a'), endpointsOf('cds_b'), endpointsOf('cds_c', 7070)],
    };
    await publish('web', cMoved);
    await expectNothingPending(proxy);

    const aMoved = {
      ...cMoved,
      endpoints: [endpointsOf('cds_a', 7070), endpointsOf('cds_b'), endpointsOf('cds_c', 7070)],
    };
    await publish('web', aMoved);
    expect(await proxy.nextAcked()).toEqual({
      type: 'EDS',
      version: versionOf(CLUSTER_LOAD_ASSIGNMENT, {
        endpoints: [endpointsOf('cds_a', 7070), endpointsOf('cds_b')],
      }),
      nonce: expect.any(String),
      names: ['cds_a'],
    });
    await expectNothingPending(proxy);
  });

  it('sends the complete set of clusters and listeners when one of them changes', async () => {
    const config = webConfig({ cds_a: 1, cds_b: 1, cds_c: 1 });
    await publish('web', config);
    const proxy = sotwClient();
    await syncSotw(proxy, ['cds_a', 'cds_b', 'cds_c']);

    const changed = {
      ...config,
      clusters: [edsCluster('cds_a'), edsCluster('cds_b', 3), edsCluster('cds_c')],
    };
    await publish('web', changed);

    expect(await proxy.nextAcked()).toEqual({
      type: 'CDS',
      version: versionOf(CLUSTER, changed),
      nonce: '5',
      names: ['cds_a', 'cds_b', 'cds_c'],
    });
    await expectNothingPending(proxy);
  });

  it('pushes a change in make-before-break order: clusters, endpoints, listeners, routes, then removals', async () => {
    await publish('web', webConfig({ cds_a: 1, cds_b: 1 }));
    const proxy = sotwClient();
    await syncSotw(proxy, ['cds_a', 'cds_b']);

    // Traffic moves from cds_b to the new cds_c, which has its own listener; cds_b goes.
    const moved = webConfig({ cds_a: 1, cds_c: 1 });
    moved.listeners!.push(apiListener('lds_admin', 'rds_web'));
    moved.endpoints = [endpointsOf('cds_a', 9090), endpointsOf('cds_c')];
    await publish('web', moved);

    const push = [];
    for (let i = 0; i < 5; i++) push.push(await proxy.next());
    expect(push.map((r) => ({ type: shortType(r.typeUrl), nonce: r.nonce }))).toEqual([
      { type: 'CDS', nonce: '5' },
      { type: 'EDS', nonce: '6' },
      { type: 'LDS', nonce: '7' },
      { type: 'RDS', nonce: '8' },
      { type: 'CDS', nonce: '9' },
    ]);
    const [clustersAdded, endpoints, listeners, routes, clustersRemoved] = push.map(sotwSummary);
    // Until the routes have moved on, cds_b stays beside the new cds_c.
    expect(clustersAdded!.names).toEqual(['cds_a', 'cds_b', 'cds_c']);
    // cds_a's new endpoints; the proxy asks for cds_c's once it has the cluster.
    expect(endpoints!.names).toEqual(['cds_a']);
    expect(listeners).toMatchObject({
      names: ['lds_admin', 'lds_web'],
      version: versionOf(LISTENER, moved),
    });
    expect(routes).toMatchObject({
      names: ['rds_web'],
      version: versionOf(ROUTE_CONFIGURATION, moved),
    });
    expect(clustersRemoved).toMatchObject({
      names: ['cds_a', 'cds_c'],
      version: versionOf(CLUSTER, moved),
    });
  });

  it('leaves a removed cluster out of the next cluster set', async () => {
    await publish('web', webConfig({ cds_a: 1, cds_b: 1 }));
    const proxy = sotwClient();
    await syncSotw(proxy);

    const without = webConfig({ cds_a: 1 });
    await publish('web', without);

    // The route no longer uses cds_b: routes first, then the cluster set without cds_b.
    expect(await proxy.nextAcked()).toMatchObject({ type: 'RDS', names: ['rds_web'] });
    expect(await proxy.nextAcked()).toEqual({
      type: 'CDS',
      version: versionOf(CLUSTER, without),
      nonce: '6',
      names: ['cds_a'],
    });
    await expectNothingPending(proxy);
  });

  it('sends nothing when the same configuration is published again', async () => {
    await publish('web', webConfig());
    const proxy = sotwClient();
    await syncSotw(proxy);

    await publish('web', webConfig()); // equal content, new objects
    await expectNothingPending(proxy);
  });

  it('answers a route that springs into existence after it was requested', async () => {
    await publish('web', { ...webConfig(), routes: [] });
    const proxy = sotwClient();
    proxy.subscribe(LISTENER, []);
    await proxy.nextAcked();
    proxy.subscribe(ROUTE_CONFIGURATION, ['rds_web']);
    await expectNothingPending(proxy); // state of the world has no "does not exist"

    const config = webConfig();
    await publish('web', config);
    expect(await proxy.nextAcked()).toEqual({
      type: 'RDS',
      version: versionOf(ROUTE_CONFIGURATION, config),
      nonce: '3',
      names: ['rds_web'],
    });
  });
});

describe('a group with no configuration yet', () => {
  it('answers wildcard subscriptions with an empty set, so that Envoy can finish starting', async () => {
    const sotw = sotwClient('new-1', 'new');
    sotw.subscribe(CLUSTER, []);
    expect(await sotw.nextSummary()).toEqual({
      type: 'CDS',
      version: versionOf(CLUSTER, {}),
      nonce: '1',
      names: [],
    });

    const delta = deltaClient('new-2', 'new');
    delta.subscribe(LISTENER, ['*']);
    expect(await delta.nextSummary()).toEqual({
      type: 'LDS',
      nonce: '1',
      resources: {},
      removed: [],
    });
  });
});

describe('proxy status', () => {
  it('shows node, user agent, subscriptions and versions: STALE until the proxy ACKs, then SYNCED', async () => {
    const config = webConfig();
    await publish('web', config);
    const proxy = sotwClient('web-7');
    proxy.subscribe(CLUSTER, []);
    const clusters = await proxy.next();

    expect(statusOf('web-7')).toMatchObject({
      nodeId: 'web-7',
      cluster: 'web',
      mesh: 'test-mesh',
      userAgent: 'trellis-test',
      userAgentVersion: '1.2.3',
      protocol: 'sotw',
      state: 'STALE',
      types: [
        {
          type: 'CDS',
          state: 'STALE',
          subscribed: '*',
          sentVersion: versionOf(CLUSTER, config),
          sentNonce: '1',
          ackedVersion: undefined,
        },
      ],
      rejectedResources: [],
    });

    proxy.ack(clusters);
    proxy.subscribe(CLUSTER_LOAD_ASSIGNMENT, ['cds_b', 'cds_a']);
    await proxy.nextAcked();
    proxy.subscribe(LISTENER, []);
    await proxy.nextAcked();
    await expectNothingPending(proxy); // the ACKs have been read

    await eventually(() => expect(statusOf('web-7')).toMatchObject({ state: 'SYNCED' }));
    expect(statusOf('web-7').types).toMatchObject([
      {
        type: 'CDS',
        state: 'SYNCED',
        subscribed: '*',
        sentVersion: versionOf(CLUSTER, config),
        ackedVersion: versionOf(CLUSTER, config),
        sentAt: expect.any(String),
        ackedAt: expect.any(String),
      },
      {
        type: 'EDS',
        state: 'SYNCED',
        subscribed: ['cds_a', 'cds_b'],
        ackedVersion: versionOf(CLUSTER_LOAD_ASSIGNMENT, config),
      },
      {
        type: 'LDS',
        state: 'SYNCED',
        subscribed: '*', // the probes' names do not turn the wildcard off
        ackedVersion: versionOf(LISTENER, config),
      },
    ]);
  });

  it('withholds a resource that breaks Envoy validation, lists it, and keeps the last good one', async () => {
    const good = webConfig();
    await publish('web', good);
    const proxy = sotwClient();
    await syncSotw(proxy);

    // Envoy would reject a virtual host without domains, a zero connect timeout, a nameless cluster.
    const broken = webConfig({ cds_a: 1, cds_b: 1, cds_new: 1 });
    broken.routes = [routeConfiguration('rds_web', { cds_a: 1, cds_b: 1, cds_new: 1 }, [])];
    broken.clusters = [
      edsCluster('cds_a'),
      edsCluster('cds_b'),
      edsCluster('cds_new', 0),
      edsCluster(''),
    ];
    broken.endpoints = [endpointsOf('cds_a'), endpointsOf('cds_b', 9090), endpointsOf('cds_new')];
    await publish('web', broken);

    // Only the valid change goes out: cds_b's endpoints. The old routes and clusters stay.
    expect(await proxy.nextAcked()).toEqual({
      type: 'EDS',
      version: versionOf(CLUSTER_LOAD_ASSIGNMENT, {
        endpoints: [endpointsOf('cds_a'), endpointsOf('cds_b', 9090)],
      }),
      nonce: '5',
      names: ['cds_b'],
    });
    await expectNothingPending(proxy);
    expect(statusOf('web-1').rejectedResources).toEqual([
      {
        typeUrl: ROUTE_CONFIGURATION,
        name: 'rds_web',
        failures: [
          expect.objectContaining({ path: 'virtual_hosts[0].domains', rule: 'repeated.min_items' }),
        ],
      },
      {
        typeUrl: CLUSTER,
        name: 'cds_new',
        failures: [expect.objectContaining({ path: 'connect_timeout', rule: 'duration.gt' })],
      },
      {
        typeUrl: CLUSTER,
        name: '',
        failures: [expect.objectContaining({ path: 'name', rule: 'string.min_len' })],
      },
    ]);

    // A new proxy of the group gets the last good route and no cds_new.
    const newcomer = sotwClient('web-2');
    newcomer.subscribe(CLUSTER, []);
    expect(await newcomer.nextSummary()).toMatchObject({ names: ['cds_a', 'cds_b'] });
    newcomer.subscribe(ROUTE_CONFIGURATION, ['rds_web']);
    expect(await newcomer.nextSummary()).toMatchObject({
      version: versionOf(ROUTE_CONFIGURATION, good),
    });
  });
});

describe('pushing changes', () => {
  it('coalesces a burst of publications into one push', async () => {
    const slow = await startXdsServer(source, { debounceMs: 200, maxWaitMs: 5000 });
    closeAfterTest.push(slow);
    await publish('web', webConfig({ cds_a: 1 }), slow);
    const proxy = sotwClient('web-1', 'web', slow);
    await syncSotw(proxy, ['cds_a']);
    const loadsBefore = source.loads.get('web');

    const last = webConfig({ cds_a: 1, cds_b: 1, cds_c: 1, cds_d: 1 });
    source.publish('web', webConfig({ cds_a: 1, cds_b: 1 }));
    await new Promise((resolve) => setImmediate(resolve));
    source.publish('web', webConfig({ cds_a: 1, cds_b: 1, cds_c: 1 }));
    await new Promise((resolve) => setImmediate(resolve));
    source.publish('web', last);

    // No settled() here: the debounce timer does the pushing.
    expect(await proxy.nextAcked()).toMatchObject({
      type: 'CDS',
      version: versionOf(CLUSTER, last),
      names: ['cds_a', 'cds_b', 'cds_c', 'cds_d'],
    });
    expect(await proxy.nextAcked()).toMatchObject({
      type: 'RDS',
      version: versionOf(ROUTE_CONFIGURATION, last),
    });
    await expectNothingPending(proxy);
    expect(source.loads.get('web')).toBe(loadsBefore! + 1);
  });

  it('pushes within the maximum wait even while the debounce keeps waiting', async () => {
    const patient = await startXdsServer(source, { debounceMs: 60_000, maxWaitMs: 10 });
    closeAfterTest.push(patient);
    source.publish('web', webConfig());
    const proxy = sotwClient('web-1', 'web', patient);
    proxy.subscribe(CLUSTER, []);
    await proxy.nextAcked();

    const changed = webConfig({ cds_a: 50, cds_b: 50, cds_c: 1 });
    source.publish('web', changed);
    expect(await proxy.nextAcked()).toMatchObject({
      type: 'CDS',
      version: versionOf(CLUSTER, changed),
    });
  });

  it('pushes only to streams whose group changed', async () => {
    await publish('web', webConfig());
    await publish('api', webConfig({ cds_x: 1 }));
    const web = sotwClient('web-1', 'web');
    const api = sotwClient('api-1', 'api');
    await syncSotw(web);
    await syncSotw(api, ['cds_x']);

    const changed = webConfig({ cds_a: 1, cds_b: 1, cds_c: 1 });
    await publish('web', changed);

    expect(await web.nextAcked()).toMatchObject({
      type: 'CDS',
      version: versionOf(CLUSTER, changed),
    });
    await expectNothingPending(api);
  });
});

describe('connecting and reconnecting', () => {
  it('sends a state-of-the-world proxy nothing when it comes back with the versions it has, to this or another server', async () => {
    const config = webConfig();
    const other = await startXdsServer(source);
    closeAfterTest.push(other);
    await publish('web', config, server, other);
    const first = sotwClient('web-1');
    await syncSotw(first);
    const versions = new Map([...first.state].map(([typeUrl, s]) => [typeUrl, s.version]));
    first.close();

    for (const target of [server, other]) {
      const again = sotwClient('web-1', 'web', target);
      again.subscribe(CLUSTER, [], versions.get(CLUSTER));
      again.subscribe(
        CLUSTER_LOAD_ASSIGNMENT,
        ['cds_a', 'cds_b'],
        versions.get(CLUSTER_LOAD_ASSIGNMENT),
      );
      again.subscribe(LISTENER, [], versions.get(LISTENER));
      again.subscribe(ROUTE_CONFIGURATION, ['rds_web'], versions.get(ROUTE_CONFIGURATION));
      await expectNothingPending(again);
      await eventually(() => expect(statusOf('web-1', target)).toMatchObject({ state: 'SYNCED' }));
      again.close();
    }
  });

  it('closes every connection when the server closes, idle ones included', async () => {
    // grpc-js' forceShutdown destroys only the connections its channelz map knows of, and
    // Trellis runs with channelz off: a connection whose stream had ended outlived the server
    // (and could open new streams on it).
    const closing = await startXdsServer(source);
    const session = http2.connect(`http://127.0.0.1:${closing.port}`);
    const ended = new Promise<void>((resolve) => session.on('close', () => resolve()));
    session.on('error', () => undefined);
    const stream = session.request({
      ':method': 'POST',
      ':path': '/envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources',
      'content-type': 'application/grpc',
      te: 'trailers',
    });
    await new Promise<void>((resolve) => session.once('remoteSettings', () => resolve()));
    stream.close();
    await closing.close();
    let timer: NodeJS.Timeout | undefined;
    const outcome = await Promise.race([
      ended.then(() => 'closed'),
      new Promise((resolve) => (timer = setTimeout(() => resolve('still open after 5 s'), 5000))),
    ]);
    clearTimeout(timer);
    session.destroy();
    expect(outcome).toBe('closed');
  });

  it('answers a first request that carries a nonce from an earlier stream', async () => {
    const config = webConfig();
    await publish('web', config);
    const proxy = sotwClient();

    // Nonces do not survive a stream, but a client may still send its last one.
    proxy.send({ typeUrl: CLUSTER, resourceNames: [], responseNonce: '17' });
    expect(await proxy.nextSummary()).toEqual({
      type: 'CDS',
      version: versionOf(CLUSTER, config),
      nonce: '1',
      names: ['cds_a', 'cds_b'],
    });
  });

  it('sends a proxy that comes back with an outdated version the current set', async () => {
    const config = webConfig();
    await publish('web', config);
    const proxy = sotwClient();

    proxy.subscribe(CLUSTER, [], versionOf(CLUSTER, webConfig({ cds_a: 1 })));
    expect(await proxy.nextSummary()).toEqual({
      type: 'CDS',
      version: versionOf(CLUSTER, config),
      nonce: '1',
      names: ['cds_a', 'cds_b'],
    });
  });

  it('turns away a stream whose first request does not say which node it is', async () => {
    await publish('web', webConfig());
    const anonymous = new SotwAdsClient(server.port, undefined);
    closeAfterTest.push(anonymous);
    anonymous.subscribe(CLUSTER, []);
    await expect(anonymous.next()).rejects.toMatchObject({ code: grpc.status.INVALID_ARGUMENT });
  });

  it('turns a proxy away while its configuration cannot be loaded, and serves it once it can', async () => {
    source.publish('web', webConfig());
    source.failingLoads = 1;
    const turnedAway = sotwClient();
    turnedAway.subscribe(CLUSTER, []);
    // An error ends the stream; an empty configuration would have deleted the proxy's clusters.
    await expect(turnedAway.next()).rejects.toMatchObject({ code: grpc.status.INTERNAL });

    const back = sotwClient();
    back.subscribe(CLUSTER, []);
    expect(await back.nextSummary()).toMatchObject({ type: 'CDS', names: ['cds_a', 'cds_b'] });
  });

  it('gives equal content equal versions on every server', async () => {
    const config = webConfig();
    const other = await startXdsServer(source);
    closeAfterTest.push(other);
    await publish('web', config, server, other);

    const summaries = [];
    for (const [target, id] of [
      [server, 'web-1'],
      [other, 'web-2'],
    ] as const) {
      const proxy = sotwClient(id, 'web', target);
      proxy.subscribe(CLUSTER, []);
      proxy.subscribe(ROUTE_CONFIGURATION, ['rds_web']);
      summaries.push([await proxy.nextSummary(), await proxy.nextSummary()]);
      const delta = deltaClient(`${id}-delta`, 'web', target);
      delta.subscribe(CLUSTER, ['*']);
      summaries.push([await delta.nextSummary()]);
    }
    expect(summaries[2]).toEqual(summaries[0]);
    expect(summaries[3]).toEqual(summaries[1]);
  });

  it('sends a delta proxy only what changed since the versions it reports, to this or another server', async () => {
    const config = webConfig();
    const other = await startXdsServer(source);
    closeAfterTest.push(other);
    await publish('web', config, server, other);
    const first = deltaClient('web-1');
    first.subscribe(CLUSTER, ['*']);
    const clusters = (await first.nextAcked()).resources;
    first.subscribe(CLUSTER_LOAD_ASSIGNMENT, ['cds_a', 'cds_b']);
    const endpoints = (await first.nextAcked()).resources;
    first.close();

    for (const target of [server, other]) {
      const again = deltaClient('web-1', 'web', target);
      again.subscribe(CLUSTER, ['*'], clusters);
      again.subscribe(CLUSTER_LOAD_ASSIGNMENT, ['cds_a', 'cds_b'], endpoints);
      await expectNothingPendingDelta(again);
      await eventually(() =>
        expect(statusOf('web-1', target).types).toMatchObject([
          { type: 'CDS', state: 'SYNCED' },
          { type: 'EDS', state: 'SYNCED' },
        ]),
      );
      again.close();
    }

    // One version the proxy reports is out of date, and it has a cluster that is gone.
    const again = deltaClient('web-1', 'web', other);
    again.subscribe(CLUSTER, ['*'], { ...clusters, cds_b: 'an-old-version', cds_gone: 'v0' });
    expect(await again.nextSummary()).toEqual({
      type: 'CDS',
      nonce: '1',
      resources: { cds_b: v(CLUSTER, edsCluster('cds_b')) },
      removed: ['cds_gone'],
    });
  });
});

describe('delta ADS', () => {
  it('answers a wildcard subscription with every resource and its version', async () => {
    await publish('web', webConfig());
    const proxy = deltaClient();

    proxy.subscribe(CLUSTER, ['*']);
    expect(await proxy.nextSummary()).toEqual({
      type: 'CDS',
      nonce: '1',
      resources: {
        cds_a: v(CLUSTER, edsCluster('cds_a')),
        cds_b: v(CLUSTER, edsCluster('cds_b')),
      },
      removed: [],
    });

    proxy.subscribe(LISTENER, []); // legacy wildcard: both lists empty
    expect(await proxy.nextSummary()).toEqual({
      type: 'LDS',
      nonce: '2',
      resources: { lds_web: v(LISTENER, apiListener('lds_web', 'rds_web')) },
      removed: [],
    });
  });

  it('answers named subscriptions with those names; an unknown name comes back removed', async () => {
    await publish('web', webConfig());
    const proxy = deltaClient();

    proxy.subscribe(CLUSTER_LOAD_ASSIGNMENT, ['cds_b', 'cds_missing']);
    expect(await proxy.nextAcked()).toEqual({
      type: 'EDS',
      nonce: '1',
      resources: { cds_b: v(CLUSTER_LOAD_ASSIGNMENT, endpointsOf('cds_b')) },
      removed: ['cds_missing'],
    });

    proxy.subscribe(CLUSTER_LOAD_ASSIGNMENT, ['cds_a']);
    expect(await proxy.nextAcked()).toEqual({
      type: 'EDS',
      nonce: '2',
      resources: { cds_a: v(CLUSTER_LOAD_ASSIGNMENT, endpointsOf('cds_a')) },
      removed: [],
    });

    // It springs into existence: the server remembered the subscription.
    const config = webConfig({ cds_a: 1, cds_b: 1, cds_missing: 1 });
    await publish('web', config);
    expect(await proxy.nextAcked()).toEqual({
      type: 'EDS',
      nonce: expect.any(String),
      resources: { cds_missing: v(CLUSTER_LOAD_ASSIGNMENT, endpointsOf('cds_missing')) },
      removed: [],
    });
  });

  it('sends nothing for an ACK or an unsubscribe, and nothing more about an unsubscribed name', async () => {
    const config = webConfig();
    await publish('web', config);
    const proxy = deltaClient();
    proxy.subscribe(CLUSTER_LOAD_ASSIGNMENT, ['cds_a', 'cds_b']);
    await proxy.nextAcked();
    await expectNothingPendingDelta(proxy);

    proxy.unsubscribe(CLUSTER_LOAD_ASSIGNMENT, ['cds_b']);
    await expectNothingPendingDelta(proxy);

    const moved = { ...config, endpoints: [endpointsOf('cds_a'), endpointsOf('cds_b', 9999)] };
    await publish('web', moved);
    await expectNothingPendingDelta(proxy);
    expect(typeStatus('web-1', 'EDS').subscribed).toContain('cds_a');
    expect(typeStatus('web-1', 'EDS').subscribed).not.toContain('cds_b');
  });

  it('sends only the resources that changed, even of clusters and listeners', async () => {
    await publish('web', webConfig());
    const proxy = deltaClient();
    proxy.subscribe(CLUSTER, ['*']);
    await proxy.nextAcked();

    await publish('web', {
      ...webConfig(),
      clusters: [edsCluster('cds_a'), edsCluster('cds_b', 4)],
    });
    expect(await proxy.nextAcked()).toEqual({
      type: 'CDS',
      nonce: '2',
      resources: { cds_b: v(CLUSTER, edsCluster('cds_b', 4)) },
      removed: [],
    });
    await expectNothingPendingDelta(proxy);
  });

  it('keeps a NACKed resource from being resent until its content changes', async () => {
    await publish('web', webConfig());
    const proxy = deltaClient();
    proxy.subscribe(CLUSTER, ['*']);
    await proxy.nextAcked();

    const bad = { ...webConfig(), clusters: [edsCluster('cds_a', 7), edsCluster('cds_b')] };
    await publish('web', bad);
    const rejected = await proxy.next();
    proxy.nack(rejected, 'cds_a is not acceptable');
    await eventually(() =>
      expect(typeStatus('web-1', 'CDS')).toMatchObject({
        state: 'NACKED',
        lastNack: { message: 'cds_a is not acceptable' },
      }),
    );

    await publish('web', { ...bad, clusters: [edsCluster('cds_a', 7), edsCluster('cds_b')] });
    await expectNothingPendingDelta(proxy);

    await publish('web', { ...bad, clusters: [edsCluster('cds_a', 3), edsCluster('cds_b')] });
    expect(await proxy.nextAcked()).toEqual({
      type: 'CDS',
      nonce: expect.any(String),
      resources: { cds_a: v(CLUSTER, edsCluster('cds_a', 3)) },
      removed: [],
    });
    await expectNothingPendingDelta(proxy);
    await eventually(() => expect(typeStatus('web-1', 'CDS').state).toBe('SYNCED'));
  });

  it('lists a removed cluster in removed_resources, after routes have moved away from it', async () => {
    await publish('web', webConfig({ cds_a: 1, cds_b: 1 }));
    const proxy = deltaClient();
    proxy.subscribe(CLUSTER, ['*']);
    await proxy.nextAcked();
    proxy.subscribe(CLUSTER_LOAD_ASSIGNMENT, ['cds_a', 'cds_b']);
    await proxy.nextAcked();
    proxy.subscribe(LISTENER, ['*']);
    await proxy.nextAcked();
    proxy.subscribe(ROUTE_CONFIGURATION, ['rds_web']);
    await proxy.nextAcked();

    // Traffic moves from cds_b to the new cds_c; cds_a's endpoints change; a listener is added.
    const moved = webConfig({ cds_a: 1, cds_c: 1 });
    moved.endpoints = [endpointsOf('cds_a', 9090), endpointsOf('cds_c')];
    moved.listeners!.push(apiListener('lds_admin', 'rds_web'));
    await publish('web', moved);

    const push = [];
    for (let i = 0; i < 6; i++) push.push(await proxy.nextAcked());
    expect(push).toEqual([
      {
        type: 'CDS',
        nonce: '5',
        resources: { cds_c: v(CLUSTER, edsCluster('cds_c')) },
        removed: [],
      },
      {
        type: 'EDS',
        nonce: '6',
        resources: { cds_a: v(CLUSTER_LOAD_ASSIGNMENT, endpointsOf('cds_a', 9090)) },
        removed: [],
      },
      {
        type: 'LDS',
        nonce: '7',
        resources: { lds_admin: v(LISTENER, apiListener('lds_admin', 'rds_web')) },
        removed: [],
      },
      {
        type: 'RDS',
        nonce: '8',
        resources: { rds_web: v(ROUTE_CONFIGURATION, moved.routes![0]!) },
        removed: [],
      },
      // Make before break: cds_b leaves once the routes no longer use it.
      { type: 'CDS', nonce: '9', resources: {}, removed: ['cds_b'] },
      { type: 'EDS', nonce: '10', resources: {}, removed: ['cds_b'] },
    ]);
    await expectNothingPendingDelta(proxy);
  });

  it('honours a subscription change that carries a stale nonce', async () => {
    await publish('web', webConfig());
    const proxy = deltaClient();
    proxy.subscribe(CLUSTER_LOAD_ASSIGNMENT, ['cds_a']);
    const first = await proxy.next();

    proxy.send({
      typeUrl: CLUSTER_LOAD_ASSIGNMENT,
      responseNonce: 'not-a-nonce-we-sent',
      resourceNamesSubscribe: ['cds_b'],
    });
    expect(await proxy.nextSummary()).toEqual({
      type: 'EDS',
      nonce: '2',
      resources: { cds_b: v(CLUSTER_LOAD_ASSIGNMENT, endpointsOf('cds_b')) },
      removed: [],
    });
    expect(first.nonce).toBe('1');
  });

  it('answers an explicit name beside a wildcard, whether or not it exists', async () => {
    await publish('web', webConfig());
    const proxy = deltaClient();
    proxy.subscribe(CLUSTER, ['*']);
    await proxy.nextAcked();

    proxy.subscribe(CLUSTER, ['cds_a', 'cds_nowhere']);
    expect(await proxy.nextAcked()).toEqual({
      type: 'CDS',
      nonce: '2',
      resources: { cds_a: v(CLUSTER, edsCluster('cds_a')) },
      removed: ['cds_nowhere'],
    });
  });
});
