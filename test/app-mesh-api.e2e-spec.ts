import {
  CreateMeshCommand,
  CreateRouteCommand,
  CreateVirtualNodeCommand,
  CreateVirtualRouterCommand,
  CreateVirtualServiceCommand,
  DeleteMeshCommand,
  DeleteRouteCommand,
  DeleteVirtualNodeCommand,
  DeleteVirtualRouterCommand,
  DeleteVirtualServiceCommand,
  DescribeMeshCommand,
  DescribeRouteCommand,
  DescribeVirtualNodeCommand,
  DescribeVirtualRouterCommand,
  DescribeVirtualServiceCommand,
  ListMeshesCommand,
  ListRoutesCommand,
  ListTagsForResourceCommand,
  ListVirtualNodesCommand,
  ListVirtualRoutersCommand,
  ListVirtualServicesCommand,
  NotFoundException,
  TagResourceCommand,
  UntagResourceCommand,
  UpdateMeshCommand,
  UpdateRouteCommand,
  UpdateVirtualNodeCommand,
  UpdateVirtualRouterCommand,
  UpdateVirtualServiceCommand,
  paginateListMeshes,
  paginateListVirtualNodes,
  type VirtualNodeSpec,
} from '@aws-sdk/client-app-mesh';
import {
  startTestControlPlane,
  TEST_ACCOUNT_ID,
  TEST_REGION,
  uniqueMeshName,
  type TestControlPlane,
} from './support/control-plane';

const nodeSpec = (port: number): VirtualNodeSpec => ({
  listeners: [
    {
      portMapping: { port, protocol: 'http' },
      healthCheck: {
        protocol: 'http',
        path: '/ping',
        healthyThreshold: 2,
        unhealthyThreshold: 3,
        intervalMillis: 5000,
        timeoutMillis: 2000,
      },
    },
  ],
  serviceDiscovery: { dns: { hostname: 'app.example.internal' } },
  backends: [{ virtualService: { virtualServiceName: 'later.example.internal' } }],
});

describe('App Mesh API through @aws-sdk/client-app-mesh', () => {
  let trellis: TestControlPlane;
  beforeAll(async () => {
    trellis = await startTestControlPlane();
  });
  afterAll(() => trellis.close());

  it('creates, describes, updates, lists and deletes a whole mesh', async () => {
    const { appMesh } = trellis;
    const meshName = uniqueMeshName('story');
    const arnPrefix = `arn:aws:appmesh:${TEST_REGION}:${TEST_ACCOUNT_ID}:mesh/${meshName}`;

    const { mesh } = await appMesh.send(new CreateMeshCommand({ meshName }));
    expect(mesh).toMatchObject({
      meshName,
      spec: {},
      status: { status: 'ACTIVE' },
      metadata: {
        arn: arnPrefix,
        version: 1,
        meshOwner: TEST_ACCOUNT_ID,
        resourceOwner: TEST_ACCOUNT_ID,
      },
    });
    expect(mesh!.metadata!.uid).toMatch(/^[0-9a-f-]{36}$/);
    expect(mesh!.metadata!.createdAt).toBeInstanceOf(Date);
    expect(Math.abs(mesh!.metadata!.createdAt!.getTime() - Date.now())).toBeLessThan(60_000);

    const updatedMesh = await appMesh.send(
      new UpdateMeshCommand({ meshName, spec: { egressFilter: { type: 'ALLOW_ALL' } } }),
    );
    expect(updatedMesh.mesh).toMatchObject({
      spec: { egressFilter: { type: 'ALLOW_ALL' } },
      metadata: { version: 2 },
    });
    expect(updatedMesh.mesh!.metadata!.lastUpdatedAt!.getTime()).toBeGreaterThanOrEqual(
      mesh!.metadata!.lastUpdatedAt!.getTime(),
    );
    expect(
      (await appMesh.send(new DescribeMeshCommand({ meshName, meshOwner: TEST_ACCOUNT_ID }))).mesh,
    ).toEqual(updatedMesh.mesh);

    // Virtual nodes: the spec comes back exactly as sent, the version counts updates.
    const created = await appMesh.send(
      new CreateVirtualNodeCommand({ meshName, virtualNodeName: 'blue', spec: nodeSpec(8080) }),
    );
    expect(created.virtualNode).toMatchObject({
      meshName,
      virtualNodeName: 'blue',
      spec: nodeSpec(8080),
      status: { status: 'ACTIVE' },
      metadata: { arn: `${arnPrefix}/virtualNode/blue`, version: 1 },
    });
    await appMesh.send(
      new CreateVirtualNodeCommand({ meshName, virtualNodeName: 'green', spec: nodeSpec(8080) }),
    );
    const updatedNode = await appMesh.send(
      new UpdateVirtualNodeCommand({ meshName, virtualNodeName: 'blue', spec: nodeSpec(9090) }),
    );
    expect(updatedNode.virtualNode!.metadata).toMatchObject({
      version: 2,
      uid: created.virtualNode!.metadata!.uid,
    });
    expect(updatedNode.virtualNode!.metadata!.lastUpdatedAt!.getTime()).toBeGreaterThan(
      created.virtualNode!.metadata!.lastUpdatedAt!.getTime(),
    );
    expect(
      (await appMesh.send(new DescribeVirtualNodeCommand({ meshName, virtualNodeName: 'blue' })))
        .virtualNode!.spec,
    ).toEqual(nodeSpec(9090));

    // Router, route with weighted targets, service provided by the router.
    const router = await appMesh.send(
      new CreateVirtualRouterCommand({
        meshName,
        virtualRouterName: 'web',
        spec: { listeners: [{ portMapping: { port: 8080, protocol: 'http' } }] },
      }),
    );
    expect(router.virtualRouter!.metadata!.arn).toBe(`${arnPrefix}/virtualRouter/web`);
    await appMesh.send(
      new UpdateVirtualRouterCommand({
        meshName,
        virtualRouterName: 'web',
        spec: { listeners: [{ portMapping: { port: 80, protocol: 'http' } }] },
      }),
    );
    const weights = (blue: number) => ({
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
    const route = await appMesh.send(
      new CreateRouteCommand({
        meshName,
        virtualRouterName: 'web',
        routeName: 'canary',
        spec: weights(100),
      }),
    );
    expect(route.route).toMatchObject({
      meshName,
      virtualRouterName: 'web',
      routeName: 'canary',
      metadata: { arn: `${arnPrefix}/virtualRouter/web/route/canary`, version: 1 },
    });
    await appMesh.send(
      new UpdateRouteCommand({
        meshName,
        virtualRouterName: 'web',
        routeName: 'canary',
        spec: weights(90),
      }),
    );
    const described = await appMesh.send(
      new DescribeRouteCommand({ meshName, virtualRouterName: 'web', routeName: 'canary' }),
    );
    expect(described.route!.spec).toEqual(weights(90));
    expect(described.route!.metadata!.version).toBe(2);

    const service = await appMesh.send(
      new CreateVirtualServiceCommand({
        meshName,
        virtualServiceName: 'web.example.internal',
        spec: { provider: { virtualRouter: { virtualRouterName: 'web' } } },
      }),
    );
    expect(service.virtualService!.metadata!.arn).toBe(
      `${arnPrefix}/virtualService/web.example.internal`,
    );
    await appMesh.send(
      new UpdateVirtualServiceCommand({
        meshName,
        virtualServiceName: 'web.example.internal',
        spec: { provider: { virtualNode: { virtualNodeName: 'blue' } } },
      }),
    );
    expect(
      (
        await appMesh.send(
          new DescribeVirtualServiceCommand({
            meshName,
            virtualServiceName: 'web.example.internal',
          }),
        )
      ).virtualService!.metadata!.version,
    ).toBe(2);
    expect(
      (await appMesh.send(new DescribeVirtualRouterCommand({ meshName, virtualRouterName: 'web' })))
        .virtualRouter!.spec,
    ).toEqual({ listeners: [{ portMapping: { port: 80, protocol: 'http' } }] });

    // Lists carry the Ref metadata.
    const nodes = await appMesh.send(new ListVirtualNodesCommand({ meshName }));
    expect(nodes.virtualNodes!.map((n) => n.virtualNodeName)).toEqual(['blue', 'green']);
    expect(nodes.virtualNodes![0]).toMatchObject({
      meshName,
      meshOwner: TEST_ACCOUNT_ID,
      resourceOwner: TEST_ACCOUNT_ID,
      arn: `${arnPrefix}/virtualNode/blue`,
      version: 2,
    });
    expect(nodes.nextToken).toBeUndefined();
    expect(
      (await appMesh.send(new ListVirtualRoutersCommand({ meshName }))).virtualRouters!.map(
        (r) => r.virtualRouterName,
      ),
    ).toEqual(['web']);
    expect(
      (
        await appMesh.send(new ListRoutesCommand({ meshName, virtualRouterName: 'web' }))
      ).routes!.map((r) => [r.virtualRouterName, r.routeName]),
    ).toEqual([['web', 'canary']]);
    expect(
      (await appMesh.send(new ListVirtualServicesCommand({ meshName }))).virtualServices!.map(
        (s) => s.virtualServiceName,
      ),
    ).toEqual(['web.example.internal']);
    // Every suite's meshes share the database: ours may be past the first page.
    const listed = [];
    for await (const page of paginateListMeshes({ client: appMesh }, {})) {
      listed.push(...page.meshes!);
    }
    expect(listed.some((m) => m.meshName === meshName && m.arn === arnPrefix)).toBe(true);

    // Deletes answer the object with status DELETED, in dependency order.
    const deletedService = await appMesh.send(
      new DeleteVirtualServiceCommand({ meshName, virtualServiceName: 'web.example.internal' }),
    );
    expect(deletedService.virtualService!.status!.status).toBe('DELETED');
    const deletedRoute = await appMesh.send(
      new DeleteRouteCommand({ meshName, virtualRouterName: 'web', routeName: 'canary' }),
    );
    expect(deletedRoute.route).toMatchObject({
      routeName: 'canary',
      status: { status: 'DELETED' },
      metadata: { version: 2 },
    });
    await expect(
      appMesh.send(
        new DescribeRouteCommand({ meshName, virtualRouterName: 'web', routeName: 'canary' }),
      ),
    ).rejects.toBeInstanceOf(NotFoundException);
    expect(
      (await appMesh.send(new DeleteVirtualRouterCommand({ meshName, virtualRouterName: 'web' })))
        .virtualRouter!.status!.status,
    ).toBe('DELETED');
    for (const virtualNodeName of ['blue', 'green']) {
      const deleted = await appMesh.send(
        new DeleteVirtualNodeCommand({ meshName, virtualNodeName }),
      );
      expect(deleted.virtualNode).toMatchObject({ virtualNodeName, status: { status: 'DELETED' } });
    }
    const deletedMesh = await appMesh.send(new DeleteMeshCommand({ meshName }));
    expect(deletedMesh.mesh).toMatchObject({
      meshName,
      status: { status: 'DELETED' },
      metadata: { version: 2 },
    });
    await expect(appMesh.send(new DescribeMeshCommand({ meshName }))).rejects.toThrow(
      `Mesh with name ${meshName} is not present`,
    );
  });

  it('returns specs byte for byte as sent: no defaults added, no keys reordered', async () => {
    const meshName = uniqueMeshName('verbatim');
    await trellis.appMesh.send(new CreateMeshCommand({ meshName }));
    // Keys deliberately out of alphabetical and model order.
    const spec = {
      serviceDiscovery: { dns: { responseType: 'ENDPOINTS', hostname: 'z.internal' } },
      listeners: [
        {
          timeout: { http: { perRequest: { value: 15, unit: 's' } } },
          portMapping: { protocol: 'http', port: 9000 },
        },
      ],
    };
    const url = `${trellis.httpUrl}/v20190125/meshes/${meshName}/virtualNodes`;
    const created = await fetch(url, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ virtualNodeName: 'z', spec }),
    });
    expect(JSON.stringify(((await created.json()) as { spec: unknown }).spec)).toBe(
      JSON.stringify(spec),
    );
    const described = await fetch(`${url}/z`);
    expect(JSON.stringify(((await described.json()) as { spec: unknown }).spec)).toBe(
      JSON.stringify(spec),
    );
  });

  it('walks every item with limit=1 pagination', async () => {
    const { appMesh } = trellis;
    const meshName = uniqueMeshName('pages');
    await appMesh.send(new CreateMeshCommand({ meshName }));
    const names = ['n1', 'n2', 'n3', 'n4', 'n5'];
    for (const virtualNodeName of [...names].reverse()) {
      await appMesh.send(new CreateVirtualNodeCommand({ meshName, virtualNodeName, spec: {} }));
    }
    const first = await appMesh.send(new ListVirtualNodesCommand({ meshName, limit: 1 }));
    expect(first.virtualNodes).toHaveLength(1);
    expect(first.nextToken).toEqual(expect.any(String));

    const seen: string[] = [];
    let pages = 0;
    for await (const page of paginateListVirtualNodes(
      { client: appMesh, pageSize: 1 },
      { meshName },
    )) {
      pages += 1;
      seen.push(...page.virtualNodes!.map((node) => node.virtualNodeName!));
    }
    expect(seen).toEqual(names);
    expect(pages).toBe(5);

    // Meshes paginate the same way; ours is somewhere in the walk.
    const meshNames: string[] = [];
    let nextToken: string | undefined;
    do {
      const page = await appMesh.send(new ListMeshesCommand({ limit: 1, nextToken }));
      expect(page.meshes!.length).toBeLessThanOrEqual(1);
      meshNames.push(...page.meshes!.map((mesh) => mesh.meshName!));
      nextToken = page.nextToken;
    } while (nextToken);
    expect(meshNames).toContain(meshName);
    expect(new Set(meshNames).size).toBe(meshNames.length);
  });

  it('merges tags, untags and lists them by ARN with pagination', async () => {
    const { appMesh } = trellis;
    const meshName = uniqueMeshName('tags');
    await appMesh.send(
      new CreateMeshCommand({ meshName, tags: [{ key: 'team', value: 'payments' }] }),
    );
    const { virtualNode } = await appMesh.send(
      new CreateVirtualNodeCommand({
        meshName,
        virtualNodeName: 'api',
        spec: {},
        tags: [{ key: 'env', value: 'dev' }],
      }),
    );
    const resourceArn = virtualNode!.metadata!.arn!;

    await appMesh.send(
      new TagResourceCommand({
        resourceArn,
        tags: [
          { key: 'env', value: 'prod' },
          { key: 'owner', value: 'sre' },
        ],
      }),
    );
    const tagged = await appMesh.send(new ListTagsForResourceCommand({ resourceArn }));
    expect(tagged.tags).toEqual([
      { key: 'env', value: 'prod' },
      { key: 'owner', value: 'sre' },
    ]);

    const firstPage = await appMesh.send(new ListTagsForResourceCommand({ resourceArn, limit: 1 }));
    expect(firstPage.tags).toEqual([{ key: 'env', value: 'prod' }]);
    const secondPage = await appMesh.send(
      new ListTagsForResourceCommand({ resourceArn, limit: 1, nextToken: firstPage.nextToken }),
    );
    expect(secondPage.tags).toEqual([{ key: 'owner', value: 'sre' }]);
    expect(secondPage.nextToken).toBeUndefined();

    await appMesh.send(new UntagResourceCommand({ resourceArn, tagKeys: ['env'] }));
    expect((await appMesh.send(new ListTagsForResourceCommand({ resourceArn }))).tags).toEqual([
      { key: 'owner', value: 'sre' },
    ]);
    // Tagging does not touch the resource's version.
    expect(
      (await appMesh.send(new DescribeVirtualNodeCommand({ meshName, virtualNodeName: 'api' })))
        .virtualNode!.metadata!.version,
    ).toBe(1);
    const meshTags = await appMesh.send(
      new ListTagsForResourceCommand({
        resourceArn: `arn:aws:appmesh:${TEST_REGION}:${TEST_ACCOUNT_ID}:mesh/${meshName}`,
      }),
    );
    expect(meshTags.tags).toEqual([{ key: 'team', value: 'payments' }]);
  });

  it('records every write in the change log with the SigV4 access key as actor, and answers the revision', async () => {
    const { appMesh, db } = trellis;
    const meshName = uniqueMeshName('changes');
    await appMesh.send(new CreateMeshCommand({ meshName }));
    await appMesh.send(new CreateVirtualNodeCommand({ meshName, virtualNodeName: 'a', spec: {} }));
    await appMesh.send(
      new UpdateVirtualNodeCommand({
        meshName,
        virtualNodeName: 'a',
        spec: { serviceDiscovery: { dns: { hostname: 'a' } } },
      }),
    );
    await appMesh.send(new DeleteVirtualNodeCommand({ meshName, virtualNodeName: 'a' }));

    const rows = await db.query<{
      revision: number;
      kind: string;
      name: string;
      operation: string;
      actor: string;
      before: string;
      after: string | null;
    }>(
      `SELECT revision::int, kind, name, operation, actor, before::text, after::text FROM change_log
       WHERE mesh_name = $1 ORDER BY revision`,
      [meshName],
    );
    expect(rows.rows.map((r) => [r.revision, r.kind, r.name, r.operation, r.actor])).toEqual([
      [1, 'mesh', meshName, 'CREATE', 'AKIDTESTACTOR'],
      [2, 'virtualNode', 'a', 'CREATE', 'AKIDTESTACTOR'],
      [3, 'virtualNode', 'a', 'UPDATE', 'AKIDTESTACTOR'],
      [4, 'virtualNode', 'a', 'DELETE', 'AKIDTESTACTOR'],
    ]);
    expect(JSON.parse(rows.rows[2]!.before).spec).toEqual({});
    expect(JSON.parse(rows.rows[2]!.after!).spec).toEqual({
      serviceDiscovery: { dns: { hostname: 'a' } },
    });
    expect(rows.rows[3]!.after).toBeNull();

    const response = await fetch(`${trellis.httpUrl}/v20190125/meshes/${meshName}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ spec: {} }),
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('x-trellis-mesh-revision')).toBe('5');
  });

  it('delivers a NOTIFY with mesh and revision when a write commits', async () => {
    const { appMesh, db } = trellis;
    const meshName = uniqueMeshName('notify');
    const notifications: unknown[] = [];
    db.on('notification', (message) => notifications.push(JSON.parse(message.payload!)));
    await db.query('LISTEN trellis_mesh_changes');
    await appMesh.send(new CreateMeshCommand({ meshName }));
    await appMesh.send(new UpdateMeshCommand({ meshName, spec: {} }));
    await waitFor(
      () => notifications.filter((n) => (n as { mesh: string }).mesh === meshName).length === 2,
    );
    expect(notifications.filter((n) => (n as { mesh: string }).mesh === meshName)).toEqual([
      { mesh: meshName, revision: 1 },
      { mesh: meshName, revision: 2 },
    ]);
    await db.query('UNLISTEN trellis_mesh_changes');
  });
});

async function waitFor(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setImmediate(resolve));
  }
}
