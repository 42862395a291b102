import type { GrpcRetryPolicy, HttpRetryPolicy } from '../../../mesh-model/src/validation';
import type { RetryIr } from '../ir';
import { durationMs } from './durations';

/**
 * App Mesh HTTP retry events as Envoy `retry_on` conditions (App Mesh user guide, routes):
 * server-error is "HTTP status codes 500, 501, 502, 503, 504, 505, 506, 507, 508, 510, and 511"
 * (Envoy `5xx`), gateway-error "502, 503, and 504", client-error "409", stream-error "retry on
 * refused stream"; the first two "include the Envoy reset policy".
 */
const HTTP_RETRY_ON: Record<string, readonly string[]> = {
  'server-error': ['5xx', 'reset'],
  'gateway-error': ['gateway-error', 'reset'],
  'client-error': ['retriable-status-codes'],
  'stream-error': ['refused-stream'],
};

/** The TCP retry event: the connection failed to open, or was reset before a response. */
const TCP_RETRY_ON: Record<string, readonly string[]> = {
  'connection-error': ['connect-failure', 'reset'],
};

/** 409 Conflict, the one status code of `client-error`. */
const CLIENT_ERROR_STATUS = 409;

/**
 * The route retry policy App Mesh creates when a route has none ("Envoy defaults set by App
 * Mesh": max retries 2, gRPC `UNAVAILABLE`, HTTP `503`, TCP `connect-failure` and
 * `refused-stream`, plus reset). It applies to HTTP, HTTP/2 and gRPC routes, including the
 * route of a virtual-node provider.
 */
export const DEFAULT_RETRY_POLICY: RetryIr = {
  retryOn: ['connect-failure', 'refused-stream', 'reset', 'retriable-status-codes', 'unavailable'],
  retriableStatusCodes: [503],
  numRetries: 2,
};

/** An App Mesh retry policy, or App Mesh's default when the route has none. */
export function retryPolicy(policy: HttpRetryPolicy | GrpcRetryPolicy | undefined): RetryIr {
  if (policy === undefined) return DEFAULT_RETRY_POLICY;
  const retryOn = new Set<string>();
  const statusCodes = new Set<number>();
  for (const event of policy.httpRetryEvents ?? []) {
    HTTP_RETRY_ON[event]?.forEach((condition) => retryOn.add(condition));
    if (event === 'client-error') statusCodes.add(CLIENT_ERROR_STATUS);
  }
  for (const event of policy.tcpRetryEvents ?? []) {
    TCP_RETRY_ON[event]?.forEach((condition) => retryOn.add(condition));
  }
  // gRPC retry events are Envoy's gRPC retry_on names already (cancelled, deadline-exceeded, ...).
  const grpcEvents = 'grpcRetryEvents' in policy ? (policy.grpcRetryEvents ?? []) : [];
  grpcEvents.forEach((event) => retryOn.add(event));
  return {
    retryOn: [...retryOn].sort(),
    retriableStatusCodes: [...statusCodes].sort((a, b) => a - b),
    numRetries: policy.maxRetries,
    perTryTimeoutMs: durationMs(policy.perRetryTimeout),
  };
}
