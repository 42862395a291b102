import {
  Cluster_DiscoveryType,
  Cluster_DnsLookupFamily,
  Cluster_LbPolicy,
} from '../../../envoy-api/generated/envoy/config/cluster/v3/cluster';
import { CodecClientType } from '../../../envoy-api/generated/envoy/type/v3/http';
import type { ClusterIr, DnsLookupFamilyIr, HealthCheckIr } from '../ir';
import { duration } from './addresses';
import {
  circuitBreakers,
  cluster,
  dnsLookupFamily,
  healthCheck,
  http2ProtocolOptions,
} from './clusters';
import { ADS } from './config-sources';
import { clusterLoadAssignment } from './endpoints';

describe('cluster', () => {
  const base = { name: 'c', connectTimeoutMs: 1000 };
  it.each<[string, ClusterIr, object]>([
    [
      'static: endpoints inline',
      { ...base, discovery: { kind: 'static', endpoints: [{ address: '127.0.0.1', port: 8080 }] } },
      {
        name: 'c',
        clusterDiscoveryType: { $case: 'type', value: Cluster_DiscoveryType.STATIC },
        lbPolicy: Cluster_LbPolicy.ROUND_ROBIN,
        loadAssignment: clusterLoadAssignment({
          clusterName: 'c',
          endpoints: [{ address: '127.0.0.1', port: 8080 }],
        }),
        connectTimeout: duration(1000),
      },
    ],
    [
      'logical DNS: the hostname is the one endpoint',
      {
        ...base,
        discovery: { kind: 'logicalDns', hostname: 'a.local', port: 80, dnsLookupFamily: 'v4Only' },
      },
      {
        name: 'c',
        clusterDiscoveryType: { $case: 'type', value: Cluster_DiscoveryType.LOGICAL_DNS },
        lbPolicy: Cluster_LbPolicy.ROUND_ROBIN,
        dnsLookupFamily: Cluster_DnsLookupFamily.V4_ONLY,
        loadAssignment: clusterLoadAssignment({
          clusterName: 'c',
          endpoints: [{ address: 'a.local', port: 80 }],
        }),
        connectTimeout: duration(1000),
      },
    ],
    [
      'strict DNS',
      {
        ...base,
        discovery: { kind: 'strictDns', hostname: 'a.local', port: 80, dnsLookupFamily: 'auto' },
      },
      {
        name: 'c',
        clusterDiscoveryType: { $case: 'type', value: Cluster_DiscoveryType.STRICT_DNS },
        lbPolicy: Cluster_LbPolicy.ROUND_ROBIN,
        dnsLookupFamily: Cluster_DnsLookupFamily.AUTO,
        loadAssignment: clusterLoadAssignment({
          clusterName: 'c',
          endpoints: [{ address: 'a.local', port: 80 }],
        }),
        connectTimeout: duration(1000),
      },
    ],
    [
      'EDS over ADS',
      { ...base, discovery: { kind: 'eds' } },
      {
        name: 'c',
        clusterDiscoveryType: { $case: 'type', value: Cluster_DiscoveryType.EDS },
        edsClusterConfig: { edsConfig: ADS },
        lbPolicy: Cluster_LbPolicy.ROUND_ROBIN,
        connectTimeout: duration(1000),
      },
    ],
    [
      'original destination picks its own host',
      { ...base, discovery: { kind: 'originalDst' } },
      {
        name: 'c',
        clusterDiscoveryType: { $case: 'type', value: Cluster_DiscoveryType.ORIGINAL_DST },
        lbPolicy: Cluster_LbPolicy.CLUSTER_PROVIDED,
        connectTimeout: duration(1000),
      },
    ],
    [
      'HTTP/2 upstream and circuit breakers',
      {
        ...base,
        discovery: { kind: 'eds' },
        upstreamProtocol: 'http2',
        circuitBreaker: { maxConnections: 1, maxPendingRequests: 2, maxRequests: 3, maxRetries: 4 },
      },
      {
        name: 'c',
        clusterDiscoveryType: { $case: 'type', value: Cluster_DiscoveryType.EDS },
        edsClusterConfig: { edsConfig: ADS },
        lbPolicy: Cluster_LbPolicy.ROUND_ROBIN,
        connectTimeout: duration(1000),
        circuitBreakers: circuitBreakers({
          maxConnections: 1,
          maxPendingRequests: 2,
          maxRequests: 3,
          maxRetries: 4,
        }),
        typedExtensionProtocolOptions: http2ProtocolOptions(),
      },
    ],
  ])('%s', (_case, ir, expected) => {
    expect(cluster(ir)).toEqual(expected);
  });
});

describe('dnsLookupFamily', () => {
  it.each<[DnsLookupFamilyIr, Cluster_DnsLookupFamily]>([
    ['auto', Cluster_DnsLookupFamily.AUTO],
    ['v4Only', Cluster_DnsLookupFamily.V4_ONLY],
    ['v6Only', Cluster_DnsLookupFamily.V6_ONLY],
    ['v4Preferred', Cluster_DnsLookupFamily.V4_PREFERRED],
  ])('%s', (family, expected) => {
    expect(dnsLookupFamily(family)).toBe(expected);
  });
});

describe('healthCheck', () => {
  const timing = { timeoutMs: 2000, intervalMs: 5000, healthyThreshold: 2, unhealthyThreshold: 3 };
  const expectedTiming = {
    timeout: duration(2000),
    interval: duration(5000),
    healthyThreshold: 2,
    unhealthyThreshold: 3,
  };
  it.each<[string, HealthCheckIr, object]>([
    [
      'http',
      { ...timing, kind: 'http', path: '/ping' },
      { $case: 'httpHealthCheck', value: { path: '/ping' } },
    ],
    [
      'http2 over an HTTP/2 codec',
      { ...timing, kind: 'http2', path: '/ping' },
      {
        $case: 'httpHealthCheck',
        value: { path: '/ping', codecClientType: CodecClientType.HTTP2 },
      },
    ],
    [
      'grpc health checking protocol',
      { ...timing, kind: 'grpc' },
      { $case: 'grpcHealthCheck', value: {} },
    ],
    ['tcp connect', { ...timing, kind: 'tcp' }, { $case: 'tcpHealthCheck', value: {} }],
  ])('%s', (_case, ir, healthChecker) => {
    expect(healthCheck(ir)).toEqual({ ...expectedTiming, healthChecker });
  });
});
