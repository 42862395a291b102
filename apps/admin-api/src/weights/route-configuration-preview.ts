import { RouteConfiguration } from '../../../../libs/envoy-api/generated/envoy/config/route/v3/route';
import type { MeshContents } from '../../../../libs/persistence/src/mesh-reader';
import type { StoredResource } from '../../../../libs/persistence/src/mesh-store';
import {
  meshSnapshot,
  type MeshSnapshot,
  type TracingSettings,
} from '../../../../libs/translator/src/mesh-snapshot';
import { translate } from '../../../../libs/translator/src/translate';
import { ROUTE_CONFIGURATION } from '../../../../libs/xds-types/src/resource-types';

/** One route configuration as the sidecars of `virtualNodes` get it, before and after a change. */
export interface RouteConfigurationChange {
  /** `rds_egress_<protocol>_<port>`. */
  name: string;
  /** The client virtual nodes whose sidecars get exactly this before and after, sorted. */
  virtualNodes: string[];
  /** Envoy's RouteConfiguration as proto3 JSON; null when the sidecar has none by that name. */
  before: unknown;
  after: unknown;
}

/** Route configurations carry no tracing (that is the listener's), so any setting will do. */
const NO_TRACING: TracingSettings = {
  enabled: false,
  daemonAddress: '127.0.0.1',
  daemonPort: 2000,
};

/**
 * What the sidecars of a router's clients would receive if `routeName` had `spec`: the route
 * configurations that hold a virtual host of a virtual service the router provides, for every
 * virtual node that has such a service as a backend. Sidecars with the same before and after
 * are listed together. TCP routes live in listeners, not route configurations: none are listed.
 */
export function routeConfigurationChanges(
  meshName: string,
  revision: number,
  resources: readonly StoredResource[],
  routerName: string,
  routeName: string,
  spec: Record<string, unknown>,
): RouteConfigurationChange[] {
  const before: MeshContents = {
    meshName,
    revision,
    resources: resources.map(({ id, spec: stored }) => ({
      kind: id.kind,
      parentName: id.parentName,
      name: id.name,
      spec: stored,
    })),
  };
  const after: MeshContents = {
    ...before,
    resources: before.resources.map((resource) =>
      resource.kind === 'route' && resource.parentName === routerName && resource.name === routeName
        ? { ...resource, spec }
        : resource,
    ),
  };
  const beforeMesh = meshSnapshot(before);
  const afterMesh = meshSnapshot(after);

  const services = new Set(
    [...beforeMesh.virtualServices.entries()]
      .filter(([, service]) => {
        const provider = service.provider;
        return (
          provider !== undefined &&
          'virtualRouter' in provider &&
          provider.virtualRouter.virtualRouterName === routerName
        );
      })
      .map(([name]) => name),
  );
  const clients = [...beforeMesh.virtualNodes.entries()]
    .filter(([, node]) =>
      (node.backends ?? []).some((backend) =>
        services.has(backend.virtualService.virtualServiceName),
      ),
    )
    .map(([name]) => name)
    .sort();

  const changes = new Map<string, RouteConfigurationChange>();
  for (const client of clients) {
    const was = routeConfigurationsOf(beforeMesh, client, services);
    const will = routeConfigurationsOf(afterMesh, client, services);
    for (const name of new Set([...was.keys(), ...will.keys()])) {
      const change = { before: was.get(name) ?? null, after: will.get(name) ?? null };
      const key = JSON.stringify([name, change.before, change.after]);
      const seen = changes.get(key);
      if (seen) seen.virtualNodes.push(client);
      else changes.set(key, { name, virtualNodes: [client], ...change });
    }
  }
  return [...changes.values()].sort(
    (a, b) => compare(a.name, b.name) || compare(a.virtualNodes[0]!, b.virtualNodes[0]!),
  );
}

/** A sidecar's route configurations that route to one of `services`, as proto3 JSON by name. */
function routeConfigurationsOf(
  mesh: MeshSnapshot,
  virtualNode: string,
  services: ReadonlySet<string>,
): Map<string, unknown> {
  const { resources } = translate(mesh, { kind: 'sidecar', virtualNode, tracing: NO_TRACING });
  const found = new Map<string, unknown>();
  for (const resource of resources) {
    if (resource.typeUrl !== ROUTE_CONFIGURATION) continue;
    const message = resource.message as RouteConfiguration;
    // Egress virtual hosts are named after the virtual service they serve (translator, sidecar.ts).
    if (!(message.virtualHosts ?? []).some((host) => services.has(host.name ?? ''))) continue;
    found.set(resource.name, RouteConfiguration.toJSON(message));
  }
  return found;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
