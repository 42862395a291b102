import type { Duration, GrpcTimeout, HttpTimeout } from '../../../mesh-model/src/validation';

/** App Mesh Duration `{unit, value}` in milliseconds (the model check guarantees both are set). */
export function durationMs(duration: Duration): number {
  const value = duration.value ?? 0;
  return duration.unit === 's' ? value * 1000 : value;
}

/** App Mesh's documented defaults for HTTP, HTTP/2 and gRPC routes and listeners. */
export const DEFAULT_PER_REQUEST_TIMEOUT_MS = 15_000;
export const DEFAULT_IDLE_TIMEOUT_MS = 300_000;

/** App Mesh egress and ingress clusters (config dumps): `connect_timeout: 1s`. */
export const CONNECT_TIMEOUT_MS = 1_000;

/** The timeouts of an HTTP, HTTP/2 or gRPC route or listener, with App Mesh's defaults. */
export function requestTimeouts(timeout: HttpTimeout | GrpcTimeout | undefined): {
  timeoutMs: number;
  idleTimeoutMs: number;
} {
  return {
    timeoutMs: timeout?.perRequest
      ? durationMs(timeout.perRequest)
      : DEFAULT_PER_REQUEST_TIMEOUT_MS,
    idleTimeoutMs: timeout?.idle ? durationMs(timeout.idle) : DEFAULT_IDLE_TIMEOUT_MS,
  };
}
