import type { XdsResource } from '../../xds-types/src/resource-types';
import type { EnvoyMessageCache } from './envoy/message-cache';
import { envoyResources } from './envoy/resources';
import type { ProxyIr } from './ir';
import type { EndpointRegistry, MeshSnapshot, ProxyTarget } from './mesh-snapshot';
import { gatewayIr } from './mesh-to-ir/gateway';
import { proxylessIr } from './mesh-to-ir/proxyless';
import { sidecarIr } from './mesh-to-ir/sidecar';
import { TranslationErrors, type TranslationError } from './translation-errors';

export interface Translation {
  resources: XdsResource[];
  /** What could not be translated, by App Mesh resource path; everything else is in resources. */
  errors: TranslationError[];
}

/**
 * The Envoy resources one proxy needs, from a mesh snapshot. Pure and deterministic: the same
 * snapshot gives the same resources in the same order. Best-effort: what does not resolve is
 * reported and left out, and the resources stay consistent (every cluster a route or listener
 * names exists, every EDS cluster has its ClusterLoadAssignment, every RDS name its
 * RouteConfiguration). With `messages`, resources equal to ones translated before (for this proxy
 * or another) are the same message objects.
 */
export function translate(
  mesh: MeshSnapshot,
  proxy: ProxyTarget,
  registry?: EndpointRegistry,
  messages?: EnvoyMessageCache,
): Translation {
  const { ir, errors } = proxyIr(mesh, proxy, registry);
  return { resources: envoyResources(ir, messages), errors };
}

/** The first two steps: App Mesh resources to the IR of one proxy. */
export function proxyIr(
  mesh: MeshSnapshot,
  proxy: ProxyTarget,
  registry?: EndpointRegistry,
): { ir: ProxyIr; errors: TranslationError[] } {
  const errors = new TranslationErrors();
  const ir = proxyKindIr(mesh, proxy, registry, errors);
  return { ir, errors: errors.list() };
}

function proxyKindIr(
  mesh: MeshSnapshot,
  proxy: ProxyTarget,
  registry: EndpointRegistry | undefined,
  errors: TranslationErrors,
): ProxyIr {
  switch (proxy.kind) {
    case 'sidecar':
      return sidecarIr(mesh, proxy.virtualNode, proxy.tracing, registry, errors);
    case 'proxyless':
      return proxylessIr(mesh, proxy.virtualNode, registry, errors);
    case 'gateway':
      return gatewayIr(mesh, proxy.virtualGateway, proxy.tracing, registry, errors);
  }
}
