import { isDeepStrictEqual } from 'node:util';
import {
  type AppMeshClient,
  CreateMeshCommand,
  CreateRouteCommand,
  CreateVirtualNodeCommand,
  CreateVirtualRouterCommand,
  CreateVirtualServiceCommand,
  type VirtualNodeSpec,
} from '@aws-sdk/client-app-mesh';
import type { RouteConfiguration } from '../../libs/envoy-api/generated/envoy/config/route/v3/route';
import type { DiscoveryResponse } from '../../libs/envoy-api/generated/envoy/service/discovery/v3/discovery';
import { CLUSTER, LISTENER, ROUTE_CONFIGURATION } from '../../libs/xds-types/src/resource-types';
import { decodedResources, SotwAdsClient } from './xds';

/** The route configuration a client sidecar of the canary mesh gets for `api.internal:8080`. */
export const EGRESS_ROUTES = 'rds_egress_http_8080';

export const CI_ACTOR = 'AKIDCIPIPELINE';
/** A SigV4 header as the AWS SDKs and the trellis CLI send it; Trellis reads the access key id. */
export const CI_AUTHORIZATION = `AWS4-HMAC-SHA256 Credential=${CI_ACTOR}/20261127/eu-west-1/appmesh/aws4_request, SignedHeaders=host, Signature=00`;

export const nodeSpec = (hostname: string, backend?: string): VirtualNodeSpec => ({
  listeners: [{ portMapping: { port: 8080, protocol: 'http' } }],
  serviceDiscovery: { dns: { hostname } },
  ...(backend ? { backends: [{ virtualService: { virtualServiceName: backend } }] } : {}),
});

/**
 * A canary setup: virtual nodes `blue` and `green` behind router `api` (route `canary`, all
 * traffic to blue), provided as virtual service `api.internal`, and a client node `web` that
 * has it as a backend.
 */
export async function createCanaryMesh(appMesh: AppMeshClient, meshName: string): Promise<void> {
  await appMesh.send(new CreateMeshCommand({ meshName }));
  for (const [name, host] of [
    ['blue', '10.0.0.1'],
    ['green', '10.0.0.2'],
  ] as const) {
    await appMesh.send(
      new CreateVirtualNodeCommand({ meshName, virtualNodeName: name, spec: nodeSpec(host) }),
    );
  }
  await appMesh.send(
    new CreateVirtualRouterCommand({
      meshName,
      virtualRouterName: 'api',
      spec: { listeners: [{ portMapping: { port: 8080, protocol: 'http' } }] },
    }),
  );
  await appMesh.send(
    new CreateRouteCommand({
      meshName,
      virtualRouterName: 'api',
      routeName: 'canary',
      spec: {
        httpRoute: {
          match: { prefix: '/' },
          action: {
            weightedTargets: [
              { virtualNode: 'blue', weight: 100 },
              { virtualNode: 'green', weight: 0 },
            ],
          },
          retryPolicy: {
            maxRetries: 2,
            perRetryTimeout: { unit: 'ms', value: 250 },
            httpRetryEvents: ['gateway-error'],
          },
        },
      },
    }),
  );
  await appMesh.send(
    new CreateVirtualServiceCommand({
      meshName,
      virtualServiceName: 'api.internal',
      spec: { provider: { virtualRouter: { virtualRouterName: 'api' } } },
    }),
  );
  await appMesh.send(
    new CreateVirtualNodeCommand({
      meshName,
      virtualNodeName: 'web',
      spec: nodeSpec('10.0.0.3', 'api.internal'),
    }),
  );
}

/** `PUT …/weights` as a CI script sends it. */
export function putWeights(
  httpUrl: string,
  meshName: string,
  body: unknown,
  options: { query?: string; headers?: Record<string, string>; route?: string } = {},
): Promise<Response> {
  const route = options.route ?? 'canary';
  return fetch(
    `${httpUrl}/v1/meshes/${meshName}/virtualRouters/api/routes/${route}/weights${options.query ?? ''}`,
    {
      method: 'PUT',
      headers: {
        'content-type': 'application/json',
        authorization: CI_AUTHORIZATION,
        ...options.headers,
      },
      body: JSON.stringify(body),
    },
  );
}

/**
 * The sidecar of `virtualNode`, subscribed like Envoy: clusters and listeners by wildcard,
 * then the egress route configuration; it acknowledges everything it gets.
 */
export async function connectSidecar(
  xdsPort: number,
  meshName: string,
  virtualNode: string,
): Promise<SotwAdsClient> {
  const nodeId = `mesh/${meshName}/virtualNode/${virtualNode}`;
  const client = new SotwAdsClient(xdsPort, {
    id: nodeId,
    cluster: nodeId,
    userAgentName: 'envoy',
  });
  client.subscribe(CLUSTER, []);
  client.ack(await client.next());
  client.subscribe(LISTENER, []);
  client.ack(await client.next());
  client.subscribe(ROUTE_CONFIGURATION, [EGRESS_ROUTES]);
  return client;
}

/** Cluster → weight of every weighted route in a route configuration. */
export function weightsIn(config: RouteConfiguration): Record<string, number> {
  const weights: Record<string, number> = {};
  for (const host of config.virtualHosts ?? []) {
    for (const route of host.routes ?? []) {
      const action = route.action;
      if (action?.$case !== 'route') continue;
      const specifier = action.value.clusterSpecifier;
      if (specifier?.$case !== 'weightedClusters') continue;
      for (const cluster of specifier.value.clusters ?? []) {
        weights[cluster.name ?? ''] = cluster.weight ?? 0;
      }
    }
  }
  return weights;
}

/**
 * Acknowledges responses until a route configuration arrives whose weights are `expected`;
 * fails (after the client's response timeout, or `withinMs` when given) if none does. Pushes of
 * intermediate states may be coalesced, so earlier route configurations are accepted and
 * skipped. `withinMs` is for writes made by another process (a CLI starting up), whose request
 * may come later than the client's response timeout on a busy machine.
 */
export async function receiveWeights(
  client: SotwAdsClient,
  expected: Record<string, number>,
  withinMs = 0,
): Promise<DiscoveryResponse> {
  const seen: Array<Record<string, number>> = [];
  const deadline = Date.now() + withinMs;
  for (;;) {
    let response: DiscoveryResponse;
    try {
      response = await client.next();
    } catch (error) {
      if (Date.now() < deadline) continue;
      throw new Error(
        `no route configuration with weights ${JSON.stringify(expected)}; got ${JSON.stringify(seen)}`,
        { cause: error },
      );
    }
    client.ack(response);
    if (response.typeUrl !== ROUTE_CONFIGURATION) continue;
    const config = (decodedResources(response) as RouteConfiguration[]).find(
      (resource) => resource.name === EGRESS_ROUTES,
    );
    if (!config) continue;
    const weights = weightsIn(config);
    seen.push(weights);
    if (isDeepStrictEqual(weights, expected)) return response;
  }
}

/** The egress cluster name of a target node of the canary mesh. */
export function egressCluster(meshName: string, node: string): string {
  return `cds_egress_${meshName}_${node}_http_8080`;
}
