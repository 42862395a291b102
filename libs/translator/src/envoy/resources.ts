import type { XdsResource } from '../../../xds-types/src/resource-types';
import {
  CLUSTER,
  CLUSTER_LOAD_ASSIGNMENT,
  LISTENER,
  PUSH_ORDER,
  ROUTE_CONFIGURATION,
  SECRET,
  type TypeUrl,
} from '../../../xds-types/src/resource-types';
import type { ListenerIr, ProxyIr } from '../ir';
import { compareStrings } from '../translation-errors';
import { cluster } from './clusters';
import { clusterLoadAssignment } from './endpoints';
import type { EnvoyMessageCache } from './message-cache';
import { apiListener, socketListener } from './listeners';
import { routeConfiguration } from './routes';
import { secret } from './tls';

/**
 * The last step: a proxy's IR as xDS resources, in push order (clusters, endpoints, listeners,
 * routes) and by name within a type. With `messages`, a cluster or endpoint set whose IR equals
 * one built before reuses that message object: those describe a target listener, the same for
 * every proxy that calls it. Listeners and route configurations describe the proxy's own node
 * and backends (X-Ray segment, local clusters, one virtual host per backend); they are rarely
 * equal between nodes, and serialising them to find out costs more than building them.
 */
export function envoyResources(ir: ProxyIr, messages?: EnvoyMessageCache): XdsResource[] {
  const build = <Ir>(typeUrl: TypeUrl, part: Ir, builder: (part: Ir) => object) =>
    messages ? messages.message(typeUrl, part, builder) : builder(part);
  const resources: XdsResource[] = [
    ...ir.clusters.map((c): XdsResource => ({
      typeUrl: CLUSTER,
      name: c.name,
      message: build(CLUSTER, c, cluster),
    })),
    ...ir.endpoints.map((set): XdsResource => ({
      typeUrl: CLUSTER_LOAD_ASSIGNMENT,
      name: set.clusterName,
      message: build(CLUSTER_LOAD_ASSIGNMENT, set, clusterLoadAssignment),
    })),
    ...ir.listeners.map((l): XdsResource => ({
      typeUrl: LISTENER,
      name: l.name,
      message: listener(l),
    })),
    ...ir.secrets.map((s): XdsResource => ({ typeUrl: SECRET, name: s.name, message: secret(s) })),
    ...ir.routeConfigurations.map((config): XdsResource => ({
      typeUrl: ROUTE_CONFIGURATION,
      name: config.name,
      message: routeConfiguration(config),
    })),
  ];
  return resources.sort(
    (a, b) =>
      PUSH_ORDER.indexOf(a.typeUrl) - PUSH_ORDER.indexOf(b.typeUrl) ||
      compareStrings(a.name, b.name),
  );
}

function listener(ir: ListenerIr): object {
  return ir.kind === 'socket' ? socketListener(ir) : apiListener(ir);
}
