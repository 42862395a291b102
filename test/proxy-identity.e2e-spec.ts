import * as grpc from '@grpc/grpc-js';
import { SotwAdsClient } from './support/xds';
import { CLUSTER } from '../libs/xds-types/src/resource-types';
import {
  startTestControlPlane,
  TEST_ACCOUNT_ID,
  uniqueMeshName,
  type TestControlPlane,
} from './support/control-plane';
import { createCanaryMesh, envoyNode, SidecarProxy } from './support/mesh';

/**
 * Node ids in the form the App Mesh controller for Kubernetes writes for a mesh shared from
 * another account, `mesh/<mesh>@<owner>/virtualNode/<name>`: served when the owner is this
 * control plane's account, refused with the reason when it is another.
 */
describe('proxy identities naming the mesh owner', () => {
  let trellis: TestControlPlane;
  let meshName: string;
  const closeAfter: Array<{ close(): void }> = [];
  beforeAll(async () => {
    trellis = await startTestControlPlane();
    meshName = uniqueMeshName('owner');
    await createCanaryMesh(trellis.appMesh, meshName, { 'web-v1': 100, 'web-v2': 0 });
  });
  afterEach(() => {
    for (const client of closeAfter.splice(0)) client.close();
  });
  afterAll(() => trellis.close());

  function ownedNode(owner: string, kind: 'virtualNode' | 'virtualGateway' = 'virtualNode') {
    const node = envoyNode(meshName, 'front');
    const id = `mesh/${meshName}@${owner}/${kind}/front`;
    return { ...node, id, cluster: id };
  }

  it('serves a sidecar whose node id names this account as the owner', async () => {
    const owned = new SidecarProxy('sotw', ownedNode(TEST_ACCOUNT_ID));
    const plain = new SidecarProxy('sotw', envoyNode(meshName, 'front'));
    closeAfter.push(owned, plain);
    await owned.connect(trellis.xds!.port).sync();
    await plain.connect(trellis.xds!.port).sync();
    expect([...owned.listeners.keys()].sort()).toEqual([...plain.listeners.keys()].sort());
    expect([...owned.clusters.keys()].sort()).toEqual([...plain.clusters.keys()].sort());
    expect(owned.listeners.size).toBeGreaterThan(0);
  });

  it.each(['virtualNode', 'virtualGateway'] as const)(
    'refuses a %s of a mesh owned by another account, saying why',
    async (kind) => {
      const client = new SotwAdsClient(trellis.xds!.port, ownedNode('444455556666', kind));
      closeAfter.push(client);
      client.subscribe(CLUSTER, []);
      await expect(client.next()).rejects.toMatchObject({
        code: grpc.status.INVALID_ARGUMENT,
        details: expect.stringContaining(
          `names mesh ${meshName} owned by account 444455556666; this control plane serves the meshes of account ${TEST_ACCOUNT_ID} only`,
        ),
      });
    },
  );
});
