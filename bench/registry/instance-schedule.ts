// The registry benchmark's changes, known to both the process that makes them and the proxies
// that receive them. Each service holds a window of instances with consecutive ids; its changes
// alternate between registering the next id and deregistering the oldest, so the endpoint set a
// proxy holds tells exactly how many of the service's changes it has.

/** Instances each service starts with (ids 0 … INITIAL_INSTANCES − 1). */
export const INITIAL_INSTANCES = 10;
/** An instance's port is PORT_BASE + its id: what a proxy reads back from its endpoints. */
export const PORT_BASE = 20_000;
/** Every instance's address; the port tells them apart. */
export const INSTANCE_ADDRESS = '10.0.0.1';

export interface ScheduledChange {
  operation: 'register' | 'deregister';
  instanceId: string;
  port: number;
}

/** Change `k` (from 1) of a service: odd ones register, even ones deregister. */
export function scheduledChange(k: number): ScheduledChange {
  const id = k % 2 === 1 ? INITIAL_INSTANCES - 1 + (k + 1) / 2 : k / 2 - 1;
  return {
    operation: k % 2 === 1 ? 'register' : 'deregister',
    instanceId: `i-${id}`,
    port: PORT_BASE + id,
  };
}

/**
 * How many changes an endpoint set holds, from its ports; undefined when the set is not one the
 * schedule produces (not a window of consecutive ids).
 */
export function changesHeld(ports: readonly number[]): number | undefined {
  if (ports.length === 0) return undefined;
  let lo = Infinity;
  let hi = -Infinity;
  for (const port of ports) {
    lo = Math.min(lo, port - PORT_BASE);
    hi = Math.max(hi, port - PORT_BASE);
  }
  if (new Set(ports).size !== ports.length || hi - lo + 1 !== ports.length) return undefined;
  const held = hi - (INITIAL_INSTANCES - 1) + lo;
  const expectedSize = INITIAL_INSTANCES + (held % 2);
  return held >= 0 && ports.length === expectedSize ? held : undefined;
}
