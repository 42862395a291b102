import {
  CreateMeshCommand,
  CreateRouteCommand,
  CreateVirtualNodeCommand,
  CreateVirtualRouterCommand,
  DeleteVirtualNodeCommand,
  DescribeVirtualNodeCommand,
  TagResourceCommand,
  UpdateMeshCommand,
  UpdateRouteCommand,
  UpdateVirtualNodeCommand,
} from '@aws-sdk/client-app-mesh';
import { enforcedReferences } from '../libs/mesh-model/src/resource-kinds';
import type { ResourceKind } from '../libs/mesh-model/src/resource-kinds';
import {
  startTestControlPlane,
  uniqueMeshName,
  type TestControlPlane,
} from './support/control-plane';
import { weightedHttpRoute } from './support/mesh';

/**
 * Writers of different kinds on one mesh at once —
 * UpdateRoute (lockMeshAndGet, reference rows skipped when unchanged), DeleteVirtualNode,
 * CreateVirtualNode, UpdateVirtualNode, TagResource and UpdateMesh. None may deadlock or fail
 * with anything but App Mesh's answers, and in the end every route names only existing nodes
 * and the reference rows are exactly what the stored specs reference.
 */

const EXPECTED = new Set(['NotFoundException', 'ResourceInUseException', 'ConflictException']);

describe('concurrent writers of different kinds on one mesh', () => {
  let trellis: TestControlPlane;

  beforeAll(async () => {
    trellis = await startTestControlPlane({ TRELLIS_ROLES: 'admin' });
  });
  afterAll(async () => {
    await trellis?.close();
  });

  it('no deadlock, no stale reference, no route naming a missing node', async () => {
    const meshName = uniqueMeshName('writers');
    const { appMesh } = trellis;
    const nodes = ['n0', 'n1', 'n2', 'n3', 'n4', 'n5'];
    const nodeSpec = (name: string) => ({
      listeners: [{ portMapping: { port: 8080, protocol: 'http' as const } }],
      serviceDiscovery: { dns: { hostname: `${name}.local` } },
    });
    await appMesh.send(new CreateMeshCommand({ meshName }));
    for (const name of nodes) {
      await appMesh.send(
        new CreateVirtualNodeCommand({ meshName, virtualNodeName: name, spec: nodeSpec(name) }),
      );
    }
    await appMesh.send(
      new CreateVirtualRouterCommand({
        meshName,
        virtualRouterName: 'web',
        spec: { listeners: [{ portMapping: { port: 8080, protocol: 'http' } }] },
      }),
    );
    for (const route of ['a', 'b']) {
      await appMesh.send(
        new CreateRouteCommand({
          meshName,
          virtualRouterName: 'web',
          routeName: route,
          spec: weightedHttpRoute({ n0: 1 }),
        }),
      );
    }
    const arn = (
      await appMesh.send(new DescribeVirtualNodeCommand({ meshName, virtualNodeName: 'n0' }))
    ).virtualNode!.metadata!.arn!;

    let seed = 7;
    const random = (n: number) => {
      seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
      return seed % n;
    };
    const pick = () => nodes[random(nodes.length)]!;
    const unexpected: string[] = [];
    let succeeded = 0;
    const run = async (write: () => Promise<unknown>) => {
      try {
        await write();
        succeeded++;
      } catch (error) {
        const name = (error as { name?: string }).name ?? String(error);
        if (!EXPECTED.has(name)) unexpected.push(`${name}: ${(error as Error).message}`);
      }
    };
    const writes: Array<() => Promise<unknown>> = [];
    for (let i = 0; i < 300; i++) {
      const kind = random(7);
      const node = pick();
      if (kind === 0 || kind === 1) {
        const weights: Record<string, number> = { [node]: 1 };
        if (random(2) === 0) weights[pick()] = 2;
        writes.push(() =>
          appMesh.send(
            new UpdateRouteCommand({
              meshName,
              virtualRouterName: 'web',
              routeName: kind === 0 ? 'a' : 'b',
              spec: weightedHttpRoute(weights),
            }),
          ),
        );
      } else if (kind === 2) {
        writes.push(() =>
          appMesh.send(new DeleteVirtualNodeCommand({ meshName, virtualNodeName: node })),
        );
      } else if (kind === 3) {
        writes.push(() =>
          appMesh.send(
            new CreateVirtualNodeCommand({ meshName, virtualNodeName: node, spec: nodeSpec(node) }),
          ),
        );
      } else if (kind === 4) {
        writes.push(() =>
          appMesh.send(
            new UpdateVirtualNodeCommand({
              meshName,
              virtualNodeName: node,
              spec: {
                ...nodeSpec(node),
                backends: [{ virtualService: { virtualServiceName: `${pick()}.svc` } }],
              },
            }),
          ),
        );
      } else if (kind === 5) {
        writes.push(() =>
          appMesh.send(
            new TagResourceCommand({ resourceArn: arn, tags: [{ key: 'k', value: String(i) }] }),
          ),
        );
      } else {
        writes.push(() =>
          appMesh.send(
            new UpdateMeshCommand({
              meshName,
              spec: { egressFilter: { type: random(2) ? 'ALLOW_ALL' : 'DROP_ALL' } },
            }),
          ),
        );
      }
    }
    // 16 at a time.
    const queue = [...writes];
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        for (let write = queue.shift(); write; write = queue.shift()) await run(write);
      }),
    );
    expect(unexpected).toEqual([]);
    expect(succeeded).toBeGreaterThan(100); // a meaningful mix, not 300 refusals

    const { rows: resources } = await trellis.db.query<{
      kind: ResourceKind;
      parent_name: string;
      name: string;
      spec: Record<string, unknown>;
    }>('SELECT kind, parent_name, name, spec FROM mesh_resource WHERE mesh_name = $1', [meshName]);
    const existing = new Set(resources.map((r) => `${r.kind}/${r.name}`));
    const { rows: references } = await trellis.db.query<{
      from_kind: string;
      from_parent: string;
      from_name: string;
      to_kind: string;
      to_name: string;
    }>(
      `SELECT from_kind, from_parent, from_name, to_kind, to_name FROM resource_reference
       WHERE mesh_name = $1`,
      [meshName],
    );
    const stored = references
      .map((r) => `${r.from_kind}/${r.from_parent}/${r.from_name} -> ${r.to_kind}/${r.to_name}`)
      .sort();
    const fromSpecs = [
      ...new Set(
        resources.flatMap((r) =>
          enforcedReferences(r.kind, r.spec).map(
            (t) => `${r.kind}/${r.parent_name}/${r.name} -> ${t.kind}/${t.name}`,
          ),
        ),
      ),
    ].sort();
    expect(stored).toEqual(fromSpecs);
    const dangling = resources.flatMap((r) =>
      enforcedReferences(r.kind, r.spec)
        .filter((t) => !existing.has(`${t.kind}/${t.name}`))
        .map((t) => `${r.name} -> ${t.kind}/${t.name}`),
    );
    expect(dangling).toEqual([]);
  }, 60_000);
});
