import {
  CreateMeshCommand,
  CreateRouteCommand,
  CreateVirtualNodeCommand,
  CreateVirtualRouterCommand,
  DeleteVirtualNodeCommand,
  ResourceInUseException,
  UpdateRouteCommand,
  type RouteSpec,
} from '@aws-sdk/client-app-mesh';
import {
  startTestControlPlane,
  uniqueMeshName,
  type TestControlPlane,
} from './support/control-plane';

const split = (targets: Record<string, number>): RouteSpec => ({
  httpRoute: {
    match: { prefix: '/' },
    action: {
      weightedTargets: Object.entries(targets).map(([virtualNode, weight]) => ({
        virtualNode,
        weight,
      })),
    },
  },
});

/**
 * An UpdateRoute that only shifts weights leaves the route's stored references alone (the
 * write path skips rewriting them); one that changes its targets moves them.
 */
describe("a route's targets are in use exactly while the route names them", () => {
  let trellis: TestControlPlane;
  beforeAll(async () => {
    trellis = await startTestControlPlane();
  });
  afterAll(() => trellis.close());

  it('keeps them across weight changes and moves them with a new target', async () => {
    const { appMesh, db } = trellis;
    const meshName = uniqueMeshName('targets');
    await appMesh.send(new CreateMeshCommand({ meshName }));
    for (const virtualNodeName of ['blue', 'green', 'red']) {
      await appMesh.send(new CreateVirtualNodeCommand({ meshName, virtualNodeName, spec: {} }));
    }
    await appMesh.send(
      new CreateVirtualRouterCommand({
        meshName,
        virtualRouterName: 'web',
        spec: { listeners: [{ portMapping: { port: 80, protocol: 'http' } }] },
      }),
    );
    const route = { meshName, virtualRouterName: 'web', routeName: 'canary' };
    await appMesh.send(new CreateRouteCommand({ ...route, spec: split({ blue: 100, green: 0 }) }));
    const referenced = async () =>
      (
        await db.query<{ to_name: string }>(
          `SELECT to_name FROM resource_reference WHERE mesh_name = $1 ORDER BY to_name`,
          [meshName],
        )
      ).rows.map((row) => row.to_name);
    const deleteNode = (virtualNodeName: string) =>
      appMesh.send(new DeleteVirtualNodeCommand({ meshName, virtualNodeName }));

    const shifted = await appMesh.send(
      new UpdateRouteCommand({ ...route, spec: split({ blue: 50, green: 50 }) }),
    );
    expect(shifted.route?.metadata?.version).toBe(2);
    expect(await referenced()).toEqual(['blue', 'green']);
    await expect(deleteNode('green')).rejects.toBeInstanceOf(ResourceInUseException);

    const moved = await appMesh.send(
      new UpdateRouteCommand({ ...route, spec: split({ blue: 50, red: 50 }) }),
    );
    expect(moved.route?.metadata?.version).toBe(3);
    expect(await referenced()).toEqual(['blue', 'red']);
    await expect(deleteNode('green')).resolves.toBeDefined();
    await expect(deleteNode('red')).rejects.toBeInstanceOf(ResourceInUseException);
  });
});
