import {
  CreateMeshCommand,
  CreateVirtualNodeCommand,
  ListTagsForResourceCommand,
  TagResourceCommand,
} from '@aws-sdk/client-app-mesh';
import { performance } from 'node:perf_hooks';
import { createDataSource } from '../libs/persistence/src/data-source';
import { MeshStore } from '../libs/persistence/src/mesh-store';
import { NestedPoolUseError } from '../libs/persistence/src/transaction-scope';
import {
  startTestControlPlane,
  uniqueMeshName,
  type TestControlPlane,
} from './support/control-plane';

/** The database pool under hostile load: no request may hold two connections at once. */
describe('database faults', () => {
  let trellis: TestControlPlane;

  beforeAll(async () => {
    trellis = await startTestControlPlane();
  });

  afterAll(async () => {
    await trellis.close();
  });

  it('answers 40 concurrent TagResource calls on one resource while /readyz stays under 1 s', async () => {
    const meshName = uniqueMeshName('tag-storm');
    await trellis.appMesh.send(new CreateMeshCommand({ meshName }));
    const { virtualNode } = await trellis.appMesh.send(
      new CreateVirtualNodeCommand({ meshName, virtualNodeName: 'web', spec: {} }),
    );
    const resourceArn = virtualNode!.metadata!.arn!;

    // More concurrent writers than the pool has connections (10): a writer that took a second
    // connection inside its transaction would leave every request of the process waiting.
    let storming = true;
    const readiness: Array<{ status: number; ms: number }> = [];
    const polling = (async () => {
      while (storming) {
        const started = performance.now();
        const response = await fetch(`${trellis.httpUrl}/readyz`);
        await response.arrayBuffer();
        readiness.push({ status: response.status, ms: performance.now() - started });
      }
    })();
    const results = await Promise.allSettled(
      Array.from({ length: 40 }, (_, i) =>
        trellis.appMesh.send(
          new TagResourceCommand({ resourceArn, tags: [{ key: `k${i}`, value: `v${i}` }] }),
        ),
      ),
    );
    storming = false;
    await polling;

    const failures = results.flatMap((result) =>
      result.status === 'rejected' ? [String(result.reason)] : [],
    );
    expect(failures).toEqual([]);
    expect(readiness.length).toBeGreaterThan(0);
    expect(readiness.filter((probe) => probe.status !== 200 || probe.ms >= 1000)).toEqual([]);
    const { tags } = await trellis.appMesh.send(
      new ListTagsForResourceCommand({ resourceArn, limit: 50 }),
    );
    expect(tags!.map((tag) => tag.key).sort()).toEqual(
      Array.from({ length: 40 }, (_, i) => `k${i}`).sort(),
    );
  });

  it('refuses, by construction, a pool read or a second transaction inside a transaction', async () => {
    const dataSource = createDataSource(process.env.DATABASE_URL!, 2);
    await dataSource.initialize();
    try {
      const store = new MeshStore(dataSource);
      const meshName = uniqueMeshName('nested');
      await expect(
        store.write(meshName, () =>
          store.get({ meshName, kind: 'mesh', parentName: '', name: meshName }),
        ),
      ).rejects.toBeInstanceOf(NestedPoolUseError);
      await expect(
        store.write(meshName, () => store.write(meshName, () => Promise.resolve(1))),
      ).rejects.toBeInstanceOf(NestedPoolUseError);
      // Outside a transaction the same read runs.
      await expect(
        store.get({ meshName, kind: 'mesh', parentName: '', name: meshName }),
      ).resolves.toBeUndefined();
    } finally {
      await dataSource.destroy();
    }
  });
});
