import { ClusterLoadAssignment } from '../../../envoy-api/generated/envoy/config/endpoint/v3/endpoint';
import type {
  LbEndpoint,
  LocalityLbEndpoints,
} from '../../../envoy-api/generated/envoy/config/endpoint/v3/endpoint_components';
import type { EndpointSetIr, SocketAddressIr } from '../ir';
import { address, socketAddress } from './addresses';

/**
 * A ClusterLoadAssignment with all endpoints in one locality. gRPC clients reject a
 * LocalityLbEndpoints without `locality` and skip one without `load_balancing_weight` (gRFC A27),
 * so both are always set; Envoy sidecars ignore the locality weight unless locality-weighted load
 * balancing is on.
 */
export function clusterLoadAssignment(set: EndpointSetIr): ClusterLoadAssignment {
  return {
    clusterName: set.clusterName,
    endpoints: set.endpoints.length === 0 ? [] : [localityLbEndpoints(set.endpoints)],
  };
}

export function localityLbEndpoints(endpoints: readonly SocketAddressIr[]): LocalityLbEndpoints {
  return {
    locality: { region: '', zone: '' },
    lbEndpoints: endpoints.map(lbEndpoint),
    loadBalancingWeight: 1,
  };
}

export function lbEndpoint(endpoint: SocketAddressIr): LbEndpoint {
  return {
    hostIdentifier: {
      $case: 'endpoint',
      value: { address: address(socketAddress(endpoint.address, endpoint.port)) },
    },
  };
}

export { ClusterLoadAssignment };
