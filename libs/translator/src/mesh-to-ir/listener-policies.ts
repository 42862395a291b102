import type {
  HealthCheckPolicy,
  Listener,
  OutlierDetection,
  VirtualNodeConnectionPool,
} from '../../../mesh-model/src/validation';
import type { CircuitBreakerIr, HealthCheckIr, OutlierDetectionIr } from '../ir';
import { durationMs, requestTimeouts } from './durations';

/**
 * App Mesh "effectively disables circuit breakers" (Envoy defaults set by App Mesh): every
 * threshold is 2147483647 unless a listener's connection pool sets one.
 */
const UNLIMITED = 2_147_483_647;

/**
 * Circuit breakers of the cluster to the local application. A listener's connection pool "limits
 * the number of connections that an Envoy can concurrently establish with the local application":
 * tcp and http maxConnections, http maxPendingRequests, http2 and grpc maxRequests.
 */
export function circuitBreaker(pool: VirtualNodeConnectionPool | undefined): CircuitBreakerIr {
  const limits: CircuitBreakerIr = {
    maxConnections: UNLIMITED,
    maxPendingRequests: UNLIMITED,
    maxRequests: UNLIMITED,
    maxRetries: UNLIMITED,
  };
  if (pool === undefined) return limits;
  if ('tcp' in pool) return { ...limits, maxConnections: pool.tcp.maxConnections };
  if ('http' in pool) {
    return {
      ...limits,
      maxConnections: pool.http.maxConnections,
      maxPendingRequests: pool.http.maxPendingRequests ?? UNLIMITED,
    };
  }
  if ('http2' in pool) return { ...limits, maxRequests: pool.http2.maxRequests };
  return { ...limits, maxRequests: pool.grpc.maxRequests };
}

/**
 * A target listener's outlier detection, enforced by its clients on their cluster to it:
 * `maxServerErrors` consecutive 5xx eject a host for `baseEjectionDuration` (times the number of
 * ejections), evaluated every `interval`, ejecting at most `maxEjectionPercent` of the hosts.
 */
export function outlierDetection(detection: OutlierDetection): OutlierDetectionIr {
  return {
    consecutive5xx: detection.maxServerErrors,
    intervalMs: durationMs(detection.interval),
    baseEjectionTimeMs: durationMs(detection.baseEjectionDuration),
    maxEjectionPercent: detection.maxEjectionPercent,
  };
}

/**
 * A target listener's health check policy: clients actively health check the target's endpoints
 * (aws-app-mesh-roadmap#105, #192). grpc uses the gRPC health checking protocol; the path is only
 * used for http and http2. The port always is the listener's (the model rejects another port).
 */
export function healthCheck(policy: HealthCheckPolicy): HealthCheckIr {
  const usesPath = policy.protocol === 'http' || policy.protocol === 'http2';
  return {
    kind: policy.protocol,
    ...(usesPath && policy.path !== undefined && { path: policy.path }),
    timeoutMs: policy.timeoutMillis,
    intervalMs: policy.intervalMillis,
    healthyThreshold: policy.healthyThreshold,
    unhealthyThreshold: policy.unhealthyThreshold,
  };
}

/** The request and idle timeouts of an HTTP, HTTP/2 or gRPC listener, with App Mesh's defaults. */
export function listenerHttpTimeouts(listener: Listener): {
  timeoutMs: number;
  idleTimeoutMs: number;
} {
  const timeout = listener.timeout;
  if (timeout === undefined || 'tcp' in timeout) return requestTimeouts(undefined);
  if ('http' in timeout) return requestTimeouts(timeout.http);
  if ('http2' in timeout) return requestTimeouts(timeout.http2);
  return requestTimeouts(timeout.grpc);
}

/** A TCP listener's idle timeout; unset keeps Envoy's TCP proxy default (1 hour). */
export function listenerTcpIdleTimeoutMs(listener: Listener): number | undefined {
  const timeout = listener.timeout;
  return timeout !== undefined && 'tcp' in timeout && timeout.tcp.idle !== undefined
    ? durationMs(timeout.tcp.idle)
    : undefined;
}
