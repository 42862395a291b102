/**
 * An instance's health as Cloud Map reports it, decided in one place for DiscoverInstances,
 * GetInstancesHealthStatus and the endpoints proxies receive.
 *
 * - A service with HealthCheckCustomConfig: the status last set by UpdateInstanceCustomHealthStatus
 *   (HEALTHY at registration unless `AWS_INIT_HEALTH_STATUS` says otherwise).
 * - A service with HealthCheckConfig: Trellis runs no Route 53 health checks, so UNKNOWN.
 * - A service with neither: UNKNOWN, as Cloud Map reports it.
 * - Trellis' leases: an instance whose lease expired is UNHEALTHY whatever else is set.
 *
 * UNKNOWN instances receive traffic (Cloud Map's DiscoverInstances returns them for HEALTHY).
 */
export type InstanceHealth = 'HEALTHY' | 'UNHEALTHY' | 'UNKNOWN';

export interface HealthInputs {
  customHealth?: 'HEALTHY' | 'UNHEALTHY';
  /** Epoch milliseconds; set when the service has a lease TTL. */
  leaseExpiresAt?: number;
}

export function instanceHealth(instance: HealthInputs, now: number): InstanceHealth {
  if (instance.leaseExpiresAt !== undefined && instance.leaseExpiresAt <= now) return 'UNHEALTHY';
  return instance.customHealth ?? 'UNKNOWN';
}

/** Whether an instance of this health receives traffic and answers DiscoverInstances' HEALTHY. */
export function receivesTraffic(health: InstanceHealth): boolean {
  return health !== 'UNHEALTHY';
}
