import { isIP } from 'node:net';
import { instanceHealth, receivesTraffic } from './instance-health';
import { RESERVED_ATTRIBUTES } from './validation';

/** A registered instance as far as its endpoints go. */
export interface RegisteredInstance {
  attributes: Record<string, string>;
  customHealth?: 'HEALTHY' | 'UNHEALTHY';
  leaseExpiresAt?: Date;
}

/** One address of an instance that receives traffic (the translator's CloudMapInstance). */
export interface InstanceEndpoint {
  address: string;
  port?: number;
  attributes: Readonly<Record<string, string>>;
}

/**
 * The addresses of the instances that receive traffic now, one entry per address: an instance
 * with both AWS_INSTANCE_IPV4 and AWS_INSTANCE_IPV6 gives one of each, and the translator picks
 * the family the virtual node prefers. Instances without an IP address cannot be endpoints.
 */
export function trafficEndpoints(
  instances: readonly RegisteredInstance[],
  now: number,
): InstanceEndpoint[] {
  const endpoints: InstanceEndpoint[] = [];
  for (const instance of instances) {
    const health = instanceHealth(
      { customHealth: instance.customHealth, leaseExpiresAt: instance.leaseExpiresAt?.getTime() },
      now,
    );
    if (!receivesTraffic(health)) continue;
    const attributes = new Map(Object.entries(instance.attributes));
    const portText = attributes.get(RESERVED_ATTRIBUTES.port);
    const port = portText === undefined ? undefined : Number(portText);
    for (const key of [RESERVED_ATTRIBUTES.ipv4, RESERVED_ATTRIBUTES.ipv6]) {
      const address = attributes.get(key);
      if (address === undefined || isIP(address) === 0) continue;
      endpoints.push({ address, port, attributes: instance.attributes });
    }
  }
  return endpoints;
}
