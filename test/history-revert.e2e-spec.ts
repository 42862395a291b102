import {
  CreateMeshCommand,
  CreateVirtualNodeCommand,
  CreateVirtualServiceCommand,
  DeleteMeshCommand,
  DeleteVirtualNodeCommand,
  DescribeRouteCommand,
  DescribeVirtualNodeCommand,
  ListTagsForResourceCommand,
  TagResourceCommand,
  UntagResourceCommand,
} from '@aws-sdk/client-app-mesh';
import type { Client } from 'pg';
import {
  CI_ACTOR,
  CI_AUTHORIZATION,
  connectSidecar,
  createCanaryMesh,
  egressCluster,
  nodeSpec,
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

interface HistoryEntry {
  revision: number;
  time: string;
  actor: string;
  kind: string;
  name: string;
  parent: string | null;
  resource: string;
  operation: string;
  before: any;
  after: any;
  reason: string | null;
  rolloutId: string | null;
}

interface HistoryPage {
  meshName: string;
  revision: number;
  changes: HistoryEntry[];
  nextToken?: string;
}

interface RevertAnswer {
  meshName: string;
  revertedTo: number;
  revision: number;
  changes: HistoryEntry[];
}

/** What a mesh is, apart from versions and ids: kind, name, spec and tags of every resource. */
async function meshState(db: Client, meshName: string): Promise<unknown[]> {
  const result = await db.query(
    `SELECT kind, parent_name, name, spec::text, tags::text FROM mesh_resource
     WHERE mesh_name = $1 ORDER BY kind, parent_name, name`,
    [meshName],
  );
  return result.rows as unknown[];
}

describe('mesh history and revert', () => {
  let trellis: TestControlPlane;
  const sidecars: SotwAdsClient[] = [];
  beforeAll(async () => {
    trellis = await startTestControlPlane();
  });
  afterAll(async () => {
    for (const sidecar of sidecars) sidecar.close();
    await trellis.close();
  });

  const history = async (meshName: string, query = ''): Promise<HistoryPage> => {
    const response = await fetch(`${trellis.httpUrl}/v1/meshes/${meshName}/history${query}`);
    expect(response.status).toBe(200);
    return (await response.json()) as HistoryPage;
  };

  const revert = (meshName: string, revision: number | string) =>
    fetch(`${trellis.httpUrl}/v1/meshes/${meshName}/revisions/${revision}/revert`, {
      method: 'POST',
      headers: { authorization: CI_AUTHORIZATION },
    });

  const setWeights = async (meshName: string, targets: Record<string, number>) => {
    const response = await putWeights(trellis.httpUrl, meshName, { targets });
    expect(response.status).toBe(200);
    return Number(response.headers.get('x-trellis-mesh-revision'));
  };

  async function expectError(response: Response, status: number, type: string, message: string) {
    expect([response.status, response.headers.get('x-amzn-errortype')]).toEqual([status, type]);
    expect(((await response.json()) as { message: string }).message).toContain(message);
  }

  it('lists every change newest first, with actor, before → after and reason, filtered by resource and paged', async () => {
    const meshName = uniqueMeshName('history');
    await createCanaryMesh(trellis.appMesh, meshName);
    const ninety = await setWeights(meshName, { blue: 90, green: 10 });
    const fifty = await setWeights(meshName, { blue: 50, green: 50 });

    const all = await history(meshName);
    expect(all.revision).toBe(fifty);
    expect(all.changes.map((change) => change.revision)).toEqual(
      [...Array(fifty).keys()].map((i) => fifty - i),
    );
    expect(all.nextToken).toBeUndefined();
    expect(all.changes[0]).toEqual({
      revision: fifty,
      time: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
      actor: CI_ACTOR,
      kind: 'route',
      name: 'canary',
      parent: 'api',
      resource: `mesh/${meshName}/virtualRouter/api/route/canary`,
      operation: 'UPDATE',
      before: expect.objectContaining({ version: 2 }),
      after: expect.objectContaining({ version: 3 }),
      reason: null,
      rolloutId: null,
    });
    expect(all.changes[0]!.before.spec.httpRoute.action.weightedTargets).toEqual([
      { virtualNode: 'blue', weight: 90 },
      { virtualNode: 'green', weight: 10 },
    ]);
    expect(all.changes[0]!.after.spec.httpRoute.action.weightedTargets).toEqual([
      { virtualNode: 'blue', weight: 50 },
      { virtualNode: 'green', weight: 50 },
    ]);
    expect(all.changes.at(-1)).toMatchObject({
      revision: 1,
      kind: 'mesh',
      name: meshName,
      parent: null,
      operation: 'CREATE',
      actor: 'AKIDTESTACTOR', // the SDK client's access key id
      before: null,
    });

    const route = await history(meshName, '?kind=route&parent=api&name=canary');
    expect(route.changes.map((c) => [c.revision, c.operation])).toEqual([
      [fifty, 'UPDATE'],
      [ninety, 'UPDATE'],
      [ninety - 3, 'CREATE'], // then the virtual service and web were created
    ]);

    // Two at a time, following nextToken, gives the same list.
    const paged: number[] = [];
    let token: string | undefined;
    do {
      const page = await history(
        meshName,
        `?limit=2${token ? `&nextToken=${encodeURIComponent(token)}` : ''}`,
      );
      expect(page.changes.length).toBeLessThanOrEqual(2);
      paged.push(...page.changes.map((c) => c.revision));
      token = page.nextToken;
    } while (token);
    expect(paged).toEqual(all.changes.map((c) => c.revision));
  });

  it.each([
    ['?kind=gateway', 400, 'BadRequestException', 'kind: must be one of mesh, virtualNode'],
    ['?limit=0', 400, 'BadRequestException', 'limit: must be an integer from 1 to 100'],
    ['?nextToken=forged', 400, 'BadRequestException', 'nextToken: is not a token'],
  ])('answers history%s with %s %s', async (query, status, type, message) => {
    const meshName = uniqueMeshName('history');
    await trellis.appMesh.send(new CreateMeshCommand({ meshName }));
    await expectError(
      await fetch(`${trellis.httpUrl}/v1/meshes/${meshName}/history${query}`),
      status,
      type,
      message,
    );
  });

  it('answers NotFoundException for the history of a mesh that never existed, and keeps a deleted mesh’s history', async () => {
    await expectError(
      await fetch(`${trellis.httpUrl}/v1/meshes/no-such-mesh-ever/history`),
      404,
      'NotFoundException',
      'Mesh with name no-such-mesh-ever is not present',
    );
    const meshName = uniqueMeshName('history');
    await trellis.appMesh.send(new CreateMeshCommand({ meshName }));
    await trellis.appMesh.send(new DeleteMeshCommand({ meshName }));
    expect((await history(meshName)).changes.map((c) => c.operation)).toEqual(['DELETE', 'CREATE']);
  });

  it('revert to an earlier revision restores the earlier weights, and the sidecar receives them', async () => {
    const meshName = uniqueMeshName('revert');
    await createCanaryMesh(trellis.appMesh, meshName);
    const web = await connectSidecar(trellis.xds!.port, meshName, 'web');
    sidecars.push(web);
    const blue = egressCluster(meshName, 'blue');
    const green = egressCluster(meshName, 'green');
    await receiveWeights(web, { [blue]: 100, [green]: 0 });

    const ninety = await setWeights(meshName, { blue: 90, green: 10 });
    await receiveWeights(web, { [blue]: 90, [green]: 10 });
    const fifty = await setWeights(meshName, { blue: 50, green: 50 });
    await receiveWeights(web, { [blue]: 50, [green]: 50 });

    const response = await revert(meshName, ninety);
    expect(response.status).toBe(200);
    expect(response.headers.get('x-trellis-mesh-revision')).toBe(String(fifty + 1));
    const answer = (await response.json()) as RevertAnswer;
    expect(answer).toMatchObject({ meshName, revertedTo: ninety, revision: fifty + 1 });
    expect(answer.changes).toEqual([
      expect.objectContaining({
        revision: fifty + 1,
        actor: CI_ACTOR,
        kind: 'route',
        name: 'canary',
        parent: 'api',
        operation: 'UPDATE',
        reason: `revert to revision ${ninety}`,
      }),
    ]);

    // The route is back at 90/10, as a new version; the sidecar gets it.
    const { route } = await trellis.appMesh.send(
      new DescribeRouteCommand({ meshName, virtualRouterName: 'api', routeName: 'canary' }),
    );
    expect(route?.spec?.httpRoute?.action?.weightedTargets).toEqual([
      { virtualNode: 'blue', weight: 90 },
      { virtualNode: 'green', weight: 10 },
    ]);
    expect(route?.metadata?.version).toBe(4);
    await receiveWeights(web, { [blue]: 90, [green]: 10 });

    // History shows the revert with its reason.
    expect((await history(meshName, '?limit=1')).changes[0]).toMatchObject({
      revision: fifty + 1,
      reason: `revert to revision ${ninety}`,
    });
    // Reverting to the current revision has nothing to do.
    const noop = await revert(meshName, fifty + 1);
    expect(noop.headers.get('x-trellis-mesh-revision')).toBe(String(fifty + 1));
    expect(((await noop.json()) as RevertAnswer).changes).toEqual([]);
  });

  it('revert re-creates deleted resources, deletes newer ones and restores tags and tracing, in a safe order', async () => {
    const meshName = uniqueMeshName('revert');
    await createCanaryMesh(trellis.appMesh, meshName);
    const { virtualNode: blueNode } = await trellis.appMesh.send(
      new DescribeVirtualNodeCommand({ meshName, virtualNodeName: 'blue' }),
    );
    const blueArn = blueNode!.metadata!.arn!;
    await trellis.appMesh.send(
      new TagResourceCommand({ resourceArn: blueArn, tags: [{ key: 'team', value: 'core' }] }),
    );
    await setWeights(meshName, { blue: 90, green: 10 });
    const good = await meshRevision(trellis.db, meshName);
    const goodState = await meshState(trellis.db, meshName);

    // After the good revision: a new node takes green's traffic, green is deleted, a new
    // service uses the router, blue loses its tag, tracing is switched on.
    await trellis.appMesh.send(
      new CreateVirtualNodeCommand({
        meshName,
        virtualNodeName: 'purple',
        spec: nodeSpec('10.0.0.4'),
      }),
    );
    await setWeights(meshName, { blue: 50, purple: 50 });
    await trellis.appMesh.send(
      new DeleteVirtualNodeCommand({ meshName, virtualNodeName: 'green' }),
    );
    await trellis.appMesh.send(
      new CreateVirtualServiceCommand({
        meshName,
        virtualServiceName: 'extra.internal',
        spec: { provider: { virtualRouter: { virtualRouterName: 'api' } } },
      }),
    );
    await trellis.appMesh.send(
      new UntagResourceCommand({ resourceArn: blueArn, tagKeys: ['team'] }),
    );
    await fetch(`${trellis.httpUrl}/v1/meshes/${meshName}/tracing`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ enabled: true }),
    });
    const latest = await meshRevision(trellis.db, meshName);

    const response = await revert(meshName, good);
    expect(response.status).toBe(200);
    const answer = (await response.json()) as RevertAnswer;
    // Nodes before the route that targets them; the service and purple only after the route
    // stopped using purple. One revision per resource written.
    expect(answer.changes.map((c) => [c.revision, c.operation, c.kind, c.parent, c.name])).toEqual([
      [latest + 1, 'TRACING', 'mesh', null, meshName],
      [latest + 2, 'TAG', 'virtualNode', null, 'blue'],
      [latest + 3, 'CREATE', 'virtualNode', null, 'green'],
      [latest + 4, 'UPDATE', 'route', 'api', 'canary'],
      [latest + 5, 'DELETE', 'virtualService', null, 'extra.internal'],
      [latest + 6, 'DELETE', 'virtualNode', null, 'purple'],
    ]);
    expect(new Set(answer.changes.map((c) => c.reason))).toEqual(
      new Set([`revert to revision ${good}`]),
    );
    expect(response.headers.get('x-trellis-mesh-revision')).toBe(String(latest + 6));

    // The mesh is what it was at the good revision: specs and tags of every resource.
    expect(await meshState(trellis.db, meshName)).toEqual(goodState);
    const { tags } = await trellis.appMesh.send(
      new ListTagsForResourceCommand({ resourceArn: blueArn }),
    );
    expect(tags).toEqual([{ key: 'team', value: 'core' }]);
    const { virtualNode: green } = await trellis.appMesh.send(
      new DescribeVirtualNodeCommand({ meshName, virtualNodeName: 'green' }),
    );
    expect(green?.metadata?.version).toBe(1);
    expect(await (await fetch(`${trellis.httpUrl}/v1/meshes/${meshName}/tracing`)).json()).toEqual({
      meshName,
      tracing: {},
    });
  });

  it('refuses a revert that cannot be done with a clear error, and changes nothing', async () => {
    const meshName = uniqueMeshName('revert');
    await createCanaryMesh(trellis.appMesh, meshName);
    const current = await meshRevision(trellis.db, meshName);
    const before = await meshContents(trellis.db, meshName);

    await expectError(
      await revert(meshName, current + 5),
      400,
      'BadRequestException',
      `revision: ${current + 5} is ahead of mesh ${meshName}'s current revision ${current}`,
    );
    await expectError(
      await revert(meshName, 0),
      400,
      'BadRequestException',
      `revision: mesh ${meshName} was created at revision 1; it has no state at revision 0`,
    );
    await expectError(
      await revert(meshName, 'latest'),
      400,
      'BadRequestException',
      'revision: must be a non-negative integer, got latest',
    );
    await expectError(
      await revert('no-such-mesh-ever', 1),
      404,
      'NotFoundException',
      'Mesh with name no-such-mesh-ever is not present',
    );
    expect(await meshContents(trellis.db, meshName)).toEqual(before);
  });

  it('refuses to revert across a deletion and re-creation of the mesh', async () => {
    const meshName = uniqueMeshName('revert');
    await trellis.appMesh.send(new CreateMeshCommand({ meshName }));
    await trellis.appMesh.send(new DeleteMeshCommand({ meshName }));
    await trellis.appMesh.send(new CreateMeshCommand({ meshName }));
    await expectError(
      await revert(meshName, 1),
      400,
      'BadRequestException',
      `revision: mesh ${meshName} was created at revision 3; it has no state at revision 1`,
    );
  });

  it('refuses with ConflictException, naming the resource, when history no longer matches the mesh, and changes nothing', async () => {
    const meshName = uniqueMeshName('revert');
    await createCanaryMesh(trellis.appMesh, meshName);
    const good = await setWeights(meshName, { blue: 90, green: 10 });
    await setWeights(meshName, { blue: 100 });
    await trellis.appMesh.send(
      new DeleteVirtualNodeCommand({ meshName, virtualNodeName: 'green' }),
    );
    // An operator removes green's deletion from the change log by hand: the revert can no
    // longer know to re-create green, and restoring the route would target a missing node.
    await trellis.db.query(
      `DELETE FROM change_log WHERE mesh_name = $1 AND kind = 'virtualNode' AND name = 'green' AND operation = 'DELETE'`,
      [meshName],
    );
    const before = await meshContents(trellis.db, meshName);
    await expectError(
      await revert(meshName, good),
      409,
      'ConflictException',
      `Cannot revert mesh ${meshName} to revision ${good}: Route api/canary: spec.httpRoute.action.weightedTargets[1].virtualNode names VirtualNode green, which would not exist`,
    );
    expect(await meshContents(trellis.db, meshName)).toEqual(before);
  });
});
