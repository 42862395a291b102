import type { VirtualNodeConnectionPool } from '../../../mesh-model/src/validation';
import type { CircuitBreakerIr } from '../ir';
import { circuitBreaker, healthCheck } from './listener-policies';

describe('circuitBreaker', () => {
  const unlimited = 2_147_483_647;
  it.each<[string, VirtualNodeConnectionPool | undefined, Partial<CircuitBreakerIr>]>([
    ['no pool: App Mesh effectively disables circuit breaking', undefined, {}],
    ['tcp maxConnections', { tcp: { maxConnections: 10 } }, { maxConnections: 10 }],
    ['http maxConnections alone', { http: { maxConnections: 10 } }, { maxConnections: 10 }],
    [
      'http maxConnections and maxPendingRequests',
      { http: { maxConnections: 10, maxPendingRequests: 5 } },
      { maxConnections: 10, maxPendingRequests: 5 },
    ],
    ['http2 maxRequests', { http2: { maxRequests: 7 } }, { maxRequests: 7 }],
    ['grpc maxRequests', { grpc: { maxRequests: 8 } }, { maxRequests: 8 }],
  ])('%s', (_case, pool, limits) => {
    expect(circuitBreaker(pool)).toEqual({
      maxConnections: unlimited,
      maxPendingRequests: unlimited,
      maxRequests: unlimited,
      maxRetries: unlimited,
      ...limits,
    });
  });
});

describe('healthCheck', () => {
  const policy = {
    healthyThreshold: 2,
    unhealthyThreshold: 3,
    intervalMillis: 5000,
    timeoutMillis: 2000,
  };
  it.each([
    [
      'http uses the path',
      { ...policy, protocol: 'http' as const, path: '/ping' },
      { kind: 'http', path: '/ping' },
    ],
    [
      'http2 uses the path',
      { ...policy, protocol: 'http2' as const, path: '/ping' },
      { kind: 'http2', path: '/ping' },
    ],
    [
      'grpc ignores the path',
      { ...policy, protocol: 'grpc' as const, path: '/ping' },
      { kind: 'grpc' },
    ],
    ['tcp', { ...policy, protocol: 'tcp' as const }, { kind: 'tcp' }],
  ])('%s', (_case, input, expected) => {
    expect(healthCheck(input)).toEqual({
      ...expected,
      timeoutMs: 2000,
      intervalMs: 5000,
      healthyThreshold: 2,
      unhealthyThreshold: 3,
    });
  });
});
