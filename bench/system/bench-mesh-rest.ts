import {
  type AppMeshClient,
  CreateMeshCommand,
  CreateRouteCommand,
  CreateVirtualNodeCommand,
  CreateVirtualRouterCommand,
  CreateVirtualServiceCommand,
  DescribeMeshCommand,
  NotFoundException,
  UpdateRouteCommand,
} from '@aws-sdk/client-app-mesh';
import type { MeshSnapshot } from '../../libs/translator/src/mesh-snapshot';
import { translate } from '../../libs/translator/src/translate';
import {
  benchMesh,
  groupNode,
  groupSubscriptions,
  MESH,
  type GroupSubscriptions,
} from '../xds/bench-mesh';

// The fan-out benchmark's mesh (see bench/xds/bench-mesh.ts), written through the App Mesh API
// with the AWS SDK, as an operator would. The canary route is `cart/canary`.

export const CANARY_ROUTER = 'cart';
export const CANARY_ROUTE = 'canary';

/** Creates the mesh unless it exists (the data directory outlives control-plane restarts). */
export async function ensureBenchMesh(
  appMesh: AppMeshClient,
  groups: number,
  meshName = MESH,
): Promise<void> {
  try {
    await appMesh.send(new DescribeMeshCommand({ meshName }));
    return;
  } catch (error) {
    if (!(error instanceof NotFoundException)) throw error;
  }
  await createMesh(appMesh, benchMesh(groups, 10, 0, meshName));
}

/** Writes every resource of `mesh` through the App Mesh API, in an order references allow. */
export async function createMesh(appMesh: AppMeshClient, mesh: MeshSnapshot): Promise<void> {
  const { meshName } = mesh;
  await appMesh.send(new CreateMeshCommand({ meshName }));
  for (const [virtualNodeName, spec] of mesh.virtualNodes) {
    await appMesh.send(
      new CreateVirtualNodeCommand({
        meshName,
        virtualNodeName,
        spec: spec,
      }),
    );
  }
  for (const [virtualRouterName, spec] of mesh.virtualRouters) {
    await appMesh.send(
      new CreateVirtualRouterCommand({
        meshName,
        virtualRouterName,
        spec: spec,
      }),
    );
    for (const route of mesh.routes.get(virtualRouterName) ?? []) {
      await appMesh.send(
        new CreateRouteCommand({
          meshName,
          virtualRouterName,
          routeName: route.name,
          spec: route.spec,
        }),
      );
    }
  }
  for (const [virtualServiceName, spec] of mesh.virtualServices) {
    await appMesh.send(
      new CreateVirtualServiceCommand({
        meshName,
        virtualServiceName,
        spec: spec,
      }),
    );
  }
}

/** UpdateRoute of the canary route to `weight` percent; resolves on the 200. */
export async function setCanaryWeight(
  appMesh: AppMeshClient,
  groups: number,
  weight: number,
): Promise<void> {
  const route = benchMesh(groups, weight, 0).routes.get(CANARY_ROUTER)![0]!;
  await appMesh.send(
    new UpdateRouteCommand({
      meshName: MESH,
      virtualRouterName: CANARY_ROUTER,
      routeName: CANARY_ROUTE,
      spec: route.spec,
    }),
  );
}

/**
 * What each group's proxies subscribe to by name, from the translator with the control plane's
 * defaults (X-Ray on, no Cloud Map registry: EDS clusters with their endpoint sets).
 */
export function restMeshSubscriptions(groups: number, meshName = MESH): GroupSubscriptions[] {
  const mesh = benchMesh(groups, 10, 0, meshName);
  return Array.from({ length: groups }, (_, group) =>
    groupSubscriptions(
      translate(mesh, {
        kind: 'sidecar',
        virtualNode: groupNode(group),
        tracing: { enabled: true, daemonAddress: '127.0.0.1', daemonPort: 2000 },
      }).resources,
    ),
  );
}
