import { ClusterLoadAssignment } from '../../libs/envoy-api/generated/envoy/config/endpoint/v3/endpoint';
import {
  DeltaDiscoveryResponse,
  DiscoveryResponse,
} from '../../libs/envoy-api/generated/envoy/service/discovery/v3/discovery';
import { percentile } from '../report';
import { wallClock } from '../xds/wall-clock';
import { changesHeld } from './instance-schedule';

/** Each change's ACK latency over every proxy that watches its service. */
export interface TrackedLatencies {
  /** (proxy, change) pairs measured. */
  count: number;
  /** Pairs never ACKed by the end of the run. */
  missing: number;
  /** Pairs ACKed before the API's answer reached the client (counted as 0 ms). */
  early: number;
  /** Endpoint responses that held fewer changes than one the proxy had already ACKed. */
  regressions: number;
  /** Endpoint responses whose set no prefix of the changes produces. */
  inconsistent: number;
  p50: number;
  p99: number;
  max: number;
}

/**
 * Reads the endpoint responses of simulated proxies (in the load generator, where they arrive)
 * and keeps, per proxy and change, when the proxy first ACKed a set that holds the change.
 */
export class EndpointTracker {
  private readonly clusterIndex: Map<string, number>;
  private readonly held: Int32Array;
  private readonly ackedAt: Float64Array;
  private regressions = 0;
  private inconsistent = 0;

  constructor(
    clusters: readonly string[],
    /** Proxy index → the cluster (by index) it watches. */
    private readonly proxyClusters: readonly number[],
    private readonly changesPerCluster: number,
  ) {
    this.clusterIndex = new Map(clusters.map((name, index) => [name, index]));
    this.held = new Int32Array(proxyClusters.length);
    this.ackedAt = new Float64Array(proxyClusters.length * (changesPerCluster + 1));
  }

  /** A (Delta)DiscoveryResponse of endpoints for `proxy`, just before its ACK. */
  received(proxy: number, message: Uint8Array, delta: boolean): void {
    const now = wallClock();
    const payloads = delta
      ? (DeltaDiscoveryResponse.decode(message).resources ?? []).map((r) => r.resource?.value)
      : (DiscoveryResponse.decode(message).resources ?? []).map((any) => any.value);
    for (const payload of payloads) {
      if (!payload) continue;
      const assignment = ClusterLoadAssignment.decode(payload);
      if (this.clusterIndex.get(assignment.clusterName ?? '') !== this.proxyClusters[proxy]) {
        continue;
      }
      const ports = (assignment.endpoints ?? []).flatMap((locality) =>
        (locality.lbEndpoints ?? []).flatMap((lb) => {
          const endpoint =
            lb.hostIdentifier?.$case === 'endpoint' ? lb.hostIdentifier.value : undefined;
          const address = endpoint?.address?.address;
          const port =
            address?.$case === 'socketAddress' && address.value.portSpecifier?.$case === 'portValue'
              ? address.value.portSpecifier.value
              : undefined;
          return port === undefined ? [] : [port];
        }),
      );
      this.record(proxy, changesHeld(ports), now);
    }
  }

  private record(proxy: number, held: number | undefined, at: number): void {
    if (held === undefined) {
      this.inconsistent++;
      return;
    }
    const before = this.held[proxy]!;
    if (held < before) this.regressions++;
    const last = Math.min(held, this.changesPerCluster);
    const row = proxy * (this.changesPerCluster + 1);
    for (let change = before + 1; change <= last; change++) this.ackedAt[row + change] = at;
    if (held > before) this.held[proxy] = held;
  }

  /** `answeredAt[cluster][k]`: when change k of that cluster was answered by the API. */
  latencies(answeredAt: readonly (readonly number[])[]): TrackedLatencies {
    const values: number[] = [];
    let missing = 0;
    let early = 0;
    this.proxyClusters.forEach((cluster, proxy) => {
      const answers = answeredAt[cluster] ?? [];
      const row = proxy * (this.changesPerCluster + 1);
      for (let change = 1; change < answers.length && change <= this.changesPerCluster; change++) {
        const acked = this.ackedAt[row + change]!;
        if (acked === 0) {
          missing++;
          continue;
        }
        const latency = acked - answers[change]!;
        if (latency < 0) early++;
        values.push(Math.max(0, latency));
      }
    });
    const sorted = Float64Array.from(values).sort();
    return {
      count: values.length + missing,
      missing,
      early,
      regressions: this.regressions,
      inconsistent: this.inconsistent,
      p50: percentile(sorted, 0.5),
      p99: percentile(sorted, 0.99),
      max: percentile(sorted, 1),
    };
  }
}
