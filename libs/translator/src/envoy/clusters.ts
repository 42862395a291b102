import {
  CircuitBreakers,
  type CircuitBreakers_Thresholds,
} from '../../../envoy-api/generated/envoy/config/cluster/v3/circuit_breaker';
import {
  Cluster,
  Cluster_DiscoveryType,
  Cluster_DnsLookupFamily,
  Cluster_LbPolicy,
} from '../../../envoy-api/generated/envoy/config/cluster/v3/cluster';
import type { OutlierDetection } from '../../../envoy-api/generated/envoy/config/cluster/v3/outlier_detection';
import type { HealthCheck } from '../../../envoy-api/generated/envoy/config/core/v3/health_check';
import type { ClusterLoadAssignment } from '../../../envoy-api/generated/envoy/config/endpoint/v3/endpoint';
import { HttpProtocolOptions } from '../../../envoy-api/generated/envoy/extensions/upstreams/http/v3/http_protocol_options';
import { CodecClientType } from '../../../envoy-api/generated/envoy/type/v3/http';
import type { Any } from '../../../envoy-api/generated/google/protobuf/any';
import { packAny } from '../../../envoy-api/src/any';
import type {
  CircuitBreakerIr,
  ClusterIr,
  DnsLookupFamilyIr,
  HealthCheckIr,
  OutlierDetectionIr,
} from '../ir';
import { duration } from './addresses';
import { clusterLoadAssignment } from './endpoints';
import { ADS } from './config-sources';
import { aggregateStatsMetadata } from './metadata';
import { upstreamTlsTransportSocket } from './tls';

/**
 * A cluster. Load balancing is round robin, App Mesh's only policy (aws-app-mesh-roadmap#70);
 * STATIC and DNS clusters carry their endpoints inline, EDS clusters get theirs over ADS.
 */
export function cluster(ir: ClusterIr): Cluster {
  return {
    name: ir.name,
    ...discovery(ir),
    connectTimeout: duration(ir.connectTimeoutMs),
    ...(ir.circuitBreaker !== undefined && { circuitBreakers: circuitBreakers(ir.circuitBreaker) }),
    ...(ir.upstreamProtocol === 'http2' && {
      typedExtensionProtocolOptions: http2ProtocolOptions(),
    }),
    ...(ir.outlierDetection !== undefined && {
      outlierDetection: outlierDetection(ir.outlierDetection),
    }),
    ...(ir.healthCheck !== undefined && { healthChecks: [healthCheck(ir.healthCheck)] }),
    ...(ir.tls !== undefined && { transportSocket: upstreamTlsTransportSocket(ir.tls) }),
    ...(ir.statsTags !== undefined && { metadata: aggregateStatsMetadata(ir.statsTags) }),
  };
}

function discovery(ir: ClusterIr): Partial<Cluster> {
  const found = ir.discovery;
  switch (found.kind) {
    case 'static':
      return {
        clusterDiscoveryType: { $case: 'type', value: Cluster_DiscoveryType.STATIC },
        lbPolicy: Cluster_LbPolicy.ROUND_ROBIN,
        loadAssignment: inlineEndpoints(ir.name, found.endpoints),
      };
    case 'logicalDns':
    case 'strictDns':
      return {
        clusterDiscoveryType: {
          $case: 'type',
          value:
            found.kind === 'logicalDns'
              ? Cluster_DiscoveryType.LOGICAL_DNS
              : Cluster_DiscoveryType.STRICT_DNS,
        },
        lbPolicy: Cluster_LbPolicy.ROUND_ROBIN,
        dnsLookupFamily: dnsLookupFamily(found.dnsLookupFamily),
        loadAssignment: inlineEndpoints(ir.name, [{ address: found.hostname, port: found.port }]),
      };
    case 'eds':
      return edsDiscovery();
    case 'originalDst':
      // The original destination cluster picks the host itself: CLUSTER_PROVIDED is required.
      return {
        clusterDiscoveryType: { $case: 'type', value: Cluster_DiscoveryType.ORIGINAL_DST },
        lbPolicy: Cluster_LbPolicy.CLUSTER_PROVIDED,
      };
  }
}

/** EDS over the ADS stream; the ClusterLoadAssignment carries the cluster's name. */
export function edsDiscovery(): Partial<Cluster> {
  return {
    clusterDiscoveryType: { $case: 'type', value: Cluster_DiscoveryType.EDS },
    edsClusterConfig: { edsConfig: ADS },
    lbPolicy: Cluster_LbPolicy.ROUND_ROBIN,
  };
}

function inlineEndpoints(
  clusterName: string,
  endpoints: readonly { address: string; port: number }[],
): ClusterLoadAssignment {
  return clusterLoadAssignment({ clusterName, endpoints: [...endpoints] });
}

export function dnsLookupFamily(family: DnsLookupFamilyIr): Cluster_DnsLookupFamily {
  switch (family) {
    case 'auto':
      return Cluster_DnsLookupFamily.AUTO;
    case 'v4Only':
      return Cluster_DnsLookupFamily.V4_ONLY;
    case 'v6Only':
      return Cluster_DnsLookupFamily.V6_ONLY;
    case 'v4Preferred':
      return Cluster_DnsLookupFamily.V4_PREFERRED;
  }
}

/** The thresholds of the default routing priority. */
export function circuitBreakers(limits: CircuitBreakerIr): CircuitBreakers {
  const thresholds: CircuitBreakers_Thresholds = {
    maxConnections: limits.maxConnections,
    maxPendingRequests: limits.maxPendingRequests,
    maxRequests: limits.maxRequests,
    maxRetries: limits.maxRetries,
  };
  return { thresholds: [thresholds] };
}

/**
 * HTTP/2 to the upstream: `typed_extension_protocol_options` replaces the deprecated
 * `Cluster.http2_protocol_options`.
 * https://www.envoyproxy.io/docs/envoy/latest/api-v3/extensions/upstreams/http/v3/http_protocol_options.proto
 */
export function http2ProtocolOptions(): Record<string, Any> {
  return {
    'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': packAny(HttpProtocolOptions, {
      upstreamProtocolOptions: {
        $case: 'explicitHttpConfig',
        value: { protocolConfig: { $case: 'http2ProtocolOptions', value: {} } },
      },
    }),
  };
}

export function outlierDetection(detection: OutlierDetectionIr): OutlierDetection {
  return {
    consecutive5xx: detection.consecutive5xx,
    interval: duration(detection.intervalMs),
    baseEjectionTime: duration(detection.baseEjectionTimeMs),
    maxEjectionPercent: detection.maxEjectionPercent,
  };
}

export function healthCheck(check: HealthCheckIr): HealthCheck {
  return {
    timeout: duration(check.timeoutMs),
    interval: duration(check.intervalMs),
    unhealthyThreshold: check.unhealthyThreshold,
    healthyThreshold: check.healthyThreshold,
    healthChecker: healthChecker(check),
  };
}

function healthChecker(check: HealthCheckIr): HealthCheck['healthChecker'] {
  switch (check.kind) {
    case 'http':
    case 'http2':
      return {
        $case: 'httpHealthCheck',
        value: {
          path: check.path ?? '/',
          ...(check.kind === 'http2' && { codecClientType: CodecClientType.HTTP2 }),
        },
      };
    case 'tcp':
      return { $case: 'tcpHealthCheck', value: {} };
    case 'grpc':
      return { $case: 'grpcHealthCheck', value: {} };
  }
}

export { CircuitBreakers, Cluster };
