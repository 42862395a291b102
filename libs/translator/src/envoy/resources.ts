import type { XdsResource } from '../../../xds/src/encoded-resource';
import {
  CLUSTER,
  CLUSTER_LOAD_ASSIGNMENT,
  LISTENER,
  PUSH_ORDER,
  ROUTE_CONFIGURATION,
} from '../../../xds/src/resource-types';
import type { ListenerIr, ProxyIr } from '../ir';
import { compareStrings } from '../translation-errors';
import { cluster } from './clusters';
import { clusterLoadAssignment } from './endpoints';
import { apiListener, socketListener } from './listeners';
import { routeConfiguration } from './routes';

/**
 * The last step: a proxy's IR as xDS resources, in push order (clusters, endpoints, listeners,
 * routes) and by name within a type.
 */
export function envoyResources(ir: ProxyIr): XdsResource[] {
  const resources: XdsResource[] = [
    ...ir.clusters.map((c): XdsResource => ({
      typeUrl: CLUSTER,
      name: c.name,
      message: cluster(c),
    })),
    ...ir.endpoints.map((set): XdsResource => ({
      typeUrl: CLUSTER_LOAD_ASSIGNMENT,
      name: set.clusterName,
      message: clusterLoadAssignment(set),
    })),
    ...ir.listeners.map((l): XdsResource => ({
      typeUrl: LISTENER,
      name: l.name,
      message: listener(l),
    })),
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
