import * as grpc from '@grpc/grpc-js';
import * as http2 from 'node:http2';
import { LISTENER } from '../libs/xds-types/src/resource-types';
import { appMeshClient, uniqueMeshName } from './support/control-plane';
import {
  createCanaryMesh,
  envoyNode,
  proxiesWhen,
  stopServerProcess,
  xdsPortOf,
} from './support/mesh';
import {
  GC_ON_SIGUSR2,
  rssAfterGc,
  startServerProcess,
  type ServerProcess,
} from './support/process';
import { SotwAdsClient } from './support/xds';

const MiB = 1024 * 1024;

/** A name of App Mesh's longest length (ResourceName: 1 to 255 characters), unique by `index`. */
function longName(prefix: string, index: number): string {
  const head = `${prefix}-${index}-`;
  return head + 'x'.repeat(255 - head.length);
}

/** Runs `work` for 0..count-1, `parallel` at a time. */
async function inBatches(count: number, parallel: number, work: (i: number) => Promise<void>) {
  let next = 0;
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      while (next < count) await work(next++);
    }),
  );
}

/** What one short-lived stream saw: a first response, or the status the server ended it with. */
async function shortStream(port: number, nodeId: string): Promise<'served' | grpc.status> {
  const client = new SotwAdsClient(port, { ...envoyNode('unused', 'unused'), id: nodeId });
  try {
    client.subscribe(LISTENER, []);
    await client.next();
    return 'served';
  } catch (error) {
    const code = (error as { code?: grpc.status }).code;
    if (code === undefined)
      throw new Error(`${nodeId.slice(0, 80)}: ${String(error)}`, { cause: error });
    return code;
  } finally {
    client.close();
  }
}

describe('xDS under hostile and churning proxies', () => {
  let server: ServerProcess;
  let port: number;

  beforeAll(async () => {
    server = await startServerProcess(
      {
        DATABASE_URL: process.env.DATABASE_URL!,
        TRELLIS_PROXY_STATUS_INTERVAL_MS: '50',
        TRELLIS_PROXY_STATUS_GRACE_SECONDS: '1',
      },
      { nodeArgs: GC_ON_SIGUSR2 },
    );
    port = xdsPortOf(server);
  });
  afterAll(() => stopServerProcess(server));

  it('gives back the memory of 600 short-lived streams with new, long node ids, and forgets them', async () => {
    const meshName = uniqueMeshName('churn');
    const appMesh = appMeshClient(server.httpUrl);
    await createCanaryMesh(appMesh, meshName, { 'web-v1': 90, 'web-v2': 10 });
    // Warm up: code paths compiled, pools filled, so that the baseline is the steady state.
    await inBatches(30, 10, async (i) => {
      await shortStream(port, `mesh/${meshName}/virtualNode/warm-${i}`);
    });
    const before = await rssAfterGc(server);

    // Three kinds of newcomer, 200 each: a new virtual node of a known mesh, a node of a mesh
    // nobody created, both with names of the longest length App Mesh allows; and node ids far
    // beyond any App Mesh identity, which must be refused before they cost anything.
    const nodeIds: string[] = [];
    const outcomes = new Map<string, Array<'served' | grpc.status>>();
    await inBatches(600, 25, async (i) => {
      const kind = ['known-mesh', 'unknown-mesh', 'oversized'][i % 3]!;
      const nodeId =
        kind === 'known-mesh'
          ? `mesh/${meshName}/virtualNode/${longName('node', i)}`
          : kind === 'unknown-mesh'
            ? `mesh/${longName(meshName, i)}/virtualNode/${longName('node', i)}`
            : `mesh/${meshName}/virtualNode/${longName('node', i).repeat(400)}`;
      nodeIds.push(nodeId);
      const outcome = await shortStream(port, nodeId);
      outcomes.set(kind, [...(outcomes.get(kind) ?? []), outcome]);
    });
    expect(new Set(outcomes.get('known-mesh'))).toEqual(new Set(['served']));
    expect(new Set(outcomes.get('unknown-mesh'))).toEqual(new Set(['served']));
    expect(new Set(outcomes.get('oversized'))).toEqual(new Set([grpc.status.INVALID_ARGUMENT]));

    // Gone from proxy status once the grace period is over...
    const ours = new Set(nodeIds);
    await proxiesWhen(
      server.httpUrl,
      undefined,
      (proxies) => !proxies.some((proxy) => ours.has(proxy.nodeId)),
      10_000,
    );

    // ...and from memory.
    const after = await rssAfterGc(server);
    expect((after - before) / MiB).toBeLessThan(60);
  });

  it('answers a type it does not serve with nothing, and shows it on the proxy and in the metrics', async () => {
    const meshName = uniqueMeshName('types');
    await createCanaryMesh(appMeshClient(server.httpUrl), meshName, { 'web-v1': 100, 'web-v2': 0 });
    const client = new SotwAdsClient(port, envoyNode(meshName, 'web-v1'));
    try {
      client.subscribe(LISTENER, []);
      await client.next();
      const unknownType = 'type.googleapis.com/envoy.config.unknown.v3.Thing';
      client.send({ typeUrl: unknownType, resourceNames: ['thing'] });
      const [proxy] = await proxiesWhen(server.httpUrl, meshName, (proxies) =>
        proxies.some((row) => (row as { unknownTypes?: unknown[] }).unknownTypes?.length),
      );
      expect((proxy as { unknownTypes?: unknown }).unknownTypes).toEqual([
        { typeUrl: unknownType, requests: 1 },
      ]);
      const metrics = await (await fetch(`${server.httpUrl}/metrics`)).text();
      expect(metrics).toMatch(/^trellis_xds_unknown_type_requests_total(\{[^}]*\})? [1-9]/m);
    } finally {
      client.close();
    }
  });
});

describe('xDS streams per HTTP/2 connection', () => {
  const CAP = 3;
  let server: ServerProcess;
  let port: number;

  beforeAll(async () => {
    server = await startServerProcess({
      DATABASE_URL: process.env.DATABASE_URL!,
      TRELLIS_XDS_MAX_STREAMS_PER_CONNECTION: String(CAP),
    });
    port = xdsPortOf(server);
  });
  afterAll(() => stopServerProcess(server));

  it('serves TRELLIS_XDS_MAX_STREAMS_PER_CONNECTION streams of one connection; a client waits or is refused for more, other connections are served', async () => {
    const meshName = uniqueMeshName('cap');
    await createCanaryMesh(appMeshClient(server.httpUrl), meshName, { 'web-v1': 100, 'web-v2': 0 });
    const node = (i: number) => envoyNode(meshName, `web-v${1 + (i % 2)}`);
    // Clients of one address and credentials share one HTTP/2 connection (grpc-js' subchannel
    // pool): CAP + 2 streams on it.
    const crowded = Array.from({ length: CAP + 2 }, (_, i) => new SotwAdsClient(port, node(i)));
    const served = new Set<number>();
    const firstResponses = crowded.map((client, i) => {
      client.subscribe(LISTENER, []);
      return client.next().then(
        () => served.add(i),
        () => undefined,
      );
    });
    const alone = new SotwAdsClient(port, node(0), {
      credentials: grpc.credentials.createInsecure(),
      options: { 'grpc.use_local_subchannel_pool': 1 },
    });
    try {
      await Promise.all(firstResponses.slice(0, CAP));
      // Another connection is served while this one is full...
      alone.subscribe(LISTENER, []);
      await alone.next();
      // ...and the streams beyond the cap are not: grpc-js holds them (the server's HTTP/2
      // SETTINGS_MAX_CONCURRENT_STREAMS) until a stream of the connection ends.
      expect([...served].sort()).toEqual([0, 1, 2]);
      crowded[0]!.close();
      await firstResponses[CAP];
      expect([...served].sort()).toEqual([0, 1, 2, 3]);
    } finally {
      alone.close();
      for (const client of crowded) client.close();
    }

    // A client that ignores the setting (streams sent before the server's SETTINGS arrive) has
    // every stream beyond the cap reset with REFUSED_STREAM; the connection goes on.
    let streams: http2.ClientHttp2Stream[] = [];
    const session = http2.connect(`http://127.0.0.1:${port}`, { peerMaxConcurrentStreams: 1000 });
    try {
      streams = Array.from({ length: CAP + 2 }, () =>
        session.request({
          ':method': 'POST',
          ':path':
            '/envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources',
          'content-type': 'application/grpc',
          te: 'trailers',
        }),
      );
      const resets = streams.map(
        (stream) =>
          new Promise<number>((resolve) => {
            stream.on('error', () => undefined);
            stream.on('close', () => resolve(stream.rstCode ?? -1));
          }),
      );
      expect(await Promise.all(resets.slice(CAP))).toEqual([
        http2.constants.NGHTTP2_REFUSED_STREAM,
        http2.constants.NGHTTP2_REFUSED_STREAM,
      ]);
      expect(streams.map((stream) => stream.closed)).toEqual([false, false, false, true, true]);
      expect(session.closed).toBe(false);
    } finally {
      // (session.destroy() with open streams never returns under jest.)
      for (const stream of streams) stream.close(http2.constants.NGHTTP2_CANCEL);
      await new Promise<void>((resolve) => session.close(resolve));
    }
  });
});
