import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import {
  CreateMeshCommand,
  CreateRouteCommand,
  CreateVirtualNodeCommand,
  CreateVirtualRouterCommand,
  CreateVirtualServiceCommand,
  UpdateRouteCommand,
  UpdateVirtualNodeCommand,
  type HttpRouteMatch,
  type RouteSpec,
  type VirtualNodeSpec,
} from '@aws-sdk/client-app-mesh';
import { readFileSync } from 'node:fs';
import { LISTENER } from '../libs/xds-types/src/resource-types';
import {
  startTestControlPlane,
  TEST_ACCOUNT_ID,
  TEST_REGION,
  uniqueMeshName,
  type TestControlPlane,
} from './support/control-plane';
import { envoyNode, proxiesWhen, sendWrite, SidecarProxy } from './support/mesh';
import { eventually, SotwAdsClient } from './support/xds';

/**
 * Every kind of translation problem is a diagnostic: in GET /v1/meshes/{mesh}/diagnostics, in the
 * status of the proxy it affects, in trellis_diagnostics{mesh,kind}, and `trellis diagnose` fails
 * on it; fixing the spec clears all four.
 */

const TRELLIS_BIN = path.resolve(__dirname, '../apps/cli/bin/trellis.js');
const FIXTURES = path.join(__dirname, 'fixtures', 'certificates');
const run = promisify(execFile);

interface Diagnostic {
  kind: string;
  resource: string;
  message: string;
  proxy?: string;
}

const node = (port: number, backends: string[] = [], extra: VirtualNodeSpec = {}) => ({
  listeners: [{ portMapping: { port, protocol: 'http' as const } }],
  serviceDiscovery: { dns: { hostname: `n${port}.local` } },
  backends: backends.map((virtualServiceName) => ({ virtualService: { virtualServiceName } })),
  ...extra,
});
const tcpNode = (hostname: string): VirtualNodeSpec => ({
  listeners: [{ portMapping: { port: 5432, protocol: 'tcp' } }],
  serviceDiscovery: { dns: { hostname } },
});
const route = (match: HttpRouteMatch): RouteSpec => ({
  httpRoute: { match, action: { weightedTargets: [{ virtualNode: 'api', weight: 100 }] } },
});

describe('diagnostics', () => {
  let trellis: TestControlPlane;
  const closers: Array<() => void> = [];

  beforeAll(async () => {
    trellis = await startTestControlPlane({
      TRELLIS_MASTER_KEY: Buffer.alloc(32, 5).toString('base64'),
    });
  });
  afterEach(() => closers.splice(0).forEach((close) => close()));
  afterAll(() => trellis.close());

  const diagnosticsOf = async (meshName: string): Promise<Diagnostic[]> => {
    const response = await fetch(`${trellis.httpUrl}/v1/meshes/${meshName}/diagnostics`);
    return ((await response.json()) as { diagnostics: Diagnostic[] }).diagnostics;
  };
  const metricOf = async (meshName: string, kind: string): Promise<number> => {
    const text = await (await fetch(`${trellis.httpUrl}/metrics`)).text();
    const line = text
      .split('\n')
      .find((l) => l.startsWith(`trellis_diagnostics{mesh="${meshName}",kind="${kind}"}`));
    return line === undefined ? 0 : Number(line.split(' ').pop());
  };
  const diagnose = async (meshName: string): Promise<{ code: number; stdout: string }> => {
    const env = { ...process.env, TRELLIS_ENDPOINT: trellis.httpUrl };
    try {
      const { stdout } = await run(
        process.execPath,
        [TRELLIS_BIN, 'diagnose', '--mesh', meshName],
        { env },
      );
      return { code: 0, stdout };
    } catch (error) {
      const failed = error as { code: number; stdout: string };
      return { code: failed.code, stdout: failed.stdout };
    }
  };
  const sidecar = (meshName: string, virtualNode: string, userAgentName = 'envoy') => {
    const proxy = new SidecarProxy('delta', { ...envoyNode(meshName, virtualNode), userAgentName });
    closers.push(() => proxy.close());
    void proxy
      .connect(trellis.xds!.port)
      .sync()
      .catch(() => undefined);
    return proxy;
  };

  /** The problem is in the API, the proxy's status, the metric, and `trellis diagnose` fails. */
  async function expectReported(meshName: string, kind: string) {
    await eventually(async () => {
      expect((await diagnosticsOf(meshName)).map((d) => d.kind)).toContain(kind);
      expect(await metricOf(meshName, kind)).toBeGreaterThan(0);
    }, 5000);
    await proxiesWhen(trellis.httpUrl, meshName, (rows) =>
      rows.some((row) =>
        (row as { diagnostics?: Diagnostic[] }).diagnostics?.some((d) => d.kind === kind),
      ),
    );
    const cli = await diagnose(meshName);
    expect(cli.code).toBe(1);
    expect(cli.stdout).toContain(kind);
  }

  /** Fixed: gone from the API, the proxy's status and the metric; `trellis diagnose` passes. */
  async function expectCleared(meshName: string, kind: string) {
    await eventually(async () => {
      const found = await diagnosticsOf(meshName);
      expect(found.filter((d) => d.kind === kind)).toEqual([]);
      expect(await metricOf(meshName, kind)).toBe(0);
    }, 5000);
    await proxiesWhen(trellis.httpUrl, meshName, (rows) =>
      rows.every((row) => ((row as { diagnostics?: Diagnostic[] }).diagnostics ?? []).length === 0),
    );
    expect((await diagnose(meshName)).code).toBe(0);
  }

  async function mesh(
    prefix: string,
    nodes: Record<string, VirtualNodeSpec>,
    services: Record<string, string> = {},
  ) {
    const meshName = uniqueMeshName(prefix);
    await trellis.appMesh.send(new CreateMeshCommand({ meshName }));
    for (const [virtualNodeName, spec] of Object.entries(nodes)) {
      await trellis.appMesh.send(new CreateVirtualNodeCommand({ meshName, virtualNodeName, spec }));
    }
    for (const [virtualServiceName, provider] of Object.entries(services)) {
      await trellis.appMesh.send(
        new CreateVirtualServiceCommand({
          meshName,
          virtualServiceName,
          spec: { provider: { virtualNode: { virtualNodeName: provider } } },
        }),
      );
    }
    return meshName;
  }

  it('missing-reference: a backend naming no virtual service', async () => {
    const meshName = await mesh('missing', { front: node(8080, ['ghost.local']) });
    sidecar(meshName, 'front');
    await expectReported(meshName, 'missing-reference');
    await trellis.appMesh.send(
      new CreateVirtualNodeCommand({ meshName, virtualNodeName: 'ghost', spec: node(9090) }),
    );
    await trellis.appMesh.send(
      new CreateVirtualServiceCommand({
        meshName,
        virtualServiceName: 'ghost.local',
        spec: { provider: { virtualNode: { virtualNodeName: 'ghost' } } },
      }),
    );
    await expectCleared(meshName, 'missing-reference');
  });

  it('certificate-not-imported: a listener naming an ACM ARN not imported', async () => {
    const arn = `arn:aws:acm:${TEST_REGION}:${TEST_ACCOUNT_ID}:certificate/${uniqueMeshName('cert')}`;
    const meshName = await mesh('acm', {
      front: node(8080, [], {
        listeners: [
          {
            portMapping: { port: 8080, protocol: 'http' },
            tls: { mode: 'STRICT', certificate: { acm: { certificateArn: arn } } },
          },
          { portMapping: { port: 8081, protocol: 'http' } },
        ],
      }),
    });
    sidecar(meshName, 'front');
    await expectReported(meshName, 'certificate-not-imported');
    const imported = await fetch(`${trellis.httpUrl}/v1/certificates`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        certificateArn: arn,
        certificate: readFileSync(path.join(FIXTURES, 'colorteller.pem'), 'utf8'),
        privateKey: readFileSync(path.join(FIXTURES, 'colorteller.key'), 'utf8'),
      }),
    });
    expect(imported.status).toBe(201);
    await expectCleared(meshName, 'certificate-not-imported');
  });

  it('port-conflict: two backends on one TCP port', async () => {
    const meshName = await mesh(
      'ports',
      { front: node(8080, ['a.local', 'b.local']), a: tcpNode('a.local'), b: tcpNode('b.local') },
      { 'a.local': 'a', 'b.local': 'b' },
    );
    sidecar(meshName, 'front');
    await expectReported(meshName, 'port-conflict');
    await trellis.appMesh.send(
      new UpdateVirtualNodeCommand({
        meshName,
        virtualNodeName: 'front',
        spec: node(8080, ['a.local']),
      }),
    );
    await expectCleared(meshName, 'port-conflict');
  });

  /** A mesh whose front node calls api.local, a router with one route `spec`. */
  async function routedMesh(prefix: string, spec: RouteSpec) {
    const meshName = await mesh(prefix, { front: node(8080, ['api.local']), api: node(9090) });
    await trellis.appMesh.send(
      new CreateVirtualRouterCommand({
        meshName,
        virtualRouterName: 'api',
        spec: { listeners: [{ portMapping: { port: 9090, protocol: 'http' } }] },
      }),
    );
    await trellis.appMesh.send(
      new CreateRouteCommand({ meshName, virtualRouterName: 'api', routeName: 'r', spec }),
    );
    await trellis.appMesh.send(
      new CreateVirtualServiceCommand({
        meshName,
        virtualServiceName: 'api.local',
        spec: { provider: { virtualRouter: { virtualRouterName: 'api' } } },
      }),
    );
    return meshName;
  }

  it('ambiguous-spec: a route match with prefix and path', async () => {
    const meshName = await routedMesh(
      'ambiguous',
      route({ prefix: '/a', path: { exact: '/a/b' } }),
    );
    sidecar(meshName, 'front');
    await expectReported(meshName, 'ambiguous-spec');
    await trellis.appMesh.send(
      new UpdateRouteCommand({
        meshName,
        virtualRouterName: 'api',
        routeName: 'r',
        spec: route({ path: { exact: '/a/b' } }),
      }),
    );
    await expectCleared(meshName, 'ambiguous-spec');
  });

  it('invalid-resource: a route Envoy would reject is withheld', async () => {
    const meshName = await routedMesh(
      'invalid',
      route({ prefix: '/', headers: [{ name: 'x-bad\nname', match: { exact: 'a' } }] }),
    );
    sidecar(meshName, 'front');
    await expectReported(meshName, 'invalid-resource');
    await trellis.appMesh.send(
      new UpdateRouteCommand({
        meshName,
        virtualRouterName: 'api',
        routeName: 'r',
        spec: route({ prefix: '/', headers: [{ name: 'x-good', match: { exact: 'a' } }] }),
      }),
    );
    await expectCleared(meshName, 'invalid-resource');
  });

  it('unsupported: a proxyless gRPC client of a backend that requires TLS', async () => {
    const tls = {
      backendDefaults: {
        clientPolicy: { tls: { validation: { trust: { file: { certificateChain: '/ca.pem' } } } } },
      },
    };
    const meshName = await mesh(
      'proxyless',
      // gRPC resolves endpoints from EDS only: the target has an IP address.
      {
        front: node(8080, ['api.local'], tls),
        api: { ...node(9090), serviceDiscovery: { dns: { hostname: '10.0.0.9' } } },
      },
      { 'api.local': 'api' },
    );
    sidecar(meshName, 'front', 'grpc-node-js');
    await expectReported(meshName, 'unsupported');
    await trellis.appMesh.send(
      new UpdateVirtualNodeCommand({
        meshName,
        virtualNodeName: 'front',
        spec: node(8080, ['api.local']),
      }),
    );
    await expectCleared(meshName, 'unsupported');
  });

  it('nack: a proxy rejects its configuration, then accepts the next', async () => {
    const meshName = await mesh('nack', { front: node(8080) });
    const client = new SotwAdsClient(trellis.xds!.port, envoyNode(meshName, 'front'));
    closers.push(() => client.close());
    client.subscribe(LISTENER, []);
    client.nack(await client.next(), 'Proto constraint validation failed (simulated)');
    await expectReported(meshName, 'nack');
    await sendWrite(
      trellis.appMesh,
      new UpdateVirtualNodeCommand({ meshName, virtualNodeName: 'front', spec: node(8081) }),
    );
    client.ack(await client.next());
    await expectCleared(meshName, 'nack');
  });
});
