import {
  ConflictException,
  CreateMeshCommand,
  CreateRouteCommand,
  CreateVirtualNodeCommand,
  CreateVirtualRouterCommand,
  DescribeRouteCommand,
  LimitExceededException,
  UpdateMeshCommand,
  UpdateRouteCommand,
  type RouteSpec,
} from '@aws-sdk/client-app-mesh';
import { RetentionJanitor } from '../apps/admin-api/src/retention-janitor';
import {
  meshContents,
  meshRevision,
  startTestControlPlane,
  uniqueMeshName,
  type TestControlPlane,
} from './support/control-plane';

const weights = (blue: number): RouteSpec => ({
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

describe('concurrent writers and retried requests', () => {
  let trellis: TestControlPlane;
  beforeAll(async () => {
    trellis = await startTestControlPlane({ TRELLIS_LIMIT_VIRTUAL_NODES_PER_MESH: '3' });
  });
  afterAll(() => trellis.close());

  async function meshWithRoute(): Promise<string> {
    const { appMesh } = trellis;
    const meshName = uniqueMeshName('race');
    await appMesh.send(new CreateMeshCommand({ meshName }));
    for (const virtualNodeName of ['blue', 'green']) {
      await appMesh.send(new CreateVirtualNodeCommand({ meshName, virtualNodeName, spec: {} }));
    }
    await appMesh.send(
      new CreateVirtualRouterCommand({
        meshName,
        virtualRouterName: 'web',
        spec: { listeners: [{ portMapping: { port: 80, protocol: 'http' } }] },
      }),
    );
    await appMesh.send(
      new CreateRouteCommand({
        meshName,
        virtualRouterName: 'web',
        routeName: 'canary',
        spec: weights(100),
      }),
    );
    return meshName;
  }

  it('50 parallel UpdateRoute calls lose no update: version 51 and 50 change rows', async () => {
    const meshName = await meshWithRoute();
    const revisionBefore = await meshRevision(trellis.db, meshName);
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        trellis.appMesh.send(
          new UpdateRouteCommand({
            meshName,
            virtualRouterName: 'web',
            routeName: 'canary',
            spec: weights(i),
          }),
        ),
      ),
    );
    const versions = results
      .map((result) => result.route!.metadata!.version)
      .sort((a, b) => a! - b!);
    expect(versions).toEqual(Array.from({ length: 50 }, (_, i) => i + 2));

    const { route } = await trellis.appMesh.send(
      new DescribeRouteCommand({ meshName, virtualRouterName: 'web', routeName: 'canary' }),
    );
    expect(route!.metadata!.version).toBe(51);
    const changes = await trellis.db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM change_log WHERE mesh_name = $1 AND kind = 'route' AND operation = 'UPDATE'`,
      [meshName],
    );
    expect(changes.rows[0]!.n).toBe(50);
    expect(await meshRevision(trellis.db, meshName)).toBe(revisionBefore + 50);
    // The stored spec is the one of the update that committed last.
    const last = await trellis.db.query<{ after: string }>(
      `SELECT after::text FROM change_log WHERE mesh_name = $1 ORDER BY revision DESC LIMIT 1`,
      [meshName],
    );
    expect((JSON.parse(last.rows[0]!.after) as { spec: unknown }).spec).toEqual(route!.spec);
  });

  it('20 parallel CreateVirtualNode calls with one name: 1 succeeds, 19 get ConflictException', async () => {
    const meshName = uniqueMeshName('race');
    await trellis.appMesh.send(new CreateMeshCommand({ meshName }));
    const outcomes = await Promise.allSettled(
      Array.from({ length: 20 }, () =>
        trellis.appMesh.send(
          new CreateVirtualNodeCommand({ meshName, virtualNodeName: 'only', spec: {} }),
        ),
      ),
    );
    const fulfilled = outcomes.filter((outcome) => outcome.status === 'fulfilled');
    const conflicts = outcomes.filter(
      (outcome) => outcome.status === 'rejected' && outcome.reason instanceof ConflictException,
    );
    expect(fulfilled).toHaveLength(1);
    expect(conflicts).toHaveLength(19);
    expect(await meshRevision(trellis.db, meshName)).toBe(2);
  });

  it('a retried UpdateRoute with the same client token returns the first answer and writes nothing', async () => {
    const meshName = await meshWithRoute();
    const request = {
      meshName,
      virtualRouterName: 'web',
      routeName: 'canary',
      spec: weights(70),
      clientToken: 'ci-run-42',
    };
    const first = await trellis.appMesh.send(new UpdateRouteCommand(request));
    const stored = await meshContents(trellis.db, meshName);

    const retried = await trellis.appMesh.send(new UpdateRouteCommand(request));
    expect(retried.route).toEqual(first.route);
    expect(await meshContents(trellis.db, meshName)).toEqual(stored);

    // The same token with another body is a different request.
    await expect(
      trellis.appMesh.send(new UpdateRouteCommand({ ...request, spec: weights(60) })),
    ).rejects.toBeInstanceOf(ConflictException);
    expect(await meshContents(trellis.db, meshName)).toEqual(stored);
  });

  it('parallel retries of one create with one client token: one write, the same answer for all', async () => {
    const meshName = uniqueMeshName('retry');
    const outcomes = await Promise.all(
      Array.from({ length: 5 }, () =>
        trellis.appMesh.send(
          new CreateMeshCommand({ meshName, clientToken: `create-${meshName}` }),
        ),
      ),
    );
    for (const outcome of outcomes) expect(outcome.mesh).toEqual(outcomes[0]!.mesh);
    expect(await meshRevision(trellis.db, meshName)).toBe(1);
  });

  it('answers the revision of the first write to a retried request', async () => {
    const meshName = uniqueMeshName('retry');
    const put = () =>
      fetch(`${trellis.httpUrl}/v20190125/meshes`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ meshName, clientToken: `token-${meshName}` }),
      });
    const first = await put();
    const second = await put();
    expect([first.status, second.status]).toEqual([200, 200]);
    expect(second.headers.get('x-trellis-mesh-revision')).toBe(
      first.headers.get('x-trellis-mesh-revision'),
    );
    expect(await second.json()).toEqual(await first.json());
  });

  it('refuses the resource past a configured limit with LimitExceededException', async () => {
    const meshName = uniqueMeshName('limit');
    await trellis.appMesh.send(new CreateMeshCommand({ meshName }));
    for (const virtualNodeName of ['a', 'b', 'c']) {
      await trellis.appMesh.send(
        new CreateVirtualNodeCommand({ meshName, virtualNodeName, spec: {} }),
      );
    }
    const before = await meshContents(trellis.db, meshName);
    const error = await trellis.appMesh
      .send(new CreateVirtualNodeCommand({ meshName, virtualNodeName: 'd', spec: {} }))
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LimitExceededException);
    expect((error as Error).message).toBe(
      `The limit of 3 virtualNodes in mesh ${meshName} is reached`,
    );
    expect(await meshContents(trellis.db, meshName)).toEqual(before);
  });
});

describe('client token retention', () => {
  it('forgets tokens after 24 hours, so the same token then starts a new request', async () => {
    const trellis = await startTestControlPlane();
    try {
      const meshName = uniqueMeshName('janitor');
      const clientToken = `old-${meshName}`;
      await trellis.appMesh.send(new CreateMeshCommand({ meshName, clientToken }));
      await trellis.db.query(
        `UPDATE client_token SET created_at = now() - interval '25 hours' WHERE token = $1`,
        [clientToken],
      );
      await trellis.app.get(RetentionJanitor).purge();

      // The token is free again: reusing it for another request is no longer a conflict.
      const { mesh } = await trellis.appMesh.send(
        new UpdateMeshCommand({ meshName, spec: {}, clientToken }),
      );
      expect(mesh!.metadata!.version).toBe(2);
    } finally {
      await trellis.close();
    }
  });
});
