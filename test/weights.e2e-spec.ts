import { DescribeRouteCommand } from '@aws-sdk/client-app-mesh';
import {
  CI_ACTOR,
  connectSidecar,
  createCanaryMesh,
  EGRESS_ROUTES,
  egressCluster,
  putWeights,
  receiveWeights,
} from './support/canary-mesh';
import {
  meshContents,
  meshRevision,
  startTestControlPlane,
  uniqueMeshName,
  type TestControlPlane,
} from './support/control-plane';
import type { SotwAdsClient } from './support/xds';

interface RouteData {
  spec: { httpRoute: { action: { weightedTargets: unknown[] } } & Record<string, unknown> };
  metadata: { version: number };
}

/** A CI script shifting canary traffic with `PUT /v1/.../routes/{route}/weights`. */
describe('route weights', () => {
  let trellis: TestControlPlane;
  const sidecars: SotwAdsClient[] = [];
  beforeAll(async () => {
    trellis = await startTestControlPlane();
  });
  afterAll(async () => {
    for (const sidecar of sidecars) sidecar.close();
    await trellis.close();
  });

  async function canaryMesh(): Promise<string> {
    const meshName = uniqueMeshName('weights');
    await createCanaryMesh(trellis.appMesh, meshName);
    return meshName;
  }

  const describeRoute = (meshName: string) =>
    trellis.appMesh.send(
      new DescribeRouteCommand({ meshName, virtualRouterName: 'api', routeName: 'canary' }),
    );

  async function expectError(response: Response, status: number, type: string, message: string) {
    expect([response.status, response.headers.get('x-amzn-errortype')]).toEqual([status, type]);
    expect(((await response.json()) as { message: string }).message).toContain(message);
  }

  it('shifts traffic: the route keeps its spec but the targets, the sidecar gets the weights, and the same call again changes nothing', async () => {
    const meshName = await canaryMesh();
    const web = await connectSidecar(trellis.xds!.port, meshName, 'web');
    sidecars.push(web);
    await receiveWeights(web, {
      [egressCluster(meshName, 'blue')]: 100,
      [egressCluster(meshName, 'green')]: 0,
    });
    const revisionBefore = await meshRevision(trellis.db, meshName);

    const response = await putWeights(trellis.httpUrl, meshName, {
      targets: { blue: 90, green: 10 },
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('x-trellis-mesh-revision')).toBe(String(revisionBefore + 1));
    expect(response.headers.get('etag')).toBe('"2"');
    const route = (await response.json()) as RouteData;
    const spec = {
      httpRoute: {
        match: { prefix: '/' },
        action: {
          weightedTargets: [
            { virtualNode: 'blue', weight: 90 },
            { virtualNode: 'green', weight: 10 },
          ],
        },
        retryPolicy: {
          maxRetries: 2,
          perRetryTimeout: { unit: 'ms', value: 250 },
          httpRetryEvents: ['gateway-error'],
        },
      },
    };
    expect(route).toMatchObject({
      meshName,
      virtualRouterName: 'api',
      routeName: 'canary',
      spec,
      metadata: { version: 2 },
      status: { status: 'ACTIVE' },
    });
    // What SDK clients Describe is the same valid App Mesh spec.
    const described = await describeRoute(meshName);
    expect(described.route?.spec).toEqual(spec);
    expect(described.route?.metadata?.version).toBe(2);

    const change = await trellis.db.query(
      `SELECT kind, parent_name, name, operation, actor, before, after, reason
       FROM change_log WHERE mesh_name = $1 AND revision = $2`,
      [meshName, revisionBefore + 1],
    );
    expect(change.rows).toEqual([
      {
        kind: 'route',
        parent_name: 'api',
        name: 'canary',
        operation: 'UPDATE',
        actor: CI_ACTOR,
        before: expect.objectContaining({ version: 1 }),
        after: { spec, tags: [], version: 2 },
        reason: null,
      },
    ]);

    await receiveWeights(web, {
      [egressCluster(meshName, 'blue')]: 90,
      [egressCluster(meshName, 'green')]: 10,
    });

    // The same body again (targets in another order): no write, no revision, same answer.
    const stored = await meshContents(trellis.db, meshName);
    const again = await putWeights(trellis.httpUrl, meshName, {
      targets: { green: 10, blue: 90 },
    });
    expect(again.status).toBe(200);
    expect(again.headers.get('x-trellis-mesh-revision')).toBe(String(revisionBefore + 1));
    expect(((await again.json()) as RouteData).metadata.version).toBe(2);
    expect(await meshContents(trellis.db, meshName)).toEqual(stored);
  });

  it('stores decimal percentages as the smallest whole-number ratio, and refuses ratios App Mesh cannot store', async () => {
    const meshName = await canaryMesh();
    const response = await putWeights(trellis.httpUrl, meshName, {
      targets: { blue: 87.5, green: 12.5 },
      reason: 'canary at 12.5 %',
    });
    expect(response.status).toBe(200);
    expect((await describeRoute(meshName)).route?.spec?.httpRoute?.action?.weightedTargets).toEqual(
      [
        { virtualNode: 'blue', weight: 7 },
        { virtualNode: 'green', weight: 1 },
      ],
    );
    const reason = await trellis.db.query(
      'SELECT reason FROM change_log WHERE mesh_name = $1 ORDER BY revision DESC LIMIT 1',
      [meshName],
    );
    expect(reason.rows).toEqual([{ reason: 'canary at 12.5 %' }]);

    const before = await meshContents(trellis.db, meshName);
    await expectError(
      await putWeights(trellis.httpUrl, meshName, { targets: { blue: 99.9, green: 0.1 } }),
      400,
      'BadRequestException',
      'targets: blue=99.9, green=0.1 cannot be stored exactly as App Mesh weights',
    );
    expect(await meshContents(trellis.db, meshName)).toEqual(before);
  });

  it('answers 412 PreconditionFailedException for a stale If-Match and writes nothing', async () => {
    const meshName = await canaryMesh();
    const first = await putWeights(
      trellis.httpUrl,
      meshName,
      { targets: { blue: 80, green: 20 } },
      { headers: { 'if-match': '"1"' } },
    );
    expect(first.status).toBe(200);
    const etag = first.headers.get('etag')!;
    expect(etag).toBe('"2"');

    const before = await meshContents(trellis.db, meshName);
    await expectError(
      await putWeights(
        trellis.httpUrl,
        meshName,
        { targets: { blue: 50, green: 50 } },
        { headers: { 'if-match': '"1"' } },
      ),
      412,
      'PreconditionFailedException',
      'Route canary is at version 2, not 1',
    );
    expect(await meshContents(trellis.db, meshName)).toEqual(before);

    const current = await putWeights(
      trellis.httpUrl,
      meshName,
      { targets: { blue: 50, green: 50 } },
      { headers: { 'if-match': etag } },
    );
    expect(current.status).toBe(200);
    expect(((await current.json()) as RouteData).metadata.version).toBe(3);
  });

  it.each([
    [
      'a target that is not a virtual node of the mesh',
      { targets: { blue: 50, purple: 50 } },
      {},
      404,
      'NotFoundException',
      'targets.purple: VirtualNode with name purple is not present under mesh',
    ],
    [
      'a route that does not exist',
      { targets: { blue: 100 } },
      { route: 'no-such-route' },
      404,
      'NotFoundException',
      'Route with name no-such-route is not present under virtual router api',
    ],
    [
      'weights that add up to 0',
      { targets: { blue: 0, green: 0 } },
      {},
      400,
      'BadRequestException',
      'targets: the weights must add up to more than 0',
    ],
    [
      'eleven targets',
      { targets: Object.fromEntries([...Array(11).keys()].map((i) => [`n${i}`, 1])) },
      {},
      400,
      'BadRequestException',
      'targets: must name 1 to 10 virtual nodes, got 11',
    ],
    [
      'a negative weight',
      { targets: { blue: 110, green: -10 } },
      {},
      400,
      'BadRequestException',
      'targets.green: must be from 0 to 100, got -10',
    ],
    [
      'an If-Match that is no version',
      { targets: { blue: 100 } },
      { headers: { 'if-match': 'yesterday' } },
      400,
      'BadRequestException',
      "If-Match: must be the route's version",
    ],
  ])('refuses %s and changes nothing', async (_case, body, options, status, type, message) => {
    const meshName = await canaryMesh();
    const before = await meshContents(trellis.db, meshName);
    await expectError(
      await putWeights(trellis.httpUrl, meshName, body, options),
      status,
      type,
      message,
    );
    expect(await meshContents(trellis.db, meshName)).toEqual(before);
  });

  it('dry run: answers the route and the client sidecars’ route configuration before and after, and writes nothing', async () => {
    const meshName = await canaryMesh();
    const before = await meshContents(trellis.db, meshName);
    const revision = await meshRevision(trellis.db, meshName);

    const response = await putWeights(
      trellis.httpUrl,
      meshName,
      { targets: { blue: 75, green: 25 } },
      { query: '?dryRun=true' },
    );
    expect(response.status).toBe(200);
    expect(response.headers.get('x-trellis-mesh-revision')).toBe(String(revision));
    const preview = (await response.json()) as {
      revision: number;
      changed: boolean;
      before: RouteData;
      after: RouteData;
      routeConfigurations: Array<{
        name: string;
        virtualNodes: string[];
        before: Record<string, unknown>;
        after: Record<string, unknown>;
      }>;
    };
    expect(preview).toMatchObject({
      revision,
      changed: true,
      before: { metadata: { version: 1 } },
      after: { metadata: { version: 2 } },
    });
    expect(preview.after.spec.httpRoute.action.weightedTargets).toEqual([
      { virtualNode: 'blue', weight: 75 },
      { virtualNode: 'green', weight: 25 },
    ]);
    expect(
      preview.routeConfigurations.map(({ name, virtualNodes }) => ({ name, virtualNodes })),
    ).toEqual([{ name: EGRESS_ROUTES, virtualNodes: ['web'] }]);
    // Envoy's RouteConfiguration in proto3 JSON, as a sidecar of web would receive it.
    const [config] = preview.routeConfigurations;
    const weighted = (json: Record<string, unknown>): unknown =>
      (json as any).virtualHosts[0].routes[0].route.weightedClusters.clusters;
    expect(config!.before).toMatchObject({
      name: EGRESS_ROUTES,
      virtualHosts: [{ name: 'api.internal', domains: ['api.internal', 'api.internal:8080'] }],
    });
    expect(weighted(config!.before)).toEqual([
      { name: egressCluster(meshName, 'blue'), weight: 100 },
      { name: egressCluster(meshName, 'green'), weight: 0 },
    ]);
    expect(weighted(config!.after)).toEqual([
      { name: egressCluster(meshName, 'blue'), weight: 75 },
      { name: egressCluster(meshName, 'green'), weight: 25 },
    ]);
    expect(await meshContents(trellis.db, meshName)).toEqual(before);

    // A dry run of the weights the route already has: nothing would change.
    const same = await putWeights(
      trellis.httpUrl,
      meshName,
      { targets: { blue: 100, green: 0 } },
      { query: '?dryRun=true' },
    );
    const unchanged = (await same.json()) as typeof preview;
    expect(unchanged.changed).toBe(false);
    expect(unchanged.after.metadata.version).toBe(1);
    expect(unchanged.routeConfigurations[0]!.after).toEqual(
      unchanged.routeConfigurations[0]!.before,
    );
  });
});
